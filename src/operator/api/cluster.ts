/**
 * `Cluster`: a set of brokers run as one StatefulSet, and (in its status) the cluster's broker
 * registry, which the operator keeps as the metadata controller (DESIGN.md: "broker registry in
 * Cluster.status").
 */
import Type, { type Static } from 'typebox';
import type { PodSecurityContext } from 'kubernetes-types/core/v1.d.ts';
import { Affinity } from './affinity.ts';
import { CLUSTER_NAME, ConfigMap, statusOf } from './meta.ts';
import { compareQuantityText, parseQuantity } from './quantity.ts';
import { defineResource, type ResourceObject } from './resource.ts';
import {
  Annotations,
  CLOSED,
  DNS_SUBDOMAIN_PATTERN,
  Int32,
  Int64,
  IntOrStringQuantity,
  KubernetesObject,
  LabelKey,
  LabelValue,
  Labels,
  QUANTITY_PATTERN,
  StringEnum,
  StringMap,
  withRules,
} from './schema.ts';

/**
 * The most brokers a Cluster may have. Every broker has an entry in the Cluster's status (the broker
 * registry, in one object of at most 1.5 MiB in etcd) and is sent every metadata image; a few hundred
 * is already past the largest Kafka clusters run as one.
 */
export const MAX_BROKERS = 256;

/**
 * Broker configs the operator sets per broker from the Cluster and the pod; accepting them in
 * spec.config would either be ignored or break the cluster, so the API server refuses them.
 */
export const OPERATOR_OWNED_BROKER_CONFIGS = [
  'broker.id',
  'node.id',
  'broker.rack',
  'listeners',
  'advertised.listeners',
  'log.dir',
  'log.dirs',
] as const;

/** A quantity (text) greater than zero. */
const isPositiveQuantity = (text: string): boolean => (parseQuantity(text)?.sign ?? 0) > 0;

const Storage = withRules(
  Type.Object(
    {
      size: withRules(
        Type.String({
          description: 'Size of each broker\'s volume, a quantity such as "100Gi". May grow, never shrink.',
          maxLength: 64,
          pattern: QUANTITY_PATTERN,
        }),
        [
          {
            rule: "isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))",
            message: 'storage.size must be a positive quantity, such as 100Gi',
            check: isPositiveQuantity,
          },
        ],
      ),
      storageClassName: Type.Optional(
        Type.String({
          description:
            "StorageClass of the volumes; the cluster's default class when absent. Cannot be changed.",
          maxLength: 253,
          pattern: DNS_SUBDOMAIN_PATTERN,
        }),
      ),
      deleteClaim: Type.Optional(
        Type.Boolean({
          description: 'Delete the volumes (and the data) when the Cluster is deleted.',
          default: false,
        }),
      ),
    },
    { description: 'One PersistentVolumeClaim per broker.', ...CLOSED },
  ),
  [
    {
      rule: '!isQuantity(self.size) || !isQuantity(oldSelf.size) || quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0',
      message: 'storage.size cannot shrink: a volume can only be expanded',
      fieldPath: '.size',
      reason: 'FieldValueForbidden',
      check: (self, oldSelf) => (compareQuantityText(self.size, oldSelf.size) ?? 0) >= 0,
    },
    {
      rule:
        'has(self.storageClassName) == has(oldSelf.storageClassName) && ' +
        '(!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
      message: 'storage.storageClassName cannot be changed: the volumes already exist',
      fieldPath: '.storageClassName',
      reason: 'FieldValueForbidden',
      check: (self, oldSelf) => self.storageClassName === oldSelf.storageClassName,
    },
  ],
);

const ResourceList = (description: string) =>
  StringMap(IntOrStringQuantity(), { description, maxProperties: 32 });

/** corev1.ResourceRequirements for the broker container. */
const Resources = withRules(
  Type.Object(
    {
      limits: Type.Optional(ResourceList('The most of each resource a broker may use.')),
      requests: Type.Optional(ResourceList('The resources reserved for each broker.')),
      claims: Type.Optional(
        Type.Array(
          Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 253 }),
              request: Type.Optional(Type.String({ maxLength: 253 })),
            },
            CLOSED,
          ),
          {
            description: 'Dynamically allocated resources (ResourceClaims of the pod) the broker uses.',
            maxItems: 16,
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
          },
        ),
      ),
    },
    { description: 'CPU and memory of each broker container (a core ResourceRequirements).', ...CLOSED },
  ),
  [
    {
      rule:
        '!has(self.limits) || !has(self.requests) || self.requests.all(k, !(k in self.limits) || ' +
        '!isQuantity(string(self.requests[k])) || !isQuantity(string(self.limits[k])) || ' +
        'quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)',
      message: 'a resource request cannot exceed its limit',
      fieldPath: '.requests',
      check: (self) =>
        Object.entries(self.requests ?? {}).every(([k, v]) => {
          const limit = self.limits?.[k];
          return limit === undefined || (compareQuantityText(v, limit) ?? -1) <= 0;
        }),
    },
  ],
);

