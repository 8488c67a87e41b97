/**
 * Topic and ConsumerGroup resources, timed (issue #14): two operator replicas (processes,
 * config/rbac) on a real kube-apiserver, three `tributary broker` processes of one Cluster whose
 * metadata controller they are (test/kube/operator-brokers.ts).
 *
 *   node bench/operator-resources.ts [--quick]
 *
 * 1. `kubectl apply` of 100 Topics (3 partitions, RF 3) in one multi-document apply → each Ready
 *    (Ready=True with observedGeneration = metadata.generation), and `kubectl wait
 *    --for=condition=Ready topic --all` started as the apply returns.
 * 2. kafkajs `createTopics`, one topic at a time → its discovered Topic resource.
 * 3. Lag freshness: a produce to a topic whose consumer group has stopped → the discovered
 *    ConsumerGroup's status.totalLag counting it, at the default refreshIntervalSeconds (10) and at 1.
 *    Each produce waits a random part of the interval first: produced right after a refresh, every
 *    sample would take the whole interval.
 *
 * Times are when a watch on the resources delivered the event (the API server runs on this machine),
 * not conditions' lastTransitionTime, which has a resolution of one second.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { cpus, totalmem } from 'node:os';
import { API_VERSION, type ConsumerGroup, type Topic } from '../src/operator/api/index.ts';
import { KubeClient, loadKubeConfig, type RawWatchEvent } from '../src/operator/runtime/client.ts';
import type { KubeObject } from '../src/operator/runtime/objects.ts';
import type { BrokerProcess } from '../test/helpers/broker-process.ts';
import { random } from '../test/integration/replication/support.ts';
import { pinnedVersions, startControlPlane, type ControlPlane } from '../test/kube/harness.ts';
import { startOperatedCluster } from '../test/kube/operator-brokers.ts';
import {
  OPERATOR_NAMESPACE,
  eventually,
  installCrds,
  installOperatorConfig,
  kubectlAsync,
  must,
  namespace,
  operatorKubeconfig,
  type OperatorProcess,
} from '../test/kube/operator-helpers.ts';
import { percentile } from './groups/report.ts';
import { printTable } from './harness.ts';

// kafkajs 2.2.4 sets a negative timer on Node 24 (tulios/kafkajs#1751): harmless, but it would
// print a warning for every consumer.
process.removeAllListeners('warning');

const quick = process.argv.includes('--quick');
const CLUSTER = 'bench';
const APPLIED_TOPICS = 100;
const CLIENT_TOPICS = quick ? 20 : 50;
const LAG_SAMPLES = quick ? 3 : 10;
const FAST_LAG_SAMPLES = quick ? 5 : 10;
const OPERATOR_ARGS = ['--leader-election-namespace', OPERATOR_NAMESPACE, '--log-level', 'warn'];

type Waiter<T> = { test: (o: T) => boolean; resolve: (at: number) => void; timer: NodeJS.Timeout };

/**
 * The objects at one collection path as a watch last delivered them, and promises of the time an
 * event first delivered one that passes a test. A watch that ends is opened again from a fresh list
 * (counted in `reopened`: objects met in that list are dated by the list).
 */
