/**
 * The operator end to end (issue #13): two `tributary operator` processes under config/rbac, their
 * controller addresses given to brokers with `--controller-address` and brokers advertising their pod
 * IPs; a `Cluster` applied with kubectl; the StatefulSet it makes run by the kubelet stand-in as
 * `tributary broker` processes, one per zone, which form one cluster through the leading operator.
 *
 * An idempotent acks=all kafkajs producer writes an RF=3 topic (min.insync.replicas=2) through each
 * fault a user meets, healed the way a user would heal it — or by Kubernetes itself — and each time
 * leadership moves, nothing acknowledged is lost (the history checker), and the broker's pod comes
 * back and rejoins the ISR:
 *
 * - a leader's pod deleted (`kubectl delete pod`: the stand-in SIGTERMs it, the StatefulSet makes it
 *   again, on a new address);
 * - a leader's process killed (SIGKILL: the stand-in restarts the container);
 * - a leader's node failing (its processes killed) or freezing (its processes stopped, their
 *   connections open), its heartbeats stopped: it turns NotReady, then recovers;
 * - the leading operator killed while a leader's process is killed: the standby takes the Lease and
 *   finishes the failover.
 */
import { describe, expect, it, jest } from '@jest/globals';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { API_VERSION } from '../../src/operator/api/index.ts';
import { podName } from '../../src/operator/reconcilers/cluster/names.ts';
import { createReplicatedTopic, metadataFrom, random } from '../integration/replication/support.ts';
import { underLoad, type LoadedCluster } from '../integration/replication/under-load.ts';
import {
  OPERATOR_NAMESPACE,
  clusterObject,
  freePorts,
  installCrds,
  installOperatorConfig,
  kubectl,
  leadingOperator,
  namespace,
  operatorKubeconfig,
  spawnOperator,
  storedMetadata,
  type OperatorProcess,
} from '../kube/operator-helpers.ts';
import { eventually, useE2eCluster, type E2eCluster } from './cluster.ts';
import { getPod, isReady, listPods, nodeReadyCondition } from './workloads.ts';

jest.setTimeout(120_000);

const CLUSTER = 'events';
const KAFKA_PORT = 9092;
const SELECTOR = `tributary.dev/cluster=${CLUSTER}`;
/** Short Lease timings, so that the standby takes over within seconds. */
const LEASE = ['--lease-duration', '3s', '--renew-deadline', '2s', '--retry-period', '250ms'];

const operators: OperatorProcess[] = [];
let ns = '';
let kafka: Kafka;
let admin: Admin | undefined;

const cluster = useE2eCluster(
  {},
  {
    setup: async (cp) => {
      installCrds(cp);
      installOperatorConfig(cp);
      const kubeconfig = await operatorKubeconfig(cp);
      // Each replica's controller address is known before either starts: brokers are told both.
      const ports = await freePorts(2);
      const addresses = ports.map((p) => `127.0.0.1:${p}`).join(',');
      for (const [i, name] of ['op-a', 'op-b'].entries()) {
        const args = [
          '--leader-election-namespace',
          OPERATOR_NAMESPACE,
          ...LEASE,
          '--controller-address',
          addresses,
          '--broker-advertise',
          'pod-ip',
        ];
        operators.push(await spawnOperator(cp, name, kubeconfig, args, { controllerPort: ports[i] }));
      }
    },
    teardown: async () => {
      if (process.env['TRIBUTARY_TEST_OPERATOR_LOGS'] === '1') {
        for (const op of operators) process.stderr.write(`--- ${op.name}\n${op.logs()}\n`);
      }
      await admin?.disconnect();
      for (const op of operators) await op.kill('SIGKILL');
    },
  },
);

/** The pod of broker `nodeId`, Ready or not (undefined while the StatefulSet has none). */
const brokerPod = (nodeId: number): Promise<Pod | undefined> =>
  getPod(cluster().cp, ns, podName(CLUSTER, nodeId));

/** The cluster as {@link underLoad} strikes it: each broker asked on its pod's current address. */
const loaded = (): LoadedCluster => ({
  kafka,
  admin: admin!,
  partitionFrom: async (nodeId, topic, partition) => {
    const ip = (await brokerPod(nodeId))?.status?.podIP;
    if (!ip) throw new Error(`broker ${nodeId}'s pod has no address`);
    return metadataFrom(KAFKA_PORT, topic, partition, ip);
  },
});

/** A failed expectation carries the tails of the operators' and pods' logs. */
async function explained<T>(e2e: E2eCluster, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Error) {
      for (const op of operators) {
        err.message += `\n--- last 30 lines of operator ${op.name} ---\n`;
        err.message += op.logs().trimEnd().split('\n').slice(-30).join('\n');
      }
      err.message += e2e.kubelet.logTails(30);
    }
    throw err;
  }
}

const allReady = (e2e: E2eCluster): Promise<Pod[]> =>
  eventually(
    e2e,
    '3 Ready broker pods',
    async () => {
      const ready = (await listPods(e2e.cp, ns, SELECTOR)).filter(isReady);
      return ready.length === 3 ? ready : undefined;
    },
    60_000,
  );

