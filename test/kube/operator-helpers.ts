/**
 * Shared by the operator's kube tests: installing the CRDs and config/rbac, a kubeconfig for the
 * operator's ServiceAccount (a TokenRequest token: the operator runs with exactly the RBAC in
 * config/rbac, never as an admin), an in-process operator, namespaces, Clusters, a throwaway custom resource, polling, and
 * operator processes.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { Cluster, ClusterSpec } from '../../src/operator/api/index.ts';
import { API_VERSION, GROUP, RESOURCES } from '../../src/operator/api/index.ts';
import {
  ANNOTATION_EPOCH,
  ANNOTATION_WRITER,
  decodeState,
  metadataConfigMapName,
} from '../../src/operator/metadata/kube-store.ts';
import { Operator, type OperatorOptions } from '../../src/operator/operator.ts';
import { loadKubeConfig } from '../../src/operator/runtime/client.ts';
import type { ControlPlane } from './harness.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const OPERATOR_NAMESPACE = 'tributary-system';
export const OPERATOR_ACCOUNT = 'tributary-operator';

export function kubectl(cp: ControlPlane, args: string[], input?: string): string {
  return execFileSync(join(cp.binDir, 'kubectl'), ['--kubeconfig', cp.kubeconfigPath, ...args], {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** The CRDs from crds/, established. */
export function installCrds(cp: ControlPlane): void {
  kubectl(cp, ['apply', '--server-side', '-f', join(REPO, 'crds')]);
  const names = RESOURCES.map((r) => `crd/${r.plural}.${GROUP}`);
  kubectl(cp, ['wait', '--for=condition=Established', '--timeout=60s', ...names]);
}

/** config/ (namespace, RBAC, Deployment) as `kubectl apply -k config/` installs it. */
export function installOperatorConfig(cp: ControlPlane): void {
  kubectl(cp, ['apply', '-k', join(REPO, 'config')]);
}

/**
 * A kubeconfig that authenticates as the operator's ServiceAccount with a token from the
 * TokenRequest API (what a pod's projected token is), written next to the admin's.
 */
export async function operatorKubeconfig(cp: ControlPlane): Promise<string> {
  const r = await cp.request(
    'POST',
    `/api/v1/namespaces/${OPERATOR_NAMESPACE}/serviceaccounts/${OPERATOR_ACCOUNT}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86400 } },
  );
  if (r.status !== 201) throw new Error(`TokenRequest failed: ${r.status} ${r.body}`);
  const token = (r.json as { status: { token: string } }).status.token;
  const path = join(cp.dir, `kubeconfig-${OPERATOR_ACCOUNT}`);
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: ${cp.server}
      certificate-authority-data: ${Buffer.from(cp.caCert).toString('base64')}
users:
  - name: ${OPERATOR_ACCOUNT}
    user:
      token: ${token}
contexts:
  - name: operator
    context:
      cluster: test
      user: ${OPERATOR_ACCOUNT}
current-context: operator
`,
    { mode: 0o600 },
  );
  return path;
}

/**
 * The CRDs and config/ installed, and an Operator (not started yet) that runs in this process as
 * config/rbac's ServiceAccount; `options` add to the defaults or override them.
 */
export async function installOperator(
  cp: ControlPlane,
  options: Partial<OperatorOptions> = {},
): Promise<Operator> {
  installCrds(cp);
  installOperatorConfig(cp);
  return new Operator({
    kubeConfig: loadKubeConfig({ kubeconfigPath: await operatorKubeconfig(cp) }),
    image: 'example.com/tributary:test',
    processMetrics: false,
    ...options,
  });
}

export async function namespace(cp: ControlPlane, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const r = await cp.request('POST', '/api/v1/namespaces', { metadata: { name } });
  if (r.status !== 201) throw new Error(`could not create namespace ${name}: ${r.body}`);
  return name;
}

/**
 * A CustomResourceDefinition of namespaced `widgets` in `group` (v1 only), keeping whatever spec and
 * status hold: a custom resource for runtime tests that must not depend on the operator's own CRDs.
 */
export function widgetCrd(
  group: string,
  options: { statusSubresource?: boolean } = {},
): { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> } {
  const anything = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          ...(options.statusSubresource ? { subresources: { status: {} } } : {}),
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: anything, status: anything } } },
        },
      ],
    },
  };
}

export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function clusterObject(ns: string, name: string, spec: Partial<ClusterSpec> = {}): Cluster {
  return {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: { name, namespace: ns },
    spec: { replicas: 3, storage: { size: '1Gi' }, ...spec },
  };
}

export const clustersPath = (ns: string, name = ''): string =>
  `/apis/${API_VERSION}/namespaces/${ns}/clusters${name ? `/${name}` : ''}`;