class ResourceWatch<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #objects = new Map<string, T>();
  readonly #waiters = new Set<Waiter<T>>();
  #stopper: { stop(): void } | undefined;
  #stopped = false;
  reopened = 0;

  constructor(client: KubeClient, path: string) {
    this.#client = client;
    this.#path = path;
  }

  async start(): Promise<void> {
    const list = await this.#client.request<{ metadata: { resourceVersion: string }; items: T[] }>({
      method: 'GET',
      path: this.#path,
    });
    const at = Date.now();
    this.#objects.clear();
    for (const o of list.items) this.#seen(o, at);
    this.#stopper = await this.#client.watch(
      this.#path,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (e) => this.#event(e),
      () => {
        if (this.#stopped) return;
        this.reopened++;
        setTimeout(() => void this.start().catch(() => this.#stopper?.stop()), 100);
      },
    );
  }

  /** The time an object passing `test` first arrived; now, if one has already. */
  until(what: string, test: (o: T) => boolean, timeoutMs: number): Promise<number> {
    const p = new Promise<number>((resolve, reject) => {
      if ([...this.#objects.values()].some(test)) return resolve(Date.now());
      const waiter: Waiter<T> = {
        test,
        resolve,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
    // Awaited later, perhaps after it failed: not an unhandled rejection meanwhile.
    p.catch(() => {});
    return p;
  }

  find(test: (o: T) => boolean): T | undefined {
    return [...this.#objects.values()].find(test);
  }

  /** Stops the watch; waiters still waiting never settle. */
  stop(): void {
    this.#stopped = true;
    this.#stopper?.stop();
    for (const w of this.#waiters) clearTimeout(w.timer);
    this.#waiters.clear();
  }

  #event(e: RawWatchEvent): void {
    const at = Date.now();
    const o = e.object as T;
    if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
    const name = o.metadata!.name!;
    if (e.type === 'DELETED') this.#objects.delete(name);
    else this.#seen(o, at);
  }

  #seen(o: T, at: number): void {
    this.#objects.set(o.metadata!.name!, o);
    for (const w of this.#waiters) {
      if (!w.test(o)) continue;
      clearTimeout(w.timer);
      this.#waiters.delete(w);
      w.resolve(at);
    }
  }
}

interface Bench {
  cp: ControlPlane;
  ns: string;
  topics: ResourceWatch<Topic>;
  groups: ResourceWatch<ConsumerGroup>;
  kafka: Kafka;
  admin: Admin;
}

const isReady = (t: Topic): boolean =>
  t.status?.conditions?.some(
    (c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === t.metadata.generation,
  ) ?? false;

const isDiscovered = (o: KubeObject): boolean => o.metadata?.labels?.['tributary.dev/discovered'] === 'true';

const stats = (xs: number[]) => ({
  n: String(xs.length),
  p50: xs.length ? percentile(xs, 50).toFixed(0) : '-',
  p99: xs.length ? percentile(xs, 99).toFixed(0) : '-',
  max: xs.length ? Math.max(...xs).toFixed(0) : '-',
});

const row = (name: string, xs: number[]): string[] => {
  const s = stats(xs);
  return [name, s.n, s.p50, s.p99, s.max];
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- 1. kubectl apply of 100 Topics → Ready --------------------------------------------------------

async function appliedTopics(b: Bench): Promise<void> {
  const base = random('applied');
  const names = Array.from({ length: APPLIED_TOPICS }, (_, i) => `${base}-${String(i).padStart(3, '0')}`);
  const docs = names
    .map((name) =>
      JSON.stringify({
        apiVersion: API_VERSION,
        kind: 'Topic',
        metadata: { name, namespace: b.ns },
        spec: { clusterRef: { name: CLUSTER }, partitions: 3, replicationFactor: 3 },
      }),
    )
    .join('\n---\n');
  const created = names.map((n) => b.topics.until(`Topic ${n}`, (t) => t.metadata.name === n, 120_000));
  const ready = names.map((n) =>
    b.topics.until(`Topic ${n} Ready`, (t) => t.metadata.name === n && isReady(t), 180_000),
  );

  const t0 = Date.now();
  await kubectlAsync(b.cp, ['-n', b.ns, 'apply', '-f', '-'], docs);
  const applied = Date.now();
  const waitAll = () =>
    kubectlAsync(b.cp, ['-n', b.ns, 'wait', '--for=condition=Ready', 'topic', '--all', '--timeout=180s']);
  const waited = waitAll().then(() => Date.now());
  const [createdAt, readyAt, waitedAt] = await Promise.all([
    Promise.all(created),
    Promise.all(ready),
    waited,
  ]);

  // kubectl's own share: the same wait again, every Topic Ready already.
  const again = Date.now();
  await waitAll();
  const waitAgain = Date.now() - again;

  const fromApply = (xs: number[]) => xs.map((x) => x - t0);
  printTable(
    `1. kubectl apply of ${APPLIED_TOPICS} Topics (one multi-document apply; 3 partitions, RF 3) → Ready`,
    ['from the start of the apply (ms)', 'n', 'p50', 'p99', 'max'],
    [
      row('Topic created (watch ADDED)', fromApply(createdAt)),
      row('Topic Ready, per topic', fromApply(readyAt)),
      row(
        'created → Ready, per topic',
        readyAt.map((r, i) => r - createdAt[i]!),
      ),
    ],
  );
  printTable(
    '   totals',
    ['from the start of the apply', 'ms'],
    [
      ['kubectl apply returned', String(applied - t0)],
      [`all ${APPLIED_TOPICS} Ready (watch)`, String(Math.max(...readyAt) - t0)],
      ['kubectl wait --for=condition=Ready topic --all returned', String(waitedAt - t0)],
      ['  the same wait again, all Ready already (its own cost)', String(waitAgain)],
    ],
  );
  console.log(
    '   kubectl wait was started when the apply returned. Ready = condition Ready=True with observedGeneration = metadata.generation.',
  );
}

// --- 2. kafkajs createTopics → discovered Topic ----------------------------------------------------

async function discoveredTopics(b: Bench): Promise<void> {
  const base = random('client');
  const seen: number[] = [];
  const calls: number[] = [];
  for (let i = 0; i < CLIENT_TOPICS; i++) {
    const name = `${base}-${i}`;
    const found = b.topics.until(
      `a discovered Topic for ${name}`,
      (t) => isDiscovered(t) && (t.spec.topicName ?? t.metadata.name) === name,
      30_000,
    );
    const t0 = Date.now();
    await b.admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic: name, numPartitions: 3, replicationFactor: 3 }],
    });
    calls.push(Date.now() - t0);
    seen.push((await found) - t0);
  }
  printTable(
    `2. kafkajs admin.createTopics (one at a time, 3 partitions, RF 3) → discovered Topic resource`,
    ['from the createTopics call (ms)', 'n', 'p50', 'p99', 'max'],
    [row('createTopics answered', calls), row('discovered Topic seen (watch ADDED)', seen)],
  );
  console.log(
    '   Seen by a watch on topics (GET …/topics?watch=1): the resource labelled tributary.dev/discovered=true whose spec.topicName (or name) is the topic.',
  );
}

// --- 3. lag freshness ------------------------------------------------------------------------------

const groupIdOf = (cg: ConsumerGroup): string => cg.spec.groupId ?? cg.metadata.name;

/** A group that consumed and committed all of `topic`'s `records`, then left. */
async function stoppedGroup(b: Bench, topic: string, records: number): Promise<string> {
  const groupId = random('lag-group');
  const consumer = b.kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let committed = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      if (++committed === records) done();
    },
  });
  await all;
  await consumer.disconnect();
  return groupId;
}

