/**
 * kill -9 of a partition's leader in a running `tributary dev --brokers 3`, under real clients: an
 * idempotent acks=all producer (kafkajs, and the Java client) loses no acknowledged record, writes
 * none twice and keeps each partition in send order; a kafkajs consumer group carries on and its
 * committed offsets never go back; the supervisor restarts the killed broker (a new process), which
 * catches up and is back in every ISR. Topics are RF=3 with min.insync.replicas=2. The scenarios
 * (scenarios.ts) run against Apache Kafka too, in kafka-reference.test.ts.
 */
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { devReplicated } from './clusters.ts';
import { killLeaderUnderJava, killLeaderUnderKafkajs } from './scenarios.ts';

jest.setTimeout(300_000);

let cluster: DevCluster;
let admin: Admin;
beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

describe('replication > kill -9 of a partition leader', () => {
  it('loses and duplicates no acknowledged kafkajs record, a consumer group carries on, the broker rejoins the ISR', () =>
    killLeaderUnderKafkajs(devReplicated(cluster, admin)));

  it('loses and duplicates no record the Java client acknowledged', () =>
    killLeaderUnderJava(devReplicated(cluster, admin)));
});