/** The object at `path` as the admin reads it, or undefined on 404. */
export async function read<T>(cp: ControlPlane, path: string): Promise<T | undefined> {
  const r = await cp.request('GET', path);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return r.json as T;
}

export async function must(cp: ControlPlane, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await cp.request(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
  return r.json;
}

/** Distinct free TCP ports on 127.0.0.1. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = createServer();
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface OperatorProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly metricsUrl: string;
  /** Its metadata controller's API for brokers (`--controller-listen`), on 127.0.0.1. */
  readonly controllerAddress: string;
  /** Everything it logged so far. */
  logs(): string;
  /** GET a path of its HTTP server; undefined if it does not answer. */
  get(path: string): Promise<{ status: number; body: string } | undefined>;
  /** Sends `signal` and resolves with how it exited. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * `tributary operator` in a process of its own, as `npx node src/cli/main.ts operator …` would run
 * it (Node 24 directly, so the pid is the operator's and a SIGKILL reaches it), logging to a file
 * in the control plane's directory. `POD_NAME` is `name`, so its Lease identity starts with it.
 */
export async function spawnOperator(
  cp: ControlPlane,
  name: string,
  kubeconfig: string,
  args: string[] = [],
  options: {
    /** The CLI's entry point: src/cli/main.ts unless given (a compiled dist/cli/main.js, say). */
    entry?: string;
    /** Node's own flags (V8 heap sizes), before the entry point. */
    nodeFlags?: string[];
    /**
     * The port of its controller API (a free one unless given): for replicas whose addresses must be
     * known before they start (`--controller-address`), or one started again in its place.
     */
    controllerPort?: number;
  } = {},
): Promise<OperatorProcess> {
  const [port, freeControllerPort] = await freePorts(2);
  const controllerPort = options.controllerPort ?? freeControllerPort!;
  const logPath = join(cp.dir, `operator-${name}.log`);
  const log = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [
        ...(options.nodeFlags ?? []),
        options.entry ?? join(REPO, 'src/cli/main.ts'),
        'operator',
        '--kubeconfig',
        kubeconfig,
        '--metrics-listen',
        `127.0.0.1:${port}`,
        '--controller-listen',
        `127.0.0.1:${controllerPort}`,
        ...args,
      ],
      { stdio: ['ignore', log, log], env: { ...process.env, POD_NAME: name }, cwd: REPO },
    );
  } finally {
    closeSync(log);
  }
  live.add(child);
  child.on('exit', () => live.delete(child));
  const metricsUrl = `http://127.0.0.1:${port}`;
  return {
    name,
    child,
    metricsUrl,
    controllerAddress: `127.0.0.1:${controllerPort}`,
    logs: () => readFileSync(logPath, 'utf8'),
    get: async (path) => {
      try {
        const r = await fetch(metricsUrl + path, { signal: AbortSignal.timeout(5_000) });
        return { status: r.status, body: await r.text() };
      } catch {
        return undefined;
      }
    },
    kill: async (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        return { code: child.exitCode, signal: child.signalCode };
      }
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill(signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
}

/** Whether the process's /metrics says it holds the lease. */
export async function isLeading(op: OperatorProcess): Promise<boolean> {
  const r = await op.get('/metrics');
  return r !== undefined && /^tributary_operator_leader\{[^}]*\} 1$/m.test(r.body);
}

/** The replica of `operators` that holds the lease (a live process whose /metrics says so). */
export async function leadingOperator(
  operators: OperatorProcess[],
  timeoutMs = 30_000,
): Promise<OperatorProcess> {
  return eventually(
    'an operator to lead',
    async () => {
      for (const op of operators) if (op.child.signalCode === null && (await isLeading(op))) return op;
      return undefined;
    },
    timeoutMs,
  );
}

/**
 * A Cluster's metadata as its controller stored it (ConfigMap `<cluster>-metadata`), with the
 * controller epoch and the writer (the Lease identity of the replica) it was written under.
 */
export async function storedMetadata(cp: ControlPlane, ns: string, cluster: string) {
  const path = `/api/v1/namespaces/${ns}/configmaps/${metadataConfigMapName(cluster)}`;
  const cm = await read<ConfigMap>(cp, path);
  if (!cm) throw new Error(`no ${path}`);
  return {
    state: decodeState(cm, path),
    epoch: Number(cm.metadata!.annotations![ANNOTATION_EPOCH]),
    writer: cm.metadata!.annotations![ANNOTATION_WRITER]!,
  };
}

/**
 * {@link kubectl} without blocking the event loop, for callers that time watch events or other
 * work while kubectl runs; rejects with its stderr when it exits non-zero.
 */
export function kubectlAsync(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const child = spawn(join(cp.binDir, 'kubectl'), ['--kubeconfig', cp.kubeconfigPath, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`kubectl ${args.join(' ')}: exit ${code}: ${stderr}`)),
    );
  });
}
