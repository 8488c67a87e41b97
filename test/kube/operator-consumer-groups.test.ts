/**
 * ConsumerGroup resources do what they say (issue #14, point 3), against a real kube-apiserver
 * with two operator replicas (processes, config/rbac) and three real broker processes, the group
 * run by kafkajs consumers as an application would:
 *
 * - a group that exists in Kafka appears as a discovered ConsumerGroup, its status showing state,
 *   protocol, members with their partitions, and per-partition lag; the lag is in the leading
 *   operator's /metrics;
 * - an offset reset applied while the group is active waits, saying for whom; once the consumers
 *   stop it runs, once, and a new consumer resumes from the reset offsets;
 * - a reset that cannot run fails with a message; a ConsumerGroup of a missing Cluster says so;
 * - deleting the resource deletes the group's offsets in Kafka.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { API_VERSION, type ConsumerGroup } from '../../src/operator/api/index.ts';
import type { BrokerProcess } from '../helpers/broker-process.ts';
import { random } from '../integration/replication/support.ts';
import { startOperatedCluster } from './operator-brokers.ts';
import {
  OPERATOR_NAMESPACE,
  eventually,
  installCrds,
  installOperatorConfig,
  kubectl,
  leadingOperator,
  must,
  namespace,
  operatorKubeconfig,
  read,
  type OperatorProcess,
} from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

jest.setTimeout(120_000);

const CLUSTER = 'shop';
const PARTITIONS = 2;
const PER_PARTITION = 10;
const N = PARTITIONS * PER_PARTITION;
const HALF = N / 2;

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
      ns = await namespace(cp, 'groups');
      const started = await startOperatedCluster(cp, {
        ns,
        cluster: CLUSTER,
        kubeconfig,
        operatorArgs: ['--leader-election-namespace', OPERATOR_NAMESPACE],
      });
      operators.push(...started.operators);
      brokers.push(...started.brokers);
      kafka = new Kafka({
        clientId: 'operator-consumer-groups',
        brokers: brokers.map((b) => b.bootstrap),
        logLevel: logLevel.NOTHING,
        retry: { retries: 20, maxRetryTime: 1000 },
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

const groupsPath = (name = ''): string =>
  `/apis/${API_VERSION}/namespaces/${ns}/consumergroups${name ? `/${name}` : ''}`;
const readGroup = (name: string) => read<ConsumerGroup>(plane(), groupsPath(name));
const condition = (cg: ConsumerGroup | undefined, type: string) =>
  cg?.status?.conditions?.find((c) => c.type === type);

async function patchSpec(name: string, spec: object): Promise<void> {
  const r = await plane().request('PATCH', groupsPath(name), { spec });
  if (r.status !== 200) throw new Error(`PATCH ${name}: ${r.status} ${r.body}`);
}

/** Discovery rounds the leading operator has finished (its reconciles of Clusters' groups). */
async function discoveryRounds(): Promise<number> {
  const body = (await (await leadingOperator(operators)).get('/metrics'))?.body ?? '';
  let n = 0;
  for (const m of body.matchAll(
    /^tributary_operator_reconciles_total\{[^}]*kind="ConsumerGroupDiscovery"[^}]*\} (\d+)$/gm,
  )) {
    n += Number(m[1]);
  }
  return n;
}

/** A topic of PARTITIONS partitions with PER_PARTITION records in each. */
async function topicWithRecords(): Promise<string> {
  const topic = random('orders');
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }],
  });
  const producer = kafka.producer();
  await producer.connect();
  for (let p = 0; p < PARTITIONS; p++) {
    await producer.send({
      topic,
      messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ partition: p, value: `r${i}` })),
    });
  }
  await producer.disconnect();
  return topic;
}

/**
 * A member of `groupId` that commits each record it reads among the first `commitUpTo` of each
 * partition (after a reset: from where it starts), then reads on without committing; resolves once
 * every partition has that many committed.
 */
async function consume(
  groupId: string,
  topic: string,
  commitUpTo: number,
  seen: Array<{ partition: number; offset: number }> = [],
): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const committed = new Map<number, number>();
  let done: () => void;
  const reached = new Promise<void>((r) => (done = r));
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      seen.push({ partition, offset: Number(message.offset) });
      const n = committed.get(partition) ?? 0;
      if (n >= commitUpTo) return;
      await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      committed.set(partition, n + 1);
      if (committed.size === PARTITIONS && [...committed.values()].every((c) => c >= commitUpTo)) done();
    },
  });
  await reached;
  return consumer;
}