const Toleration = withRules(
  Type.Object(
    {
      key: Type.Optional(
        LabelKey({ description: "The taint's key; every taint's when empty (with operator Exists)." }),
      ),
      operator: Type.Optional(
        StringEnum(['Exists', 'Equal'] as const, { description: 'Equal when absent.' }),
      ),
      value: Type.Optional(LabelValue({ description: "The taint's value, with operator Equal." })),
      effect: Type.Optional(
        StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const, {
          description: 'The effect tolerated; every effect when absent.',
        }),
      ),
      tolerationSeconds: Type.Optional(
        Int64({ description: 'How long a NoExecute taint is tolerated; for ever when absent.' }),
      ),
    },
    CLOSED,
  ),
  [
    {
      rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
      message: 'value must be empty with operator Exists, which tolerates every value',
      fieldPath: '.value',
      check: (self) => self.operator !== 'Exists' || !self.value,
    },
    {
      rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
      message: 'operator must be Exists when key is empty, which tolerates every taint',
      fieldPath: '.operator',
      check: (self) => Boolean(self.key) || self.operator === 'Exists',
    },
    {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: 'effect must be NoExecute when tolerationSeconds is set',
      fieldPath: '.effect',
      check: (self) => self.tolerationSeconds === undefined || self.effect === 'NoExecute',
    },
  ],
);

const PodTemplate = Type.Object(
  {
    metadata: Type.Optional(
      Type.Object(
        {
          labels: Type.Optional(Labels({ maxProperties: 64 })),
          annotations: Type.Optional(
            Annotations({
              description: 'At most 256 KiB, keys and values together, as Kubernetes allows.',
              maxProperties: 64,
            }),
          ),
        },
        { description: 'Labels and annotations added to the broker pods.', ...CLOSED },
      ),
    ),
    nodeSelector: Type.Optional(
      Labels({ description: 'Node labels the brokers must run on.', maxProperties: 64 }),
    ),
    tolerations: Type.Optional(
      Type.Array(Toleration, { description: 'Taints the brokers tolerate.', maxItems: 64 }),
    ),
    affinity: Type.Optional(
      Affinity({
        description: 'A core Affinity for the broker pods, replacing the default spreading across nodes.',
      }),
    ),
    priorityClassName: Type.Optional(
      Type.String({
        description: 'PriorityClass of the broker pods.',
        maxLength: 253,
        pattern: DNS_SUBDOMAIN_PATTERN,
      }),
    ),
    securityContext: Type.Optional(
      KubernetesObject<PodSecurityContext>({ description: 'A core PodSecurityContext for the broker pods.' }),
    ),
    imagePullSecrets: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) }, CLOSED), {
        description: 'Secrets to pull the image with.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
  },
  { description: 'How the broker pods are scheduled and labelled.', ...CLOSED },
);

const Port = (description: string, port: number) =>
  Type.Optional(Int32({ description, minimum: 1, maximum: 65535, default: port }));

const Ports = withRules(
  Type.Object(
    {
      kafka: Port('Kafka protocol port: clients and replication.', 9092),
      admin: Port('Admin HTTP port: health, metrics and the controller.', 9644),
    },
    { description: 'Ports the brokers listen on.', default: {}, ...CLOSED },
  ),
  [
    {
      rule: '!has(self.kafka) || !has(self.admin) || self.kafka != self.admin',
      message: 'ports.kafka and ports.admin must differ',
      check: (self) => self.kafka === undefined || self.kafka !== self.admin,
    },
  ],
);

