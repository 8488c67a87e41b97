/**
 * The Kubernetes objects a Cluster is made of (DESIGN.md, "Kubernetes objects of a Cluster"), as
 * plain functions of the Cluster: a StatefulSet of brokers with a PVC each, a headless Service (per-pod
 * DNS) and a bootstrap Service, the brokers' ConfigMap, the admin-token Secret and a
 * PodDisruptionBudget. Each carries the Cluster as its controller owner and is applied as it is
 * returned (server-side apply states exactly these fields).
 *
 * How a broker learns who it is, with no code in the pod but the broker's (docs/adr/0013):
 * - node id: the pod's `apps.kubernetes.io/pod-index` label (set by the StatefulSet controller)
 *   through the downward API, as TRIBUTARY_NODE_ID;
 * - advertised address: `$(POD_NAME).<headless>.<ns>.svc.<domain>:<kafka port>`, expanded by the
 *   kubelet, as TRIBUTARY_ADVERTISED_LISTENERS;
 * - rack: the pod's copy of its node's zone (or region) label, which Kubernetes ≥ 1.35 puts on the
 *   pod when it is bound (PodTopologyLabels admission), as TRIBUTARY_BROKER_RACK. Other topology
 *   keys are spread across but not passed to the broker (a pod cannot read its node's labels).
 */

import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type {
  Container,
  EnvVar,
  PodSecurityContext,
  PodSpec,
  ResourceRequirements,
  Secret,
  Service,
  ConfigMap,
  TopologySpreadConstraint,
} from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { Cluster } from '../../api/index.ts';
import { withController } from '../../runtime/owner.ts';
import {
  brokerHost,
  childLabels,
  clusterNames,
  POD_INDEX_LABEL,
  selectorLabels,
  type ClusterNames,
} from './names.ts';
import { configHash, renderServerProperties } from './server-properties.ts';

export const DEFAULT_KAFKA_PORT = 9092;
export const DEFAULT_ADMIN_PORT = 9644;
export const DEFAULT_TOPOLOGY_KEY = 'topology.kubernetes.io/zone';
export const HOSTNAME_KEY = 'kubernetes.io/hostname';

/** Node labels Kubernetes copies onto a pod as it binds it to a node (PodTopologyLabels, ≥ 1.35). */
export const POD_TOPOLOGY_LABELS: readonly string[] = [
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
];

/** Where things are inside the broker container. */
export const BROKER_PATHS = {
  /** The PVC's mount; the logs live one level down, away from a file system's lost+found. */
  volume: '/var/lib/tributary',
  dataDir: '/var/lib/tributary/data',
  configDir: '/etc/tributary/config',
  configFile: '/etc/tributary/config/server.properties',
  /** The admin token (file `token`), for the controller ↔ broker HTTP API. */
  adminDir: '/etc/tributary/admin',
} as const;

export const CONFIG_FILE_KEY = 'server.properties';
export const ADMIN_TOKEN_KEY = 'token';
export const CONFIG_HASH_ANNOTATION = 'tributary.dev/config-hash';

/** The broker image's user (uid/gid), used for the default security context and volume ownership. */
const BROKER_UID = 1000;
/** Long enough for log recovery of a large volume before liveness checks begin (30 minutes). */
const STARTUP_PROBE = { periodSeconds: 5, failureThreshold: 360 };
/** Controlled shutdown moves leaderships away before the broker stops (DESIGN.md). */
const TERMINATION_GRACE_SECONDS = 60;

export interface ChildOptions {
  /** The broker image when the Cluster names none (the operator's own). */
  readonly image: string;
  /** The Kubernetes cluster's DNS domain (`cluster.local`). */
  readonly clusterDomain: string;
  /**
   * The operator's controller API as brokers reach it: HOST:PORT, comma-separated, or a name that
   * resolves to every operator replica (docs/adr/0018). Absent, each broker runs alone with a
   * controller of its own (the operator before issue #13).
   */
  readonly controllerAddress?: string;
  /**
   * What brokers advertise to clients: their pod's DNS name under the headless Service (`dns`,
   * the default), or the pod's IP (`pod-ip`, for clusters without DNS for pods).
   */
  readonly advertise?: 'dns' | 'pod-ip';
}

export interface DesiredChildren {
  readonly configMap: ConfigMap;
  readonly headlessService: Service;
  readonly bootstrapService: Service;
  readonly podDisruptionBudget: PodDisruptionBudget;
  readonly statefulSet: StatefulSet;
  /** Metadata only: the token is generated once, when the Secret is created ({@link withAdminToken}). */
  readonly adminSecret: Secret;
}

/** A Cluster read from the API: named, namespaced, with a uid (for owner references). */
export type StoredCluster = Cluster & { metadata: { namespace: string; uid?: string } };

/**
 * Every child of `cluster`, each with the Cluster as controller owner. `existing` is the
 * StatefulSet as it is now, if any: its volumeClaimTemplates cannot change once created, so they
 * are kept as they are (a bigger `storage.size` is applied to the PVCs themselves).
 */
