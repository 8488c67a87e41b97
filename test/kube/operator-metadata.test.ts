/**
 * The operator is the metadata controller (issue #13), against a real kube-apiserver: two operator
 * replicas (processes, config/rbac) and three `tributary broker` processes of one Cluster whose
 * controller address lists both replicas. An idempotent acks=all kafkajs producer writes an RF=3
 * topic through each fault, and the history checker finds nothing acknowledged lost, duplicated or
 * out of order:
 *
 * - a leader's process killed (its image stream closes: fenced at once);
 * - a leader's pod deleted while its process still runs, stopped (fenced by the pod watch);
 * - a leader's node turning NotReady (fenced by the node watch);
 * - the leading operator stopped past its Lease while a leader is killed: the standby takes over
 *   (a newer controller epoch) and finishes the failover; the stale replica, resumed, writes nothing.
 *
 * Brokers' sessions time out after 3 s here, so the log line naming why a broker was fenced tells
 * which signal moved leadership; the timings themselves are measured by bench/, not asserted here.
 */
import { describe, expect, it, jest } from '@jest/globals';
import type { Cluster } from '../../src/operator/api/index.ts';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { BrokerProcess } from '../helpers/broker-process.ts';
import { createReplicatedTopic, metadataFrom, random } from '../integration/replication/support.ts';
import { underLoad, type LoadedCluster } from '../integration/replication/under-load.ts';
import { killLeaderUnderKafkajs } from '../integration/replication/scenarios.ts';
import { forgetPod, putBrokerPod, putNode, signal, startOperatedCluster } from './operator-brokers.ts';
import {
  OPERATOR_NAMESPACE,
  clustersPath,
  eventually,
  installCrds,
  installOperatorConfig,
  isLeading,
  leadingOperator,
  namespace,
  operatorKubeconfig,
  read,
  storedMetadata,
  type OperatorProcess,
} from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

jest.setTimeout(240_000);

const CLUSTER = 'orders';
const LEASE = ['--lease-duration', '3s', '--renew-deadline', '2s', '--retry-period', '250ms'];

let ns = '';
const operators: OperatorProcess[] = [];
const brokers: BrokerProcess[] = [];
let kafka: Kafka;
let admin: Admin;

const plane = useControlPlane(
  {},
  {
    setup: async (cp) => {
      installCrds(cp);
      installOperatorConfig(cp);
      const kubeconfig = await operatorKubeconfig(cp);
      ns = await namespace(cp, 'meta');
      const started = await startOperatedCluster(cp, {
        ns,
        cluster: CLUSTER,
        kubeconfig,
        operatorArgs: [
          '--leader-election-namespace',
          OPERATOR_NAMESPACE,
          ...LEASE,
          '--broker-session-timeout',
          '3s',
        ],
      });
      operators.push(...started.operators);
      brokers.push(...started.brokers);
      kafka = new Kafka({
        clientId: 'operator-metadata',
        brokers: brokers.map((b) => b.bootstrap),
        logLevel: logLevel.NOTHING,
        retry: { retries: 30, maxRetryTime: 1000 },
        // A stopped broker answers nothing: give up on it soon and ask another.
        requestTimeout: 3000,
        connectionTimeout: 1000,
      });
      admin = kafka.admin();
      await admin.connect();
    },
    teardown: async () => {
      if (process.env['TRIBUTARY_TEST_OPERATOR_LOGS'] === '1') {
        for (const op of operators) process.stderr.write(`--- ${op.name}\n${op.logs()}\n`);
      }
      await admin?.disconnect();
      for (const b of brokers) await b.remove();
      for (const op of operators) await op.kill('SIGKILL');
    },
  },
);

const stored = () => storedMetadata(plane(), ns, CLUSTER);
const leading = () => leadingOperator(operators);

const allLogs = (): string => operators.map((op) => op.logs()).join('\n');

/** The cluster as {@link underLoad} strikes it: brokers 0-2 on their own ports. */
const loaded = (): LoadedCluster => ({
  kafka,
  admin,
  partitionFrom: (n, topic, partition) => metadataFrom(brokers[n]!.port, topic, partition),
});