const ClusterSpecObject = Type.Object(
  {
    replicas: Int32({
      description: `Number of brokers, 1 to ${MAX_BROKERS}.`,
      minimum: 1,
      maximum: MAX_BROKERS,
    }),
    image: Type.Optional(
      Type.String({
        description: "Broker image; the operator's own image when absent.",
        minLength: 1,
        maxLength: 1024,
      }),
    ),
    imagePullPolicy: Type.Optional(StringEnum(['Always', 'IfNotPresent', 'Never'] as const)),
    resources: Type.Optional(Resources),
    storage: Storage,
    config: Type.Optional(
      ConfigMap(
        'Broker config defaults, Kafka property names to string values ("log.retention.hours": "72").',
        512,
      ),
    ),
    rack: Type.Optional(
      Type.Object(
        {
          topologyKey: Type.Optional(
            LabelKey({
              description: "Node label whose value is the broker's rack (replicas are spread across racks).",
              minLength: 1,
              default: 'topology.kubernetes.io/zone',
            }),
          ),
        },
        { description: 'Rack awareness: where each broker runs.', default: {}, ...CLOSED },
      ),
    ),
    ports: Type.Optional(Ports),
    metrics: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({ description: 'Serve Prometheus metrics on the admin port.', default: true }),
          ),
        },
        { description: 'Prometheus metrics.', default: {}, ...CLOSED },
      ),
    ),
    discovery: Type.Optional(
      Type.Object(
        {
          topics: Type.Optional(
            Type.Boolean({
              description:
                'Topics created in the cluster (by Kafka clients or tools) appear as Topic resources labelled tributary.dev/discovered.',
              default: true,
            }),
          ),
          internalTopics: Type.Optional(
            Type.Boolean({
              description: 'Internal topics (__consumer_offsets) appear as Topic resources too.',
              default: false,
            }),
          ),
          consumerGroups: Type.Optional(
            Type.Boolean({
              description:
                'Consumer groups that exist in the cluster appear as ConsumerGroup resources labelled tributary.dev/discovered.',
              default: true,
            }),
          ),
        },
        {
          description: 'What the operator mirrors from the cluster into Kubernetes resources.',
          default: {},
          ...CLOSED,
        },
      ),
    ),
    template: Type.Optional(
      Type.Object(
        { pod: Type.Optional(PodTemplate) },
        { description: 'Customises what the operator creates.', ...CLOSED },
      ),
    ),
  },
  { description: 'The desired cluster.', ...CLOSED },
);

export const ClusterSpec = withRules(
  ClusterSpecObject,
  // One rule per key, on the spec so that the refusal names the key (`spec.config[broker.id]`).
  OPERATOR_OWNED_BROKER_CONFIGS.map((key) => ({
    rule: `!has(self.config) || !('${key}' in self.config)`,
    message: `${key} cannot be set: the operator sets it for each broker`,
    fieldPath: `.config['${key}']`,
    reason: 'FieldValueForbidden' as const,
    check: (self: { config?: Record<string, string> }) => !Object.hasOwn(self.config ?? {}, key),
  })),
);
export type ClusterSpec = Static<typeof ClusterSpec>;

export const BrokerRegistration = Type.Object(
  {
    id: Int32({ description: 'Broker id (the pod ordinal).', minimum: 0 }),
    address: Type.String({ description: 'host:port of its Kafka listener.', maxLength: 512 }),
    rack: Type.Optional(
      Type.String({ description: "Rack, from its node's topology label.", maxLength: 253 }),
    ),
    incarnation: Type.String({ description: 'Random id the broker chose when it started.', maxLength: 64 }),
    epoch: Int64({ description: 'Broker epoch the controller gave this incarnation.', minimum: 0 }),
    state: StringEnum(['Active', 'Fenced', 'ShuttingDown'] as const, {
      description: 'Active: serves; Fenced: lost or not caught up; ShuttingDown: handing over leaderships.',
    }),
  },
  CLOSED,
);
export type BrokerRegistration = Static<typeof BrokerRegistration>;

export const ClusterStatus = statusOf(
  {
    replicas: Type.Optional(Int32({ description: 'Brokers that exist.', minimum: 0 })),
    readyReplicas: Type.Optional(Int32({ description: 'Brokers that are ready.', minimum: 0 })),
    selector: Type.Optional(
      Type.String({ description: "The brokers' pods, as a label selector (for the scale subresource)." }),
    ),
    bootstrapServers: Type.Optional(Type.String({ description: 'Address clients bootstrap from.' })),
    clusterId: Type.Optional(Type.String({ description: 'Kafka cluster id.' })),
    metadataVersion: Type.Optional(
      Int64({ description: 'Version of the metadata image last pushed to the brokers.', minimum: 0 }),
    ),
    brokers: Type.Optional(
      Type.Array(BrokerRegistration, {
        description: 'Broker registry: every registered broker.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['id'],
      }),
    ),
  },
  'The observed cluster and its broker registry, written by the operator.',
);
export type ClusterStatus = Static<typeof ClusterStatus>;

export const ClusterResource = defineResource({
  kind: 'Cluster',
  plural: 'clusters',
  shortNames: ['tc'],
  description: 'A Tributary cluster: brokers speaking the Kafka protocol, run by the operator.',
  spec: ClusterSpec,
  status: ClusterStatus,
  rules: [CLUSTER_NAME],
  // `kubectl scale cluster/x --replicas=5` sets spec.replicas.
  scale: {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.status.selector',
  },
  printerColumns: [
    { name: 'Brokers', type: 'integer', jsonPath: '.spec.replicas', description: 'Desired brokers.' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready brokers.' },
    { name: 'Bootstrap', type: 'string', jsonPath: '.status.bootstrapServers' },
    {
      name: 'Status',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      priority: 1,
    },
    { name: 'Cluster ID', type: 'string', jsonPath: '.status.clusterId', priority: 1 },
  ],
});
export type Cluster = ResourceObject<ClusterSpec, ClusterStatus>;
