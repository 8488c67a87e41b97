/**
 * Topic resources do what they say, in both directions (issue #14), against a real kube-apiserver
 * with two operator replicas (processes, config/rbac) and three real broker processes:
 *
 * - applied, patched and deleted with kubectl, the topic follows in Kafka (read with kafkajs);
 * - a topic created by a Kafka client or by Kafka's own kafka-topics appears as a discovered Topic,
 *   follows partitions added through Kafka, and goes when the topic is deleted;
 * - what Kafka or the schema cannot do ends in a refusal or a condition that says what to change.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { API_VERSION, type Topic } from '../../src/operator/api/index.ts';
import type { BrokerProcess } from '../helpers/broker-process.ts';
import { random } from '../integration/replication/support.ts';
import { runJavaClass } from '../helpers/apache-kafka.ts';
import { startOperatedCluster } from './operator-brokers.ts';
import {
  OPERATOR_NAMESPACE,
  eventually,
  installCrds,
  installOperatorConfig,
  kubectl,
  namespace,
  operatorKubeconfig,
  read,
  type OperatorProcess,
} from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

jest.setTimeout(120_000);

const CLUSTER = 'events';
let ns = '';
const operators: OperatorProcess[] = [];
const brokers: BrokerProcess[] = [];
let admin: Admin;

const plane = useControlPlane(
  {},
  {
    setup: async (cp) => {
      installCrds(cp);
      installOperatorConfig(cp);
      const kubeconfig = await operatorKubeconfig(cp);
      ns = await namespace(cp, 'topics');
      const started = await startOperatedCluster(cp, {
        ns,
        cluster: CLUSTER,
        kubeconfig,
        operatorArgs: ['--leader-election-namespace', OPERATOR_NAMESPACE],
      });
      operators.push(...started.operators);
      brokers.push(...started.brokers);
      const kafka = new Kafka({
        clientId: 'operator-topics',
        brokers: brokers.map((b) => b.bootstrap),
        logLevel: logLevel.NOTHING,
        retry: { retries: 20, maxRetryTime: 1000 },
      });
      admin = kafka.admin();
      await admin.connect();
      await eventually(
        'three live brokers',
        async () => (await admin.describeCluster()).brokers.length === 3,
      );
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

const topicsPath = (name = '') => `/apis/${API_VERSION}/namespaces/${ns}/topics${name ? `/${name}` : ''}`;
const getTopic = (name: string) => read<Topic>(plane(), topicsPath(name));
const k = (...args: string[]) => kubectl(plane(), ['-n', ns, ...args]);

function apply(name: string, spec: Record<string, unknown>): void {
  const doc = {
    apiVersion: API_VERSION,
    kind: 'Topic',
    metadata: { name },
    spec: { clusterRef: { name: CLUSTER }, ...spec },
  };
  kubectl(plane(), ['-n', ns, 'apply', '-f', '-'], JSON.stringify(doc));
}

/** kubectl's error output for a command that must fail. */
function refusal(args: string[], input?: string): string {
  try {
    kubectl(plane(), ['-n', ns, ...args], input);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded`);
}

async function kafkaTopic(name: string) {
  const { topics } = await admin.fetchTopicMetadata({ topics: [name] });
  return topics[0]!;
}

async function kafkaConfig(name: string, key: string): Promise<string | undefined> {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: 2, name, configNames: [key] }],
    includeSynonyms: false,
  });
  return resources[0]!.configEntries.find((e) => e.configName === key)?.configValue;
}

const listed = async (name: string) => (await admin.listTopics()).includes(name);

function ready(t: Topic | undefined) {
  return t?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** The Topic once its Ready condition has `reason`. */
const readyWith = (name: string, reason: string) =>
  eventually(`Topic ${name} Ready reason ${reason}`, async () => {
    const t = await getTopic(name);
    return ready(t)?.reason === reason ? t : undefined;
  });

/** The discovered Topic for Kafka topic `name`. */
const discovered = (name: string) =>
  eventually(`a discovered Topic for ${name}`, async () => {
    const list = (await read<{ items: Topic[] }>(plane(), topicsPath()))!.items;
    return list.find(
      (t) =>
        (t.spec.topicName ?? t.metadata.name) === name &&
        t.metadata.labels?.['tributary.dev/discovered'] === 'true',
    );
  });

describe('Topic resources', () => {
  it('apply creates the topic; kubectl wait sees Ready; patches add partitions and change configs', async () => {
    const name = random('orders');
    apply(name, { partitions: 3, replicationFactor: 3, config: { 'retention.ms': '3600000' } });
    k('wait', '--for=condition=Ready', `topic/${name}`, '--timeout=60s');

    const meta = await kafkaTopic(name);
    expect(meta.partitions).toHaveLength(3);
    expect(meta.partitions.every((p) => p.replicas.length === 3)).toBe(true);
    expect(await kafkaConfig(name, 'retention.ms')).toBe('3600000');
    const t = (await getTopic(name))!;
    expect(t.status!.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(t.status!.partitions!.map((p) => p.isr.length)).toEqual([3, 3, 3]);
    expect(ready(t)).toMatchObject({
      status: 'True',
      reason: 'TopicReady',
      observedGeneration: t.metadata.generation,
    });
    expect(t.status!.conditions!.find((c) => c.type === 'Managed')).toMatchObject({
      status: 'True',
      reason: 'ResourceWins',
    });
    expect(k('get', 'topic', name)).toMatch(/PARTITIONS\s+REPLICAS/);

    k(
      'patch',
      'topic',
      name,
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: { partitions: 5, config: { 'retention.ms': '7200000', 'cleanup.policy': 'compact' } },
      }),
    );
    await eventually('5 partitions in Kafka', async () => (await kafkaTopic(name)).partitions.length === 5);
    await eventually(
      'the new configs in Kafka',
      async () => (await kafkaConfig(name, 'cleanup.policy')) === 'compact',
    );
    expect(await kafkaConfig(name, 'retention.ms')).toBe('7200000');
    k('wait', '--for=condition=Ready', `topic/${name}`, '--timeout=60s');

    // The resource wins: a config changed through Kafka's admin API is set back.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
    });
    await eventually(
      'retention.ms set back',
      async () => (await kafkaConfig(name, 'retention.ms')) === '7200000',
    );
  });

  it('refuses what cannot be done, each with a reason and a message that says what to change', async () => {
    const name = random('bad');
    apply(name, { partitions: 2, replicationFactor: 2, config: { 'retention.ms': '60000' } });
    k('wait', '--for=condition=Ready', `topic/${name}`, '--timeout=60s');

    // Shrinking partitions: refused by the API server, naming the field.
    const shrink = refusal(['patch', 'topic', name, '--type=merge', '-p', '{"spec":{"partitions":1}}']);
    expect(shrink).toContain('spec.partitions');
    expect(shrink).toContain('partitions cannot decrease');

    // An unknown config key: Kafka refuses, the condition names the key, and nothing is half-applied.
    k(
      'patch',
      'topic',
      name,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { config: { 'retention.ms': '120000', 'no.such.config': 'x' } } }),
    );
    const invalid = await readyWith(name, 'InvalidConfig');
    expect(ready(invalid)!.message).toContain('no.such.config');
    expect(await kafkaConfig(name, 'retention.ms')).toBe('60000');

    // More replicas than brokers.
    const wide = random('wide');
    apply(wide, { partitions: 1, replicationFactor: 5 });
    const tooWide = await readyWith(wide, 'InvalidReplicationFactor');
    expect(ready(tooWide)!.message).toMatch(/at most 3/);
    expect(await listed(wide)).toBe(false);

    // A Cluster that does not exist.
    const orphan = random('orphan');
    apply(orphan, { clusterRef: { name: 'nowhere' }, partitions: 1, replicationFactor: 1 });
    const lost = await readyWith(orphan, 'ClusterNotFound');
    expect(ready(lost)!.message).toContain('nowhere');

    // Two resources for one Kafka topic: the older keeps it, the newer says so.
    const twin = random('twin');
    apply(twin, { topicName: name, partitions: 2, replicationFactor: 2 });
    const conflict = await readyWith(twin, 'TopicConflict');
    expect(ready(conflict)!.message).toContain(name);

    // Each stays a condition: no operator restarted, and a fix is picked up.
    k('patch', 'topic', name, '--type=json', '-p', '[{"op":"remove","path":"/spec/config/no.such.config"}]');
    await eventually(
      'retention.ms applied once the bad key is gone',
      async () => (await kafkaConfig(name, 'retention.ms')) === '120000',
    );
    expect(operators.every((op) => op.child.exitCode === null)).toBe(true);
  });

  it('deletes the topic with the resource only under deletionPolicy: Delete', async () => {
    const gone = random('gone');
    apply(gone, { partitions: 1, replicationFactor: 3, deletionPolicy: 'Delete' });
    k('wait', '--for=condition=Ready', `topic/${gone}`, '--timeout=60s');
    expect(((await getTopic(gone))!.metadata as { finalizers?: string[] }).finalizers).toContain(
      'tributary.dev/topic',
    );
    k('delete', 'topic', gone, '--timeout=60s');
    await eventually('the topic deleted in Kafka', async () => !(await listed(gone)));

    const kept = random('kept');
    apply(kept, { partitions: 1, replicationFactor: 3 });
    k('wait', '--for=condition=Ready', `topic/${kept}`, '--timeout=60s');
    k('delete', 'topic', kept, '--timeout=60s');
    // Retained: the topic stays, and comes back as a discovered resource.
    const back = await discovered(kept);
    expect(await listed(kept)).toBe(true);
    expect(back.spec.deletionPolicy).toBe('Retain');
  });
});

describe('topics created through Kafka', () => {
  it('appear as discovered Topics that follow the cluster, and go when the topic goes', async () => {
    const name = `Client_${random('made')}`; // not a valid resource name: it gets a derived one
    await admin.createTopics({
      topics: [
        {
          topic: name,
          numPartitions: 2,
          replicationFactor: 3,
          configEntries: [{ name: 'retention.ms', value: '90000' }],
        },
      ],
    });
    const t = await discovered(name);
    expect(t.metadata.name).toMatch(/^client-made-[0-9a-f]+-[0-9a-f]{8}$/);
    expect(t.metadata.labels).toMatchObject({
      'tributary.dev/cluster': CLUSTER,
      'tributary.dev/discovered': 'true',
    });
    expect((t.metadata as { ownerReferences?: { kind: string; name: string }[] }).ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Cluster', name: CLUSTER }),
    ]);
    expect(t.spec).toMatchObject({
      topicName: name,
      partitions: 2,
      replicationFactor: 3,
      config: { 'retention.ms': '90000' },
    });
    const shown = await readyWith(t.metadata.name, 'Discovered');
    expect(shown.status!.conditions!.find((c) => c.type === 'Managed')).toMatchObject({
      status: 'False',
      reason: 'ClusterWins',
    });

    // Partitions added through Kafka: the cluster wins, the resource follows.
    await admin.createPartitions({ topicPartitions: [{ topic: name, count: 4 }] });
    await eventually(
      'spec.partitions follows Kafka',
      async () => (await getTopic(t.metadata.name))?.spec.partitions === 4,
    );

    await admin.deleteTopics({ topics: [name] });
    await eventually(
      'the discovered Topic removed',
      async () => (await getTopic(t.metadata.name)) === undefined,
    );
  });

  it('shows topics made by kafka-topics, and a discovered Topic edited by a person is adopted', async () => {
    const name = random('tool');
    const bootstrap = brokers.map((b) => b.bootstrap).join(',');
    await runJavaClass('org.apache.kafka.tools.TopicCommand', [
      '--bootstrap-server',
      bootstrap,
      '--create',
      '--topic',
      name,
      '--partitions',
      '2',
      '--replication-factor',
      '2',
    ]);
    const t = await discovered(name);
    expect(t.metadata.name).toBe(name);

    k(
      'patch',
      'topic',
      name,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { config: { 'retention.ms': '4242000' } } }),
    );
    await eventually(
      'the adopted resource loses its discovered label',
      async () => (await getTopic(name))?.metadata.labels?.['tributary.dev/discovered'] === undefined,
    );
    await eventually(
      'its config applied to Kafka',
      async () => (await kafkaConfig(name, 'retention.ms')) === '4242000',
    );
    const adopted = await readyWith(name, 'TopicReady');
    expect(adopted.status!.conditions!.find((c) => c.type === 'Managed')).toMatchObject({
      reason: 'ResourceWins',
    });
  });

  it('shows internal topics only when the Cluster asks for them', async () => {
    // __consumer_offsets exists once a group has used the cluster.
    await eventually('__consumer_offsets', async () => {
      await admin.fetchOffsets({ groupId: random('g'), topics: [] }).catch(() => undefined);
      return listed('__consumer_offsets');
    });
    const list = async () => (await read<{ items: Topic[] }>(plane(), topicsPath()))!.items;
    expect((await list()).some((t) => t.spec.topicName === '__consumer_offsets')).toBe(false);
    k('patch', 'cluster', CLUSTER, '--type=merge', '-p', '{"spec":{"discovery":{"internalTopics":true}}}');
    const internal = await discovered('__consumer_offsets');
    expect(internal.metadata.name).toMatch(/^consumer-offsets-[0-9a-f]{8}$/);
    k('patch', 'cluster', CLUSTER, '--type=merge', '-p', '{"spec":{"discovery":{"internalTopics":false}}}');
    await eventually(
      'the internal topic hidden again',
      async () => (await getTopic(internal.metadata.name)) === undefined,
    );
  });
});
