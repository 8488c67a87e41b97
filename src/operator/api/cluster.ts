/**
 * `Cluster`: a set of brokers run as one StatefulSet, and (in its status) the cluster's broker
 * registry, which the operator keeps as the metadata controller (DESIGN.md: "broker registry in
 * Cluster.status").
 */
import Type, { type Static } from 'typebox';
import type { Affinity, PodSecurityContext } from 'kubernetes-types/core/v1.d.ts';
import { ConfigMap, statusOf } from './meta.ts';
import { compareQuantityText, parseQuantity } from './quantity.ts';
import { defineResource, type ResourceObject } from './resource.ts';
import {
  CLOSED,
  Int32,
  Int64,
  IntOrStringQuantity,
  KubernetesObject,
  QUANTITY_PATTERN,
  StringEnum,
  StringMap,
  withRules,
} from './schema.ts';

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

const celList = (values: readonly string[]): string => `[${values.map((v) => `'${v}'`).join(', ')}]`;

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

const TolerationSchema = Type.Object(
  {
    key: Type.Optional(Type.String({ maxLength: 317 })),
    operator: Type.Optional(StringEnum(['Exists', 'Equal'] as const)),
    value: Type.Optional(Type.String({ maxLength: 63 })),
    effect: Type.Optional(StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const)),
    tolerationSeconds: Type.Optional(Int64()),
  },
  CLOSED,
);

const PodTemplate = Type.Object(
  {
    metadata: Type.Optional(
      Type.Object(
        {
          labels: Type.Optional(StringMap(Type.String({ maxLength: 63 }))),
          annotations: Type.Optional(StringMap(Type.String())),
        },
        { description: 'Labels and annotations added to the broker pods.', ...CLOSED },
      ),
    ),
    nodeSelector: Type.Optional(
      StringMap(Type.String(), { description: 'Node labels the brokers must run on.' }),
    ),
    tolerations: Type.Optional(Type.Array(TolerationSchema, { description: 'Taints the brokers tolerate.' })),
    affinity: Type.Optional(
      KubernetesObject<Affinity>({
        description: 'A core Affinity for the broker pods, replacing the default spreading across nodes.',
      }),
    ),
    priorityClassName: Type.Optional(
      Type.String({ description: 'PriorityClass of the broker pods.', maxLength: 253 }),
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

export const ClusterSpec = Type.Object(
  {
    replicas: Int32({ description: 'Number of brokers.', minimum: 1 }),
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
      withRules(
        ConfigMap(
          'Broker config defaults, Kafka property names to string values ("log.retention.hours": "72").',
          512,
        ),
        [
          {
            rule: `!self.exists(k, k in ${celList(OPERATOR_OWNED_BROKER_CONFIGS)})`,
            message: `config cannot set ${OPERATOR_OWNED_BROKER_CONFIGS.join(', ')}: the operator sets them for each broker`,
            reason: 'FieldValueForbidden',
            check: (self) => !OPERATOR_OWNED_BROKER_CONFIGS.some((k) => k in self),
          },
        ],
      ),
    ),
    rack: Type.Optional(
      Type.Object(
        {
          topologyKey: Type.Optional(
            Type.String({
              description: "Node label whose value is the broker's rack (replicas are spread across racks).",
              minLength: 1,
              maxLength: 317,
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

/**
 * Names of the StatefulSet, Services and pods derive from the Cluster's name; a DNS-1035 label of at
 * most this length leaves room for their suffixes and the StatefulSet's revision hash (63 in all).
 */
export const CLUSTER_NAME_MAX_LENGTH = 40;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const ClusterResource = defineResource({
  kind: 'Cluster',
  plural: 'clusters',
  shortNames: ['tc'],
  description: 'A Tributary cluster: brokers speaking the Kafka protocol, run by the operator.',
  spec: ClusterSpec,
  status: ClusterStatus,
  rules: [
    {
      rule: `self.metadata.name.size() <= ${CLUSTER_NAME_MAX_LENGTH} && self.metadata.name.matches('${DNS_1035_LABEL.source}')`,
      message: `a Cluster name is a DNS label of at most ${CLUSTER_NAME_MAX_LENGTH} characters starting with a letter: it names the brokers' StatefulSet and Services`,
      fieldPath: '.metadata.name',
      check: (self) =>
        self.metadata.name.length <= CLUSTER_NAME_MAX_LENGTH && DNS_1035_LABEL.test(self.metadata.name),
    },
  ],
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
