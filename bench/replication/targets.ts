/**
 * The replicated clusters bench/replication.ts measures, behind one shape: where to connect, and how
 * to kill a broker and have it back. Apache Kafka runs as three brokers and one dedicated KRaft
 * controller (test/helpers/apache-kafka.ts startKafkaCluster), the topology closest to `tributary
 * dev --brokers 3` (one controller process, three brokers); the bench restarts a killed Kafka broker
 * itself, where Tributary's supervisor restarts its own.
 */
import { startKafkaCluster } from '../../test/helpers/apache-kafka.ts';
import { startDevCluster } from '../../test/helpers/dev-cluster.ts';

export interface ClusterTarget {
  name: string;
  /** A line on how it was configured, printed under the tables. */
  description: string;
  /** Every broker's address, comma-separated. */
  bootstrap: string;
  brokers: string[];
  /** SIGKILL of broker `nodeId`; resolves once the process is gone. */
  kill(nodeId: number): Promise<void>;
  /** Resolves once broker `nodeId`, killed before, runs again and serves. */
  revive(nodeId: number): Promise<void>;
  /** SIGSTOP of broker `nodeId`: hung, its connections open. */
  pause(nodeId: number): Promise<void>;
  /** SIGCONT of a paused broker. */
  resume(nodeId: number): Promise<void>;
  stop(): Promise<void>;
}

export interface TargetFactory {
  name: string;
  /** Whether produce throughput is measured on it (the tuned Kafka differs only in failure detection). */
  throughput: boolean;
  start(): Promise<ClusterTarget>;
}

const kafkaWith = (
  name: string,
  settings: { controller: Record<string, number>; broker: Record<string, number> },
  throughput: boolean,
): TargetFactory => ({
  name,
  throughput,
  async start() {
    const cluster = await startKafkaCluster({
      brokers: 3,
      heapMb: 1024,
      properties: settings.broker,
      controllerProperties: settings.controller,
    });
    const set = Object.entries({ ...settings.controller, ...settings.broker }).map(([k, v]) => `${k}=${v}`);
    return {
      name,
      description:
        'Apache Kafka (hack/kafka/pom.xml), 3 broker JVMs (-Xmx1g) + 1 dedicated KRaft controller JVM (-Xmx512m), ' +
        (set.length === 0 ? 'stock settings' : `stock settings but ${set.join(' ')}`),
      bootstrap: cluster.bootstrap,
      brokers: cluster.brokers.map((b) => b.address),
      kill: (nodeId) => cluster.signal(nodeId, 'SIGKILL'),
      revive: (nodeId) => cluster.restart(nodeId),
      pause: (nodeId) => cluster.signal(nodeId, 'SIGSTOP'),
      resume: (nodeId) => cluster.signal(nodeId, 'SIGCONT'),
      stop: () => cluster.stop(),
    };
  },
});

/** Kafka at its defaults: broker.session.timeout.ms 9000, broker.heartbeat.interval.ms 2000. */
export const apacheKafka = kafkaWith('kafka', { controller: {}, broker: {} }, true);

/** Kafka with failure detection tightened as far as is sensible on loopback. */
export const apacheKafkaTuned = kafkaWith(
  'kafka-tuned',
  { controller: { 'broker.session.timeout.ms': 1000 }, broker: { 'broker.heartbeat.interval.ms': 250 } },
  false,
);

/** `tributary dev --brokers 3` at its defaults; its supervisor restarts a killed broker. */
export const tributary: TargetFactory = {
  name: 'tributary',
  throughput: true,
  async start() {
    const cluster = await startDevCluster({ brokers: 3 });
    return {
      name: 'tributary',
      description:
        '`tributary dev --brokers 3` (1 controller + 3 broker processes, Node 24), default settings',
      bootstrap: cluster.bootstrap,
      brokers: cluster.brokers,
      kill: (nodeId) => cluster.kill(nodeId, 'SIGKILL'),
      revive: (nodeId) => cluster.waitReady(nodeId, 120_000),
      pause: (nodeId) => cluster.kill(nodeId, 'SIGSTOP'),
      resume: (nodeId) => cluster.kill(nodeId, 'SIGCONT'),
      stop: () => cluster.stop(),
    };
  },
};
