/**
 * The clusters the soak runs against, as {@link SoakCluster}s: `tributary dev --brokers 3` (its
 * supervisor restarts a killed broker or controller by itself) and Apache Kafka 3.9 — three brokers
 * and one dedicated KRaft controller, at its defaults or with failure detection tuned — whose killed
 * nodes the soak starts again itself.
 */
import { KAFKA_CONTROLLER_NODE_ID, startKafkaCluster } from '../helpers/apache-kafka.ts';
import { eventually, startDevCluster, type DevCluster } from '../helpers/dev-cluster.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { controllerPid, running, waitControllerUp } from '../integration/faults/support.ts';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { ApiKey } from '../../src/protocol/messages/index.ts';
import type { FindCoordinatorResponse } from '../../src/protocol/messages/find-coordinator-response.ts';
import type { SoakCluster } from './soak.ts';

export interface StartedSoakCluster extends SoakCluster {
  /** A line on how it is configured, printed under the table. */
  description: string;
  stop(): Promise<void>;
}

/** The coordinator of `group` as the broker on `port` names it (FindCoordinator v2). */
async function findCoordinator(ports: number[], group: string): Promise<number> {
  return eventually(
    async () => {
      const port = ports[Math.floor(Math.random() * ports.length)]!;
      const client = await RawClient.connect(port);
      try {
        const res = await client.call<FindCoordinatorResponse>(ApiKey.FindCoordinator, 2, {
          key: group,
          keyType: 0,
          coordinatorKeys: [],
        });
        if (res.errorCode !== ErrorCode.NONE) throw new Error(`FindCoordinator answered ${res.errorCode}`);
        return res.nodeId;
      } finally {
        client.close();
      }
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** `tributary dev --brokers 3` at its defaults. */
export async function tributarySoakCluster(): Promise<StartedSoakCluster> {
  const cluster: DevCluster = await startDevCluster({ brokers: 3 });
  const killedPids = new Map<number, number>();
  const ports = [0, 1, 2].map((n) => cluster.port(n));
  return {
    name: 'tributary',
    description: '`tributary dev --brokers 3` (1 controller + 3 broker processes, Node 24), default settings',
    bootstrap: cluster.bootstrap,
    brokers: cluster.brokers,
    async kill(n) {
      killedPids.set(n, cluster.brokerPid(n)!);
      await cluster.kill(n, 'SIGKILL');
    },
    async revive(n) {
      // The supervisor restarts it: wait for a new process, then for it to serve.
      await eventually(
        () => {
          const pid = cluster.brokerPid(n);
          if (pid === undefined || pid === killedPids.get(n))
            throw new Error(`broker ${n} not restarted yet`);
        },
        { timeoutMs: 60_000 },
      );
      await cluster.waitReady(n, 120_000);
    },
    pause: (n) => cluster.kill(n, 'SIGSTOP'),
    resume: (n) => cluster.kill(n, 'SIGCONT'),
    async killController() {
      const pid = controllerPid(cluster);
      if (pid === undefined) throw new Error('the controller does not run');
      process.kill(pid, 'SIGKILL');
      await eventually(() => {
        if (running(pid)) throw new Error(`the controller (${pid}) still runs`);
      });
      await eventually(
        () => {
          const now = controllerPid(cluster);
          if (now === undefined || now === pid) throw new Error('the controller is not restarted yet');
        },
        { timeoutMs: 60_000 },
      );
      await waitControllerUp(cluster, 60_000);
      // Back in service once every broker's session (its image stream) is open again: until then
      // the controller could tell a broker's death only by its session timeout.
      await eventually(
        async () => {
          const metrics = await (await fetch(`${cluster.controllerUrl}/metrics`)).text();
          const streams = /^tributary_controller_image_streams(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1];
          if (Number(streams) !== 3) throw new Error(`${streams ?? 'no'} brokers have an image stream open`);
        },
        { timeoutMs: 60_000 },
      );
    },
    coordinator: (group) => findCoordinator(ports, group),
    stop: () => cluster.stop(),
  };
}

/**
 * Apache Kafka 3.9: at its defaults (`broker.session.timeout.ms` 9 s, heartbeats every 2 s), or
 * with failure detection tightened as far as is sensible on loopback (1 s, every 250 ms).
 */
export async function kafkaSoakCluster(tuned: boolean): Promise<StartedSoakCluster> {
  const cluster = await startKafkaCluster({
    brokers: 3,
    heapMb: 1024,
    ...(tuned
      ? {
          controllerProperties: { 'broker.session.timeout.ms': 1000 },
          properties: { 'broker.heartbeat.interval.ms': 250 },
        }
      : {}),
  });
  const ports = cluster.brokers.map((b) => b.port);
  return {
    name: tuned ? 'kafka-tuned' : 'kafka',
    description:
      'Apache Kafka 3.9 (hack/kafka/pom.xml), 3 broker JVMs (-Xmx1g) + 1 dedicated KRaft controller JVM, ' +
      (tuned
        ? 'stock settings but broker.session.timeout.ms=1000 broker.heartbeat.interval.ms=250'
        : 'stock settings'),
    bootstrap: cluster.bootstrap,
    brokers: cluster.brokers.map((b) => b.address),
    kill: (n) => cluster.signal(n, 'SIGKILL'),
    revive: (n) => cluster.restart(n),
    pause: (n) => cluster.signal(n, 'SIGSTOP'),
    resume: (n) => cluster.signal(n, 'SIGCONT'),
    async killController() {
      await cluster.signal(KAFKA_CONTROLLER_NODE_ID, 'SIGKILL');
      await cluster.restart(KAFKA_CONTROLLER_NODE_ID);
    },
    coordinator: (group) => findCoordinator(ports, group),
    stop: () => cluster.stop(),
  };
}
