/**
 * The operator against a real kube-apiserver (the kube tier's control plane, on loopback):
 *
 *   node bench/operator.ts [--quick]
 *
 * 1. Latency: the time from creating a Cluster (the POST returned) to all six of its children
 *    existing (seen by watches in this process), one Cluster at a time (each once the previous one's
 *    status is written and its reconciles are done); p50 and p90 over 20 after 3 unmeasured.
 *    Floor: p50 < 200 ms.
 * 2. Memory: the operator process's resident set (VmRSS) once 100 Clusters (and their children)
 *    and 1,000 Topics are in its caches and every Cluster has been reconciled.
 *    Floor: RSS < 200 MB (issue 13, with @kubernetes/client-node loaded; Strimzi's operator
 *    requests 384 Mi by default).
 *
 * The operator runs as `tributary operator` in its own process, with leader election, as the
 * admin, as the Deployment runs it: compiled to JavaScript (here into .cache/bench-operator) with
 * the NODE_OPTIONS of config/manager/deployment.yaml. For comparison, memory is measured again on a
 * second process started from the TypeScript sources with Node's default heap sizing (which follows
 * the machine's memory), after it has listed everything afresh, as a replica that takes over does.
 * Without the kube binaries (hack/kube/build.sh) it says so and exits.
 * Not a test: figures, not assertions.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { KubeObject } from '../src/operator/runtime/objects.ts';
import { API_VERSION } from '../src/operator/api/index.ts';
import { KubeClient, loadKubeConfig } from '../src/operator/runtime/client.ts';
import { Informer } from '../src/operator/runtime/informer.ts';
import { kubeListerWatcher } from '../src/operator/runtime/list-watch.ts';
import {
  ConfigMaps,
  Secrets,
  Services,
  StatefulSets,
  type ResourceType,
} from '../src/operator/runtime/resources.ts';
import { LABEL_CLUSTER, MANAGED_SELECTOR } from '../src/operator/reconcilers/cluster/names.ts';
import { defaultBinDir, startControlPlane, type ControlPlane } from '../test/kube/harness.ts';
import {
  REPO,
  clusterObject,
  clustersPath,
  eventually,
  installCrds,
  isLeading,
  must,
  read,
  spawnOperator,
  type OperatorProcess,
} from '../test/kube/operator-helpers.ts';
import { parseYaml } from '../test/unit/operator/api/parse-yaml.ts';
import { printTable } from './harness.ts';

const quick = process.argv.includes('--quick');
const SAMPLES = quick ? 5 : 20;
const WARM_UP = quick ? 1 : 3;
const CLUSTERS = quick ? 20 : 100;
const TOPICS = quick ? 200 : 1_000;
const NAMESPACE = 'bench';
const MB = 1e6;
const FLOOR_P50_MS = 200;
const FLOOR_RSS_MB = 200;

const PDBS: ResourceType = {
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  namespaced: true,
};
/** The six children of a Cluster, by kind: how many of each. */
const CHILDREN: [ResourceType, number][] = [
  [StatefulSets, 1],
  [Services, 2],
  [ConfigMaps, 1],
  [Secrets, 1],
  [PDBS, 1],
];