export function desiredChildren(
  cluster: StoredCluster,
  options: ChildOptions,
  existing?: StatefulSet,
): DesiredChildren {
  const own = <T extends object>(child: T): T => withController(child, cluster);
  const properties = renderServerProperties(cluster.spec.config);
  return {
    configMap: own(configMap(cluster, properties)),
    headlessService: own(headlessService(cluster)),
    bootstrapService: own(bootstrapService(cluster)),
    podDisruptionBudget: own(podDisruptionBudget(cluster)),
    statefulSet: own(statefulSet(cluster, options, configHash(properties), existing)),
    adminSecret: own(adminSecret(cluster)),
  };
}

export function ports(cluster: Cluster): { kafka: number; admin: number } {
  return {
    kafka: cluster.spec.ports?.kafka ?? DEFAULT_KAFKA_PORT,
    admin: cluster.spec.ports?.admin ?? DEFAULT_ADMIN_PORT,
  };
}

export function topologyKey(cluster: Cluster): string {
  return cluster.spec.rack?.topologyKey ?? DEFAULT_TOPOLOGY_KEY;
}

function meta(cluster: StoredCluster, name: string) {
  return { name, namespace: cluster.metadata.namespace, labels: childLabels(cluster.metadata.name) };
}

function configMap(cluster: StoredCluster, properties: string): ConfigMap {
  const n = clusterNames(cluster.metadata.name);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(cluster, n.configMap),
    data: { [CONFIG_FILE_KEY]: properties },
  };
}

function headlessService(cluster: StoredCluster): Service {
  const n = clusterNames(cluster.metadata.name);
  const p = ports(cluster);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cluster, n.headlessService),
    spec: {
      clusterIP: 'None',
      // Brokers must find each other (replication, the controller) before they are ready.
      publishNotReadyAddresses: true,
      selector: selectorLabels(cluster.metadata.name),
      ports: [
        { name: 'kafka', port: p.kafka, targetPort: 'kafka', protocol: 'TCP' },
        { name: 'admin', port: p.admin, targetPort: 'admin', protocol: 'TCP' },
      ],
    },
  };
}

function bootstrapService(cluster: StoredCluster): Service {
  const n = clusterNames(cluster.metadata.name);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cluster, n.bootstrapService),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(cluster.metadata.name),
      ports: [{ name: 'kafka', port: ports(cluster).kafka, targetPort: 'kafka', protocol: 'TCP' }],
    },
  };
}

function podDisruptionBudget(cluster: StoredCluster): PodDisruptionBudget {
  const n = clusterNames(cluster.metadata.name);
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(cluster, n.podDisruptionBudget),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(cluster.metadata.name) } },
  };
}

function adminSecret(cluster: StoredCluster): Secret {
  const n = clusterNames(cluster.metadata.name);
  return { apiVersion: 'v1', kind: 'Secret', metadata: meta(cluster, n.adminSecret) };
}

/** The admin Secret as first created: `token` (base64 of `token`), type Opaque. */
export function withAdminToken(secret: Secret, token: string): Secret {
  return { ...secret, type: 'Opaque', data: { [ADMIN_TOKEN_KEY]: Buffer.from(token).toString('base64') } };
}

function statefulSet(
  cluster: StoredCluster,
  options: ChildOptions,
  hash: string,
  existing: StatefulSet | undefined,
): StatefulSet {
  const name = cluster.metadata.name;
  const n = clusterNames(name);
  const pod = cluster.spec.template?.pod;
  const metricsEnabled = cluster.spec.metrics?.enabled ?? true;
  const p = ports(cluster);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(cluster, n.statefulSet),
    spec: {
      replicas: cluster.spec.replicas,
      serviceName: n.headlessService,
      selector: { matchLabels: selectorLabels(name) },
      podManagementPolicy: 'Parallel',
      // The operator restarts brokers itself, one at a time, once partitions are in sync.
      updateStrategy: { type: 'OnDelete' },
      persistentVolumeClaimRetentionPolicy: {
        whenDeleted: cluster.spec.storage.deleteClaim ? 'Delete' : 'Retain',
        whenScaled: 'Retain',
      },
      template: {
        metadata: {
          labels: { ...pod?.metadata?.labels, ...childLabels(name) },
          annotations: {
            ...pod?.metadata?.annotations,
            [CONFIG_HASH_ANNOTATION]: hash,
            ...(metricsEnabled
              ? {
                  'prometheus.io/scrape': 'true',
                  'prometheus.io/port': String(p.admin),
                  'prometheus.io/path': '/metrics',
                }
              : {}),
          },
        },
        spec: podSpec(cluster, options, n),
      },
      volumeClaimTemplates: [
        {
          metadata: { name: n.volumeClaimTemplate, labels: childLabels(name) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: templateStorage(existing) ?? cluster.spec.storage.size } },
            storageClassName: cluster.spec.storage.storageClassName,
          },
        },
      ],
    },
  };
}