describe('operator end to end', () => {
  it('turns a 3-broker Cluster into 3 Ready broker pods that form one cluster', async () => {
    const e2e = cluster();
    const { cp, kubelet } = e2e;
    await leadingOperator(operators);
    ns = await namespace(cp, 'kafka');
    kubectl(cp, ['apply', '-f', '-'], JSON.stringify(clusterObject(ns, CLUSTER, { replicas: 3 })));

    // Ready: the metadata controller has taken each broker in.
    const pods = await allReady(e2e);
    const zones = pods.map((p) => p.metadata?.labels?.['topology.kubernetes.io/zone']);
    expect(new Set(zones).size).toBe(3);
    for (const pod of pods) {
      const pid = kubelet.containerPid(ns, pod.metadata!.name!);
      expect(pid).toBeDefined();
    }

    // Clients bootstrap from whichever pods are Ready now: a pod made again has a new address.
    kafka = new Kafka({
      clientId: 'e2e-operator',
      brokers: async () =>
        (await listPods(cp, ns, SELECTOR)).filter(isReady).map((p) => `${p.status?.podIP}:${KAFKA_PORT}`),
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, maxRetryTime: 1000 },
      // A dead broker's address may answer nothing: give up on it soon and ask another.
      requestTimeout: 3000,
      connectionTimeout: 1000,
    });
    admin = kafka.admin();
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    const advertised = pods.map((p) => [
      Number(p.metadata?.labels?.['apps.kubernetes.io/pod-index']),
      p.status?.podIP,
    ]);
    expect(brokers.map((b) => [b.nodeId, b.host]).sort()).toEqual(advertised.sort());
    expect(brokers.every((b) => b.port === KAFKA_PORT)).toBe(true);

    const topic = random('one');
    await createReplicatedTopic(admin, topic, 3);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions.every((p) => p.replicas.length === 3 && p.isr.length === 3)).toBe(true);

    // What a platform team does: wait for the Cluster, apply a Topic, wait for it, use it.
    kubectl(cp, ['wait', '-n', ns, '--for=condition=Ready', `cluster/${CLUSTER}`, '--timeout=120s']);
    const applied = random('applied');
    const resource = {
      apiVersion: API_VERSION,
      kind: 'Topic',
      metadata: { name: applied },
      spec: { clusterRef: { name: CLUSTER }, partitions: 3, replicationFactor: 3 },
    };
    kubectl(cp, ['apply', '-n', ns, '-f', '-'], JSON.stringify(resource));
    kubectl(cp, ['wait', '-n', ns, '--for=condition=Ready', `topic/${applied}`, '--timeout=60s']);
    const made = await admin.fetchTopicMetadata({ topics: [applied] });
    expect(made.topics[0]!.partitions.map((p) => p.replicas.length)).toEqual([3, 3, 3]);
  });

  it('moves leadership when a leader’s pod is deleted, and the pod made again rejoins', async () => {
    const e2e = cluster();
    let uid = '';
    await explained(e2e, () =>
      underLoad(
        loaded(),
        async (l) => {
          uid = (await brokerPod(l))!.metadata!.uid!;
          // Not waiting for the deletion: the producer must run on meanwhile (kubectl blocks us).
          kubectl(e2e.cp, ['delete', 'pod', '-n', ns, podName(CLUSTER, l), '--wait=false']);
        },
        async () => {},
      ),
    );
    const pods = await allReady(e2e);
    expect(pods.map((p) => p.metadata?.uid)).not.toContain(uid);
  });

  it('moves leadership when a leader’s process is killed, and the restarted container rejoins', async () => {
    const e2e = cluster();
    let restarts = 0;
    let leader = -1;
    await explained(e2e, async () => {
      leader = await underLoad(
        loaded(),
        async (l) => {
          const pod = (await brokerPod(l))!;
          restarts = pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
          process.kill(e2e.kubelet.containerPid(ns, pod.metadata!.name!)!, 'SIGKILL');
        },
        async () => {},
      );
    });
    const pod = await brokerPod(leader);
    expect(pod?.status?.containerStatuses?.[0]?.restartCount).toBeGreaterThan(restarts);
  });

  it.each([
    ['fails (its processes killed)', 'kill'],
    ['freezes (its processes stopped, their connections open)', 'freeze'],
  ] as const)(
    'moves leadership when a leader’s node %s, and its pod rejoins once the node recovers',
    async (_, kind) => {
      const e2e = cluster();
      let node = '';
      await explained(e2e, () =>
        underLoad(
          loaded(),
          async (l) => {
            node = (await brokerPod(l))!.spec!.nodeName!;
            e2e.kubelet.failNode(node, kind);
          },
          // As an operator of the cluster would: the node is seen down, then brought back.
          async () => {
            await eventually(
              e2e,
              `${node} NotReady`,
              async () => (await nodeReadyCondition(e2e.cp, node)) === 'Unknown',
            );
            await e2e.kubelet.recoverNode(node);
          },
        ),
      );
      await allReady(e2e);
    },
  );

  it('lets the standby finish a failover when the leading operator is killed during it', async () => {
    const e2e = cluster();
    const before = await storedMetadata(e2e.cp, ns, CLUSTER);
    const old = await leadingOperator(operators);
    const standby = operators.find((op) => op !== old)!;
    await explained(e2e, () =>
      underLoad(
        loaded(),
        async (l) => {
          await old.kill('SIGKILL');
          process.kill(e2e.kubelet.containerPid(ns, podName(CLUSTER, l))!, 'SIGKILL');
        },
        async () => {},
      ),
    );
    const after = await storedMetadata(e2e.cp, ns, CLUSTER);
    expect(after.writer.startsWith(standby.name)).toBe(true);
    expect(after.epoch).toBeGreaterThan(before.epoch);
    await allReady(e2e);
  });
});