interface LagRun {
  intervalSeconds: number;
  samples: number[];
  /** Why the run stopped short, if it did. */
  failure?: string;
}

/** Produces one record at a time and times each until totalLag counts it. */
async function lagSamples(
  b: Bench,
  o: { producer: Producer; topic: string; groupId: string; intervalSeconds: number; times: number },
  lag: { value: number },
): Promise<LagRun> {
  const run: LagRun = { intervalSeconds: o.intervalSeconds, samples: [] };
  for (let i = 0; i < o.times; i++) {
    await sleep(Math.random() * o.intervalSeconds * 1000);
    const expected = ++lag.value;
    const shown = b.groups.until(
      `totalLag ${expected} for ${o.groupId}`,
      (cg) => groupIdOf(cg) === o.groupId && (cg.status?.totalLag ?? -1) >= expected,
      o.intervalSeconds * 3000 + 10_000,
    );
    const t0 = Date.now();
    await o.producer.send({ topic: o.topic, messages: [{ value: `lag-${expected}` }] });
    try {
      run.samples.push((await shown) - t0);
    } catch (err) {
      const last = b.groups.find((cg) => groupIdOf(cg) === o.groupId)?.status;
      run.failure = `${(err as Error).message}; last status: ${JSON.stringify(last ?? null)}`;
      break;
    }
  }
  return run;
}

async function lagFreshness(b: Bench): Promise<LagRun[] | string> {
  const topic = random('lag');
  await b.admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 1, replicationFactor: 3 }],
  });
  const producer = b.kafka.producer();
  await producer.connect();
  try {
    const first = 3;
    await producer.send({ topic, messages: Array.from({ length: first }, (_, i) => ({ value: `r${i}` })) });
    const groupId = await stoppedGroup(b, topic, first);
    const settled = (cg: ConsumerGroup) =>
      groupIdOf(cg) === groupId && cg.status?.state === 'Empty' && cg.status.totalLag === 0;
    try {
      await b.groups.until(`ConsumerGroup ${groupId} Empty with totalLag 0`, settled, 60_000);
    } catch (err) {
      const last = b.groups.find((cg) => groupIdOf(cg) === groupId);
      return `${(err as Error).message} (last seen: ${last ? JSON.stringify(last.status ?? null) : 'no ConsumerGroup resource'})`;
    }
    const lag = { value: 0 };
    const runs = [
      await lagSamples(b, { producer, topic, groupId, intervalSeconds: 10, times: LAG_SAMPLES }, lag),
    ];

    const cg = b.groups.find((g) => groupIdOf(g) === groupId)!;
    const path = `/apis/${API_VERSION}/namespaces/${b.ns}/consumergroups/${cg.metadata.name}`;
    const patched = (await must(b.cp, 'PATCH', path, {
      spec: { refreshIntervalSeconds: 1 },
    })) as ConsumerGroup;
    const generation = patched.metadata.generation!;
    await b.groups.until(
      `ConsumerGroup ${groupId} to observe generation ${generation}`,
      (g) =>
        groupIdOf(g) === groupId &&
        (g.status?.conditions?.some((c) => c.type === 'Ready' && (c.observedGeneration ?? 0) >= generation) ??
          false),
      30_000,
    );
    runs.push(
      await lagSamples(b, { producer, topic, groupId, intervalSeconds: 1, times: FAST_LAG_SAMPLES }, lag),
    );
    return runs;
  } finally {
    await producer.disconnect();
  }
}

