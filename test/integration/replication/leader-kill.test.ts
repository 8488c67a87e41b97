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
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { killLeaderUnderJava, killLeaderUnderKafkajs, type ReplicatedCluster } from './scenarios.ts';

jest.setTimeout(300_000);

let cluster: DevCluster;
let admin: Admin;
/** The pid each killed broker had, to tell the supervisor's restart from the process it killed. */
const killedPids = new Map<number, number>();

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

function replicated(): ReplicatedCluster {
  return {
    kafka: cluster.kafka,
    admin,
    bootstrap: cluster.bootstrap,
    port: (n) => cluster.port(n),
    async kill(n) {
      killedPids.set(n, cluster.brokerPid(n)!);
      await cluster.kill(n, 'SIGKILL');
    },
    async revived(n) {
      await eventually(
        () => {
          const pid = cluster.brokerPid(n);
          if (pid === undefined || pid === killedPids.get(n))
            throw new Error(`broker ${n} not restarted yet`);
        },
        { timeoutMs: 60_000 },
      );
      await cluster.waitReady(n, 60_000);
    },
  };
}

describe('replication > kill -9 of a partition leader', () => {
  it('loses and duplicates no acknowledged kafkajs record, a consumer group carries on, the broker rejoins the ISR', () =>
    killLeaderUnderKafkajs(replicated()));

  it('loses and duplicates no record the Java client acknowledged', () => killLeaderUnderJava(replicated()));
});
