/**
 * The two 3-broker clusters the replication scenarios run against, seen through one shape
 * ({@link HangableCluster}): `tributary dev --brokers 3`, whose supervisor restarts a killed broker,
 * and Apache Kafka, whose killed broker the test starts again itself.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { KafkaCluster } from '../../helpers/apache-kafka.ts';
import { eventually, type DevCluster } from '../../helpers/dev-cluster.ts';
import type { HangableCluster } from './isolation-scenarios.ts';

export function devReplicated(cluster: DevCluster, admin: Admin): HangableCluster {
  /** The pid each killed broker had, to tell the supervisor's restart from the process killed. */
  const killedPids = new Map<number, number>();
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
    signal: (n, signal) => cluster.kill(n, signal),
    dataDir: (n) => cluster.dataDir(n),
  };
}

export function kafkaReplicated(cluster: KafkaCluster, kafka: Kafka, admin: Admin): HangableCluster {
  return {
    kafka,
    admin,
    bootstrap: cluster.bootstrap,
    port: (n) => cluster.brokers[n]!.port,
    kill: (n) => cluster.signal(n, 'SIGKILL'),
    revived: (n) => cluster.restart(n),
    signal: (n, signal) => cluster.signal(n, signal),
    dataDir: (n) => cluster.nodeDir(n),
  };
}