function printLag(result: LagRun[] | string): void {
  if (typeof result === 'string') {
    console.log(`\n3. Lag freshness: not measured. ${result}`);
    return;
  }
  printTable(
    '3. Lag freshness: produce (group stopped) → ConsumerGroup status.totalLag counts the record',
    ['refreshIntervalSeconds', 'n', 'p50 ms', 'p99 ms', 'max ms'],
    result.map((r) => row(`${r.intervalSeconds}${r.intervalSeconds === 10 ? ' (default)' : ''}`, r.samples)),
  );
  console.log(
    '   Each produce waits a random part of the interval first; seen by a watch on consumergroups (GET …/consumergroups?watch=1).',
  );
  console.log('   p99 is nearest-rank: with fewer than 100 samples it is the largest.');
  for (const r of result) {
    if (r.failure) console.log(`   At ${r.intervalSeconds} s the run stopped short: ${r.failure}`);
  }
}

// --- set-up and report -----------------------------------------------------------------------------

function machine(): string {
  const cores = cpus();
  const { kubernetes, etcd } = pinnedVersions();
  return (
    `${cores.length} cores (${cores[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
    `Node ${process.version}, kube-apiserver ${kubernetes}, etcd ${etcd}; ` +
    `everything (etcd, kube-apiserver, 2 operators, 3 brokers, this client) on this machine`
  );
}

async function main(): Promise<void> {
  console.log(
    `Setting up a control plane, two operator replicas and three brokers${quick ? ' (--quick)' : ''}…`,
  );
  const started = Date.now();
  const cp = await startControlPlane();
  const operators: OperatorProcess[] = [];
  const brokers: BrokerProcess[] = [];
  const watches: Array<{ stop(): void }> = [];
  let admin: Admin | undefined;
  let lag: LagRun[] | string = 'the bench stopped before it got there';
  try {
    installCrds(cp);
    installOperatorConfig(cp);
    const kubeconfig = await operatorKubeconfig(cp);
    const ns = await namespace(cp, 'bench');
    const cluster = await startOperatedCluster(cp, {
      ns,
      cluster: CLUSTER,
      kubeconfig,
      operatorArgs: OPERATOR_ARGS,
    });
    operators.push(...cluster.operators);
    brokers.push(...cluster.brokers);

    const client = new KubeClient(loadKubeConfig({ kubeconfigPath: cp.kubeconfigPath }), {
      watchIdleTimeoutMs: 600_000,
    });
    const topics = new ResourceWatch<Topic>(client, `/apis/${API_VERSION}/namespaces/${ns}/topics`);
    const groups = new ResourceWatch<ConsumerGroup>(
      client,
      `/apis/${API_VERSION}/namespaces/${ns}/consumergroups`,
    );
    watches.push(topics, groups);
    await topics.start();
    await groups.start();

    const kafka = new Kafka({
      clientId: 'bench-operator-resources',
      brokers: brokers.map((b) => b.bootstrap),
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, maxRetryTime: 1000 },
    });
    admin = kafka.admin();
    await admin.connect();
    const a = admin;
    await eventually(
      'three live brokers',
      async () => (await a.describeCluster()).brokers.length === 3,
      60_000,
    );
    console.log(`Ready in ${((Date.now() - started) / 1000).toFixed(0)} s.`);

    const b: Bench = { cp, ns, topics, groups, kafka, admin };
    await appliedTopics(b);
    await discoveredTopics(b);
    lag = await lagFreshness(b).catch((err: Error) => `it failed: ${err.message}`);
    printLag(lag);
    if (topics.reopened + groups.reopened > 0) {
      console.log(
        `\nWatches reopened ${topics.reopened + groups.reopened} time(s): objects met in a relist are dated by it.`,
      );
    }
  } finally {
    for (const w of watches) w.stop();
    await admin?.disconnect().catch(() => {});
    for (const broker of brokers) await broker.remove();
    for (const op of operators) await op.kill('SIGKILL');
    await cp.stop();
  }
  console.log(`\nMachine: ${machine()}.`);
  console.log(`Total ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