describe('ConsumerGroup resources', () => {
  let topic = '';
  let groupId = '';
  let consumer: Consumer | undefined;

  it('shows a group of the cluster as a discovered resource with its members and lag', async () => {
    topic = await topicWithRecords();
    groupId = random('billing');
    consumer = await consume(groupId, topic, HALF / PARTITIONS);

    let last: ConsumerGroup | undefined;
    const cg = await eventually(
      'the discovered ConsumerGroup to show the group',
      async () => {
        const g = (last = await readGroup(groupId));
        return g?.status?.state === 'Stable' && g.status.totalLag === N - HALF ? g : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`);
    });
    expect(cg.metadata.labels).toMatchObject({
      'tributary.dev/discovered': 'true',
      'tributary.dev/cluster': CLUSTER,
    });
    expect((cg.metadata as { ownerReferences?: Array<{ kind: string }> }).ownerReferences?.[0]?.kind).toBe(
      'Cluster',
    );
    const status = cg.status!;
    expect(status).toMatchObject({ groupId, members: 1, protocol: expect.any(String) });
    expect(status.memberDetails?.[0]?.clientId).toBe('operator-consumer-groups');
    expect(status.memberDetails?.[0]?.assignments).toEqual([{ topic, partitions: [0, 1] }]);
    const partitions = status.topics!.find((t) => t.name === topic)!.partitions;
    expect(partitions.map((p) => p.logEndOffset)).toEqual([PER_PARTITION, PER_PARTITION]);
    expect(partitions.reduce((n, p) => n + p.offset, 0)).toBe(HALF);
    expect(condition(cg, 'Ready')).toMatchObject({ status: 'True', reason: 'Observed' });

    const op = await leadingOperator(operators);
    const metrics = (await op.get('/metrics'))!.body;
    for (const p of partitions) {
      const series = `tributary_consumergroup_lag{namespace="${ns}",cluster="${CLUSTER}",group="${groupId}",topic="${topic}",partition="${p.partition}"} ${p.lag}`;
      expect(metrics).toContain(series);
    }
  });

  it('holds an offset reset while the group has members, saying for whom', async () => {
    await patchSpec(groupId, {
      refreshIntervalSeconds: 1,
      offsetReset: { requestId: 'replay-1', to: 'offset', offset: 3, topics: [{ name: topic }] },
    });
    const cg = await eventually('the reset to wait', async () => {
      const g = await readGroup(groupId);
      return g?.status?.offsetReset?.state === 'Pending' ? g : undefined;
    });
    expect(condition(cg, 'OffsetReset')).toMatchObject({
      status: 'False',
      reason: 'WaitingForMembersToLeave',
      message: expect.stringContaining('1 active member'),
    });
    expect(condition(cg, 'OffsetReset')!.message).toContain('client operator-consumer-groups');
  });

  it('resets once the consumers stop, and a new consumer resumes from there', async () => {
    await consumer!.disconnect();
    consumer = undefined;
    const cg = await eventually('the reset to run', async () => {
      const g = await readGroup(groupId);
      return g?.status?.offsetReset?.state === 'Succeeded' && g.status.state === 'Empty' ? g : undefined;
    });
    expect(condition(cg, 'OffsetReset')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const partitions = cg.status!.topics!.find((t) => t.name === topic)!.partitions;
    expect(partitions.map((p) => p.offset)).toEqual([3, 3]);
    expect(cg.status!.totalLag).toBe(N - 2 * 3);

    const seen: Array<{ partition: number; offset: number }> = [];
    const resumed = await consume(groupId, topic, 1, seen);
    await resumed.disconnect();
    for (let p = 0; p < PARTITIONS; p++) {
      expect(seen.find((s) => s.partition === p)?.offset).toBe(3);
    }
    // The same request is not carried out again.
    const after = await eventually('the group to be Empty again', async () => {
      const g = await readGroup(groupId);
      return g?.status?.state === 'Empty' ? g : undefined;
    });
    expect(after.status!.offsetReset).toMatchObject({ requestId: 'replay-1', state: 'Succeeded' });
  });

  it('fails a reset of a topic the cluster does not have, saying so', async () => {
    await patchSpec(groupId, {
      offsetReset: {
        requestId: 'replay-2',
        to: 'earliest',
        offset: null,
        topics: [{ name: 'no-such-topic' }],
      },
    });
    const cg = await eventually('the reset to fail', async () => {
      const g = await readGroup(groupId);
      return g?.status?.offsetReset?.requestId === 'replay-2' && g.status.offsetReset.state === 'Failed'
        ? g
        : undefined;
    });
    expect(cg.status!.offsetReset!.message).toContain('topic no-such-topic does not exist');
    expect(condition(cg, 'OffsetReset')).toMatchObject({ status: 'False', reason: 'Failed' });
  });

  it('deletes the group’s offsets with the resource', async () => {
    await must(plane(), 'DELETE', groupsPath(groupId));
    await eventually('the resource to go', async () => (await readGroup(groupId)) === undefined);
    const { groups } = await admin.listGroups();
    expect(groups.map((g) => g.groupId)).not.toContain(groupId);
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0]!.partitions.map((p) => p.offset)).toEqual(['-1', '-1']);
    // Discovery does not bring it back: the group is gone. Two more rounds: one wholly after.
    const rounds = await discoveryRounds();
    await eventually(
      'two more discovery rounds',
      async () => (await discoveryRounds()) >= rounds + 2,
      20_000,
    );
    expect(await readGroup(groupId)).toBeUndefined();
  });

  it('is Ready for a declared group Kafka does not have yet, and says when its Cluster is missing', async () => {
    const declared = random('declared');
    const missing = random('orphan');
    for (const [name, cluster] of [
      [declared, CLUSTER],
      [missing, 'no-such-cluster'],
    ] as const) {
      await must(plane(), 'POST', groupsPath(), {
        apiVersion: API_VERSION,
        kind: 'ConsumerGroup',
        metadata: { name, namespace: ns },
        spec: { clusterRef: { name: cluster } },
      });
    }
    kubectl(plane(), [
      'wait',
      '-n',
      ns,
      '--for=condition=Ready',
      '--timeout=30s',
      `consumergroup/${declared}`,
    ]);
    const cg = (await readGroup(declared))!;
    expect(cg.status).toMatchObject({ state: 'Dead', members: 0, totalLag: 0 });
    expect(condition(cg, 'Ready')).toMatchObject({ reason: 'GroupNotFound' });

    const orphan = await eventually('the missing Cluster to be reported', async () => {
      const g = await readGroup(missing);
      return condition(g, 'Ready') ? g : undefined;
    });
    expect(condition(orphan, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ClusterNotFound',
      message: expect.stringContaining('no-such-cluster'),
    });
  });
});