/** The size in the StatefulSet's volumeClaimTemplate, which the API server never lets change. */
function templateStorage(existing: StatefulSet | undefined): string | undefined {
  return existing?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.['storage'];
}

function podSpec(cluster: StoredCluster, options: ChildOptions, n: ClusterNames): PodSpec {
  const pod = cluster.spec.template?.pod;
  const selector = { matchLabels: selectorLabels(cluster.metadata.name) };
  const spread: TopologySpreadConstraint[] = [];
  // A user's affinity replaces the default spreading across nodes (see the CRD's description);
  // spreading across racks is rack awareness and stays.
  if (!pod?.affinity) {
    spread.push({
      maxSkew: 1,
      topologyKey: HOSTNAME_KEY,
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: selector,
    });
  }
  if (topologyKey(cluster) !== HOSTNAME_KEY) {
    spread.push({
      maxSkew: 1,
      topologyKey: topologyKey(cluster),
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: selector,
    });
  }
  return {
    containers: [brokerContainer(cluster, options, n)],
    volumes: [
      { name: 'config', configMap: { name: n.configMap } },
      { name: 'admin-token', secret: { secretName: n.adminSecret, defaultMode: 0o400 } },
    ],
    securityContext: pod?.securityContext ?? defaultSecurityContext(),
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    // Brokers never call the Kubernetes API.
    automountServiceAccountToken: false,
    // Service links would put `<SERVICE>_PORT`-style variables in the environment; for Services
    // named `tributary-…` they would read as TRIBUTARY_* broker properties.
    enableServiceLinks: false,
    topologySpreadConstraints: spread,
    affinity: pod?.affinity,
    nodeSelector: pod?.nodeSelector,
    tolerations: pod?.tolerations,
    priorityClassName: pod?.priorityClassName,
    imagePullSecrets: pod?.imagePullSecrets,
  };
}

function defaultSecurityContext(): PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: BROKER_UID,
    runAsGroup: BROKER_UID,
    fsGroup: BROKER_UID,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function brokerContainer(cluster: StoredCluster, options: ChildOptions, n: ClusterNames): Container {
  const p = ports(cluster);
  return {
    name: 'broker',
    image: cluster.spec.image ?? options.image,
    imagePullPolicy: cluster.spec.imagePullPolicy,
    command: ['tributary'],
    args: [
      'broker',
      '--config',
      BROKER_PATHS.configFile,
      '--data-dir',
      BROKER_PATHS.dataDir,
      '--listen',
      `0.0.0.0:${p.kafka}`,
      '--admin-listen',
      `0.0.0.0:${p.admin}`,
    ],
    env: brokerEnv(cluster, options),
    ports: [
      { name: 'kafka', containerPort: p.kafka, protocol: 'TCP' },
      { name: 'admin', containerPort: p.admin, protocol: 'TCP' },
    ],
    resources: resources(cluster),
    volumeMounts: [
      { name: n.volumeClaimTemplate, mountPath: BROKER_PATHS.volume },
      { name: 'config', mountPath: BROKER_PATHS.configDir, readOnly: true },
      { name: 'admin-token', mountPath: BROKER_PATHS.adminDir, readOnly: true },
    ],
    // No liveness checks until the admin port answers: it opens only after log recovery.
    startupProbe: { httpGet: { path: '/healthz', port: 'admin' }, ...STARTUP_PROBE, timeoutSeconds: 5 },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'admin' },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: '/readyz', port: 'admin' },
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  };
}

/** The broker's identity from the pod (see the module comment); every name is a broker property's. */
function brokerEnv(cluster: StoredCluster, options: ChildOptions): EnvVar[] {
  const host =
    options.advertise === 'pod-ip'
      ? '$(POD_IP)'
      : brokerHost(cluster.metadata.name, cluster.metadata.namespace, '$(POD_NAME)', options.clusterDomain);
  const env: EnvVar[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    {
      name: 'TRIBUTARY_NODE_ID',
      valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POD_INDEX_LABEL}']` } },
    },
    { name: 'TRIBUTARY_ADVERTISED_LISTENERS', value: `${host}:${ports(cluster).kafka}` },
  ];
  if (options.controllerAddress) {
    env.push(
      { name: 'TRIBUTARY_CONTROLLER_ADDRESS', value: options.controllerAddress },
      { name: 'TRIBUTARY_CONTROLLER_TOKEN_FILE', value: `${BROKER_PATHS.adminDir}/${ADMIN_TOKEN_KEY}` },
    );
  }
  const key = topologyKey(cluster);
  if (POD_TOPOLOGY_LABELS.includes(key)) {
    env.push({
      name: 'TRIBUTARY_BROKER_RACK',
      valueFrom: { fieldRef: { fieldPath: `metadata.labels['${key}']` } },
    });
  }
  return env;
}

function resources(cluster: Cluster): ResourceRequirements | undefined {
  const r = cluster.spec.resources;
  if (!r) return undefined;
  const quantities = (m: Record<string, string | number> | undefined) =>
    m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
  return { limits: quantities(r.limits), requests: quantities(r.requests), claims: r.claims };
}
