/**
 * The scenarios of leader-kill, min-isr and fencing.test.ts against Apache Kafka 3.9 (3 brokers and
 * a dedicated KRaft controller, test/helpers/apache-kafka.ts): what the replication tests demand of
 * Tributary — and how the history checker judges it — holds for Kafka itself. Kafka's failure detection is
 * tightened (broker.session.timeout.ms 1000) so that a kill costs a second or two, not nine; the
 * test restarts the killed broker itself, as Kafka has no supervisor.
 */
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startKafkaCluster, type KafkaCluster } from '../../helpers/apache-kafka.ts';
import { kafkaReplicated } from './clusters.ts';
import { deposedLeaderCannotAcknowledge, leaderAloneRefusesAcksAll } from './isolation-scenarios.ts';
import { killLeaderUnderJava, killLeaderUnderKafkajs } from './scenarios.ts';

jest.setTimeout(300_000);

let cluster: KafkaCluster;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  cluster = await startKafkaCluster({
    brokers: 3,
    heapMb: 512,
    properties: { 'broker.heartbeat.interval.ms': 250 },
    controllerProperties: { 'broker.session.timeout.ms': 1000 },
  });
  kafka = new Kafka({
    clientId: 'kafka-reference',
    brokers: cluster.brokers.map((b) => b.address),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
  });
  admin = kafka.admin();
  await admin.connect();
}, 240_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

const replicated = () => kafkaReplicated(cluster, kafka, admin);

describe('replication > the scenarios against Apache Kafka', () => {
  it('kafkajs producer and consumer group through a leader kill', () => killLeaderUnderKafkajs(replicated()));

  it('Java producer through a leader kill', () => killLeaderUnderJava(replicated()));

  it('a leader alone refuses acks=all with NOT_ENOUGH_REPLICAS', () =>
    leaderAloneRefusesAcksAll(replicated()));

  it('a deposed leader gets no write acknowledged and ends up with the same log', async () => {
    await deposedLeaderCannotAcknowledge(replicated());
  });
});
