/**
 * The e2e tier's workload (fixtures/pod-app.ts) as Kubernetes objects, and reading pods back: a
 * StatefulSet with every kind of volume and downward-API variable the stand-in supports, a bare Pod,
 * and HTTP calls to a pod's own address.
 */
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Container, Node, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from '../kube/harness.ts';

/** fixtures/ on this machine, mounted into pods at /app (a hostPath volume). */
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const APP_PORT = 8080;

export function appContainer(args: string[] = ['--listen', `0.0.0.0:${APP_PORT}`]): Container {
  return {
    name: 'app',
    image: 'e2e.invalid/pod-app:test',
    command: ['node', '/app/pod-app.ts'],
    args,
    ports: [{ name: 'http', containerPort: APP_PORT }],
    volumeMounts: [{ name: 'app', mountPath: '/app', readOnly: true }],
  };
}

const appVolume = { name: 'app', hostPath: { path: FIXTURES, type: 'Directory' } };

/** A bare pod of the app on `nodeName` (or wherever kube-scheduler puts it), with `args`. */
export function appPod(
  ns: string,
  name: string,
  options: { args?: string[]; nodeName?: string; container?: Partial<Container> } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      containers: [{ ...appContainer(options.args), ...options.container }],
      volumes: [appVolume],
      terminationGracePeriodSeconds: 5,
      nodeSelector: options.nodeName ? { 'kubernetes.io/hostname': options.nodeName } : undefined,
    },
  };
}

/**
 * A StatefulSet of the app, one pod per zone (DoNotSchedule spreading), with a readiness probe, a
 * claim per pod at /data, a ConfigMap (an item at a path of its own) and a Secret (mode 0400) as
 * files, an emptyDir, and downward-API variables with `$(VAR)` expansion.
 */
export function appStatefulSet(ns: string, name: string, replicas: number): StatefulSet {
  const labels = { app: name };
  const spec: PodSpec = {
    terminationGracePeriodSeconds: 5,
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: labels },
      },
    ],
    containers: [
      {
        ...appContainer(),
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
          { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          {
            name: 'POD_INDEX',
            valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } },
          },
          {
            name: 'ZONE',
            valueFrom: { fieldRef: { fieldPath: "metadata.labels['topology.kubernetes.io/zone']" } },
          },
          {
            name: 'GREETING',
            valueFrom: { fieldRef: { fieldPath: "metadata.annotations['e2e.tributary.dev/greeting']" } },
          },
          { name: 'ADDRESS', value: `$(POD_NAME).${name}.$(POD_NAMESPACE):${APP_PORT}` },
          { name: 'LITERAL', value: '$$(POD_NAME) $(UNDEFINED)' },
          { name: 'SETTING', valueFrom: { configMapKeyRef: { name: `${name}-config`, key: 'setting' } } },
          { name: 'CONFIG_FILE', value: '/etc/app/config/nested/app.conf' },
          { name: 'TOKEN_FILE', value: '/etc/app/secret/token' },
          { name: 'DATA_DIR', value: '/data' },
          { name: 'SCRATCH_DIR', value: '/scratch' },
          { name: 'LISTEN', value: `0.0.0.0:${APP_PORT}` },
        ],
        readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
        volumeMounts: [
          ...(appContainer().volumeMounts ?? []),
          { name: 'data', mountPath: '/data' },
          { name: 'config', mountPath: '/etc/app/config', readOnly: true },
          { name: 'token', mountPath: '/etc/app/secret', readOnly: true },
          { name: 'scratch', mountPath: '/scratch' },
        ],
      },
    ],
    volumes: [
      appVolume,
      {
        name: 'config',
        configMap: { name: `${name}-config`, items: [{ key: 'app.conf', path: 'nested/app.conf' }] },
      },
      { name: 'token', secret: { secretName: `${name}-token`, defaultMode: 0o400 } },
      { name: 'scratch', emptyDir: {} },
    ],
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels },
      template: { metadata: { labels, annotations: { 'e2e.tributary.dev/greeting': 'hello' } }, spec },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    },
  };
}

/** The ConfigMap and Secret {@link appStatefulSet} mounts. */
export function appConfig(ns: string, name: string): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-config`, namespace: ns },
      data: { 'app.conf': 'colour=blue\n', setting: 'on' },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-token`, namespace: ns },
      stringData: { token: 's3cret' },
    },
  ];
}

export async function getPod(cp: ControlPlane, ns: string, name: string): Promise<Pod | undefined> {
  const r = await cp.request('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
  return r.status === 200 ? (r.json as Pod) : undefined;
}

export async function listPods(cp: ControlPlane, ns: string, selector: string): Promise<Pod[]> {
  const r = await cp.request(
    'GET',
    `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`,
  );
  if (r.status !== 200) throw new Error(`listing pods: ${r.status} ${r.body}`);
  return (r.json as { items: Pod[] }).items;
}

/** The status of a node's Ready condition: 'True', 'False', 'Unknown' (it stopped heartbeating). */
export async function nodeReadyCondition(cp: ControlPlane, node: string): Promise<string | undefined> {
  const r = await cp.request('GET', `/api/v1/nodes/${node}`);
  return (r.json as Node).status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

export function isReady(pod: Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A JSON answer from the app in `pod`, on its own address; undefined if it does not answer. */
export async function appRequest<T>(
  pod: Pod,
  path: string,
  body?: string,
  timeoutMs = 5_000,
): Promise<T | undefined> {
  try {
    const r = await fetch(`http://${pod.status?.podIP}:${APP_PORT}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return (await r.json()) as T;
  } catch {
    return undefined;
  }
}