describe('the operator as metadata controller', () => {
  it('makes three broker processes one cluster, its state in the Cluster’s metadata ConfigMap', async () => {
    const topic = random('one');
    await createReplicatedTopic(admin, topic, 3);
    const { brokers: live } = await admin.describeCluster();
    expect(live.map((b) => b.nodeId).sort()).toEqual([0, 1, 2]);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions.every((p) => p.replicas.length === 3 && p.isr.length === 3)).toBe(true);

    const { state, writer } = await stored();
    expect(state.brokers.map((b) => [b.nodeId, b.fenced])).toEqual([
      [0, false],
      [1, false],
      [2, false],
    ]);
    expect(state.topics.map((t) => t.name)).toContain(topic);
    expect(writer.startsWith((await leading()).name)).toBe(true);
    expect(allLogs()).toContain('Started a new cluster');

    // What people see: the registry and the conditions in Cluster.status, projected from that state.
    const cluster = await eventually('the broker registry in Cluster.status', async () => {
      const c = await read<Cluster>(plane(), clustersPath(ns, CLUSTER));
      // A broker registers fenced and is unfenced once caught up: wait for all three to be Active.
      return c?.status?.brokers?.filter((b) => b.state === 'Active').length === 3 ? c : undefined;
    });
    expect(cluster.status!.clusterId).toBe(state.clusterId);
    expect(cluster.status!.brokers!.map((b) => [b.id, b.state])).toEqual([
      [0, 'Active'],
      [1, 'Active'],
      [2, 'Active'],
    ]);
    expect(cluster.status!.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'BrokersRegistered', status: 'True' }),
        expect.objectContaining({ type: 'PartitionsOffline', status: 'False' }),
      ]),
    );
  });

  it('moves leadership when a leader’s process is killed, and the broker rejoins', () =>
    killLeaderUnderKafkajs({
      kafka,
      admin,
      bootstrap: brokers.map((b) => b.bootstrap).join(','),
      port: (n) => brokers[n]!.port,
      kill: (n) => brokers[n]!.kill(),
      revived: (n) => brokers[n]!.restart(),
    }));

  it('fences a broker whose pod is deleted, though its process runs on', async () => {
    const leader = await underLoad(
      loaded(),
      async (l) => {
        signal(brokers[l]!, 'SIGSTOP');
        await plane().request('DELETE', `/api/v1/namespaces/${ns}/pods/${CLUSTER}-broker-${l}`);
      },
      async (l) => {
        signal(brokers[l]!, 'SIGCONT');
        await forgetPod(plane(), ns, `${CLUSTER}-broker-${l}`);
        await putBrokerPod(plane(), ns, CLUSTER, l, `node-${l}`);
      },
    );
    expect(allLogs()).toContain(`Fenced broker ${leader} (pod ${CLUSTER}-broker-${leader} is terminating)`);
    // An Event on the Cluster says what moved and why.
    await eventually('the failover Event', async () => {
      const list = await read<{ items: Array<{ note?: string; regarding?: { name?: string } }> }>(
        plane(),
        `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      );
      return list?.items.some(
        (e) =>
          e.regarding?.name === CLUSTER &&
          new RegExp(
            `^Moved leadership of \\d+ partitions? from broker ${leader} \\(pod ${CLUSTER}-broker-${leader} is terminating\\)`,
          ).test(e.note ?? ''),
      );
    });
  });

  it('fences the brokers of a node that turns NotReady', async () => {
    const leader = await underLoad(
      loaded(),
      async (l) => {
        signal(brokers[l]!, 'SIGSTOP');
        await putNode(plane(), `node-${l}`, false);
      },
      async (l) => {
        signal(brokers[l]!, 'SIGCONT');
        await putNode(plane(), `node-${l}`, true);
      },
    );
    expect(allLogs()).toContain(
      `Fenced broker ${leader} (node node-${leader} is not Ready (pod ${CLUSTER}-broker-${leader}))`,
    );
  });

  it('lets the standby finish a failover the stopped leader began, and the stale leader writes nothing', async () => {
    const before = await stored();
    const old = await leading();
    const standby = operators.find((op) => op !== old)!;
    await underLoad(
      loaded(),
      async (l) => {
        // The leading operator stops (a long pause) and, while it is away, a broker dies.
        old.child.kill('SIGSTOP');
        await brokers[l]!.kill();
      },
      async (l) => {
        await brokers[l]!.restart();
      },
    );
    const taken = await stored();
    expect(taken.writer.startsWith(standby.name)).toBe(true);
    expect(taken.epoch).toBeGreaterThan(before.epoch);

    // The stale replica wakes: it steps down and gets nothing written.
    old.child.kill('SIGCONT');
    await eventually('the old leader to step down', async () => !(await isLeading(old)));
    await new Promise((r) => setTimeout(r, 1000));
    const after = await stored();
    expect(after.writer.startsWith(standby.name)).toBe(true);
    expect(after.epoch).toBe(taken.epoch);
    // Clients carry on under the new controller.
    await underLoad(
      loaded(),
      async (l) => brokers[l]!.kill(),
      async (l) => brokers[l]!.restart(),
    );
  });
});