/** Watches the bench namespace's children and resolves when a Cluster has all six. */
function childWatcher(client: KubeClient) {
  const seen = new Map<string, Set<string>>();
  const waiters = new Map<string, () => void>();
  const informers = CHILDREN.map(
    ([type]) =>
      new Informer<KubeObject>({
        name: type.kind,
        source: kubeListerWatcher(client, type, { namespace: NAMESPACE, labelSelector: MANAGED_SELECTOR }),
      }),
  );
  const total = CHILDREN.reduce((n, [, count]) => n + count, 0);
  const note = (obj: KubeObject) => {
    const cluster = obj.metadata?.labels?.[LABEL_CLUSTER];
    if (!cluster) return;
    const set = seen.get(cluster) ?? new Set<string>();
    set.add(`${obj.kind}/${obj.metadata?.name}`);
    seen.set(cluster, set);
    if (set.size === total) waiters.get(cluster)?.();
  };
  for (const informer of informers) informer.on({ add: note });
  return {
    async start() {
      for (const i of informers) i.start();
      await Promise.all(informers.map((i) => i.waitForSync()));
    },
    allChildren(cluster: string): Promise<void> {
      if (seen.get(cluster)?.size === total) return Promise.resolve();
      return new Promise((resolve) => waiters.set(cluster, resolve));
    },
    stop: () => Promise.all(informers.map((i) => i.stop())),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function latency(cp: ControlPlane, client: KubeClient): Promise<number[]> {
  const watcher = childWatcher(client);
  await watcher.start();
  const samples: number[] = [];
  try {
    for (let i = 0; i < WARM_UP + SAMPLES; i++) {
      const name = `latency-${i}`;
      const done = watcher.allChildren(name);
      const started = performance.now();
      await must(cp, 'POST', clustersPath(NAMESPACE), clusterObject(NAMESPACE, name));
      await done;
      if (i >= WARM_UP) samples.push(performance.now() - started);
      // Measure each Cluster alone: let the reconciles that follow this one (status, Events) end.
      await eventually('its status', async () => {
        const c = await read<{ status?: { observedGeneration?: number } }>(cp, clustersPath(NAMESPACE, name));
        return c?.status?.observedGeneration === 1;
      });
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await watcher.stop();
  }
  return samples.sort((a, b) => a - b);
}

async function fillCaches(cp: ControlPlane, existing: number): Promise<void> {
  const clusters = Array.from({ length: CLUSTERS - existing }, (_, i) => `fill-${i}`);
  await inParallel(clusters, 8, (name) =>
    must(cp, 'POST', clustersPath(NAMESPACE), clusterObject(NAMESPACE, name)),
  );
  const topics = Array.from({ length: TOPICS }, (_, i) => i);
  await inParallel(topics, 8, (i) =>
    must(cp, 'POST', `/apis/${API_VERSION}/namespaces/${NAMESPACE}/topics`, {
      apiVersion: API_VERSION,
      kind: 'Topic',
      metadata: { name: `topic-${i}` },
      spec: {
        clusterRef: { name: `fill-${i % Math.max(1, clusters.length)}` },
        partitions: 12,
        replicationFactor: 3,
      },
    }),
  );
}

/** The operator compiled as `npm run build` compiles it, into a directory of its own. */
function build(): string {
  const out = join(REPO, '.cache/bench-operator');
  rmSync(out, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', out],
    { stdio: 'inherit', cwd: REPO },
  );
  return join(out, 'cli/main.js');
}

/** NODE_OPTIONS as config/manager/deployment.yaml sets them. */
function deployedNodeOptions(): string[] {
  const deployment = parseYaml(
    readFileSync(join(REPO, 'config/manager/deployment.yaml'), 'utf8'),
  ) as Deployment;
  const env = deployment.spec?.template.spec?.containers[0].env ?? [];
  return (env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '').split(' ').filter(Boolean);
}

async function start(cp: ControlPlane, name: string, options: Parameters<typeof spawnOperator>[4]) {
  const op = await spawnOperator(
    cp,
    name,
    cp.kubeconfigPath,
    ['--leader-election-namespace', NAMESPACE],
    options,
  );
  await eventually(`${name} to lead`, () => isLeading(op), 60_000);
  return op;
}

/** Waits until `op` caches everything, lets it settle, and reads its memory. */
async function memory(op: OperatorProcess): Promise<{ rss: number; heap: number; children: number }> {
  const metrics = () => op.get('/metrics').then((r) => r?.body ?? '');
  const count = (text: string, kind: string) =>
    Number(new RegExp(`^tributary_operator_cached_objects\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  const cached = await eventually(
    'the caches to hold everything',
    async () => {
      const text = await metrics();
      return count(text, 'Cluster') === CLUSTERS &&
        count(text, 'Topic') === TOPICS &&
        count(text, 'StatefulSet') === CLUSTERS
        ? text
        : undefined;
    },
    120_000,
  );
  await new Promise((r) => setTimeout(r, 5_000)); // let the reconciles and their garbage settle
  const heap = /^tributary_operator_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)/m.exec(await metrics())?.[1];
  const children = ['StatefulSet', 'Service', 'ConfigMap', 'Secret', 'PodDisruptionBudget'].reduce(
    (n, k) => n + count(cached, k),
    0,
  );
  return { rss: procStatus(op.child.pid!, 'VmRSS'), heap: Number(heap), children };
}

async function main(): Promise<void> {
  if (!existsSync(join(defaultBinDir(), 'kube-apiserver'))) {
    console.log(
      `The kube binaries are not built (${defaultBinDir()}): run hack/kube/build.sh, then this again.`,
    );
    return;
  }
  const entry = build();
  const nodeOptions = deployedNodeOptions();
  const cp = await startControlPlane();
  try {
    installCrds(cp);
    await must(cp, 'POST', '/api/v1/namespaces', { metadata: { name: NAMESPACE } });
    const deployed = await start(cp, 'deployed', { entry, nodeFlags: nodeOptions });
    let deployedMemory;
    try {
      const client = new KubeClient(loadKubeConfig({ kubeconfigPath: cp.kubeconfigPath }));
      const samples = await latency(cp, client);
      const p50 = percentile(samples, 50);
      printTable(
        `Cluster created → all 6 children applied (${SAMPLES} Clusters, one at a time, after ${WARM_UP} unmeasured)`,
        ['', 'ms', 'floor'],
        [
          ['p50', p50.toFixed(1), `< ${FLOOR_P50_MS} ${p50 < FLOOR_P50_MS ? 'ok' : 'MISSED'}`],
          ['p90', percentile(samples, 90).toFixed(1), ''],
          ['min', samples[0].toFixed(1), ''],
          ['max', samples[samples.length - 1].toFixed(1), ''],
        ],
      );

      await fillCaches(cp, WARM_UP + SAMPLES);
      await eventually(
        `all ${CLUSTERS} Clusters reconciled`,
        async () => {
          const list = await read<{ items: { status?: { observedGeneration?: number } }[] }>(
            cp,
            clustersPath(NAMESPACE),
          );
          return (
            list?.items.length === CLUSTERS && list.items.every((c) => c.status?.observedGeneration === 1)
          );
        },
        300_000,
      );
      deployedMemory = await memory(deployed);
    } finally {
      await deployed.kill('SIGTERM');
    }
    const fromSource = await start(cp, 'from-source', {});
    let sourceMemory;
    try {
      sourceMemory = await memory(fromSource);
    } finally {
      await fromSource.kill('SIGTERM');
    }

    const row = (label: string, m: { rss: number; heap: number }, floor: boolean) => [
      label,
      (m.rss / MB).toFixed(1),
      (m.heap / MB).toFixed(1),
      floor ? `< ${FLOOR_RSS_MB} ${m.rss / MB < FLOOR_RSS_MB ? 'ok' : 'MISSED'}` : '',
    ];
    printTable(
      `Operator memory with ${CLUSTERS} Clusters, ${deployedMemory.children} children and ${TOPICS} Topics cached`,
      ['', 'RSS MB', 'V8 heap used MB', 'floor'],
      [
        row(`as deployed (compiled; NODE_OPTIONS=${nodeOptions.join(' ')})`, deployedMemory, true),
        row('from src/*.ts, Node’s default heap sizing', sourceMemory, false),
      ],
    );
  } finally {
    await cp.stop();
  }
}

await main();
