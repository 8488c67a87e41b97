/**
 * Shapes shared by the three resources: the group and version, object metadata, status conditions
 * (metav1.Condition), the reference to a Cluster, Kafka topic names and config maps.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { CLOSED, Int64, StringEnum, StringMap, Timestamp, withRules, type CelRule } from './schema.ts';

export const GROUP = 'tributary.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** `kubectl get tributary` lists every Tributary resource. */
export const CATEGORY = 'tributary';

/**
 * What the validator checks of metadata; the API server checks the rest. Open to every other
 * ObjectMeta field (uid, resourceVersion, managedFields, …) because objects read back carry them.
 */
export const ObjectMeta = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253 }),
  namespace: Type.Optional(Type.String()),
  labels: Type.Optional(StringMap(Type.String())),
  annotations: Type.Optional(StringMap(Type.String())),
  generation: Type.Optional(Type.Integer()),
});
export type ObjectMeta = Static<typeof ObjectMeta>;

/** metav1.Condition, with the same constraints as the upstream type. */
export const Condition = Type.Object(
  {
    type: Type.String({
      description: 'Type of condition in CamelCase: Ready, Progressing or Degraded.',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: StringEnum(['True', 'False', 'Unknown'] as const),
    observedGeneration: Type.Optional(
      Int64({ minimum: 0, description: 'The metadata.generation the condition was set from.' }),
    ),
    lastTransitionTime: Timestamp({ description: 'When the condition last changed status.' }),
    reason: Type.String({
      description: 'Why the condition is in its status, in CamelCase, for programs.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: Type.String({ description: 'Details for people; may be empty.', maxLength: 32768 }),
  },
  CLOSED,
);
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  description: 'The latest observations of the resource: Ready, Progressing, Degraded.',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

export const ObservedGeneration = Int64({
  minimum: 0,
  description: 'The metadata.generation the operator last acted on.',
});

/**
 * Names of the StatefulSet, Services and pods derive from the Cluster's name; a DNS-1035 label of at
 * most this length leaves room for their suffixes and the StatefulSet's revision hash (63 in all).
 */
export const CLUSTER_NAME_MAX_LENGTH = 40;
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function isValidClusterName(name: string): boolean {
  return name.length <= CLUSTER_NAME_MAX_LENGTH && DNS_1035_LABEL.test(name);
}

const CLUSTER_NAME_CEL = (self: string) =>
  `${self}.size() <= ${CLUSTER_NAME_MAX_LENGTH} && ${self}.matches('${DNS_1035_LABEL.source}')`;
const CLUSTER_NAME_RULE = `a DNS label of at most ${CLUSTER_NAME_MAX_LENGTH} characters starting with a letter`;

/** The rule on a Cluster's own name (for its root, where `self` is the object). */
export const CLUSTER_NAME: CelRule<{ metadata: { name: string } }> = {
  rule: CLUSTER_NAME_CEL('self.metadata.name'),
  message: `a Cluster name is ${CLUSTER_NAME_RULE}: it names the brokers' StatefulSet and Services`,
  fieldPath: '.metadata.name',
  check: (self) => isValidClusterName(self.metadata.name),
};

/** The Cluster a Topic or ConsumerGroup belongs to; it cannot move to another. */
export const ClusterRef = withRules(
  Type.Object(
    {
      // Stricter than a resource name: a name no Cluster can have is a mistake, not a Cluster to come.
      name: withRules(
        Type.String({
          description: 'Name of a Cluster in the same namespace.',
          minLength: 1,
          maxLength: 253,
        }),
        [
          {
            rule: CLUSTER_NAME_CEL('self'),
            message: `clusterRef.name must be the name of a Cluster: ${CLUSTER_NAME_RULE}`,
            check: isValidClusterName,
          },
        ],
      ),
    },
    { description: 'The Cluster this belongs to, in the same namespace. Cannot be changed.', ...CLOSED },
  ),
  [
    {
      rule: 'self == oldSelf',
      message: 'clusterRef cannot be changed: create a new resource for the other cluster',
      reason: 'FieldValueForbidden',
      check: (self, oldSelf) => self.name === oldSelf.name,
    },
  ],
);
export type ClusterRef = Static<typeof ClusterRef>;

/** Kafka's rule for topic names (org.apache.kafka.common.internals.Topic.validate). */
export const TOPIC_NAME_MAX_LENGTH = 249;
const TOPIC_NAME_CHARS = /^[a-zA-Z0-9._-]+$/;
/** Internal topics of the group coordinator and transactions: never managed through a Topic. */
export const RESERVED_TOPIC_NAMES = ['__consumer_offsets', '__transaction_state'] as const;

const RESERVED_TOPIC_RULE = `!(self in [${RESERVED_TOPIC_NAMES.map((n) => `'${n}'`).join(', ')}])`;

export function isReservedTopicName(name: string): boolean {
  return (RESERVED_TOPIC_NAMES as readonly string[]).includes(name);
}

export function isValidTopicName(name: string): boolean {
  return (
    name.length >= 1 &&
    name.length <= TOPIC_NAME_MAX_LENGTH &&
    TOPIC_NAME_CHARS.test(name) &&
    name !== '.' &&
    name !== '..'
  );
}

/** A Kafka topic name; internal topics' names are refused unless `internal` says they may be named. */
export function TopicName(options: { description?: string; internal?: boolean } = {}) {
  const { internal, ...schema } = options;
  return withRules(Type.String({ minLength: 1, maxLength: TOPIC_NAME_MAX_LENGTH, ...schema }), [
    {
      rule: "self.matches('^[a-zA-Z0-9._-]+$') && self != '.' && self != '..'",
      message:
        "a Kafka topic name is 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-', and not '.' or '..'",
      check: (self) => isValidTopicName(self),
    },
    ...(internal
      ? []
      : [
          {
            rule: RESERVED_TOPIC_RULE,
            message: `${RESERVED_TOPIC_NAMES.join(' and ')} are internal topics`,
            check: (self: string) => !isReservedTopicName(self),
          },
        ]),
  ]);
}

/**
 * Kafka configs as Kafka spells them: property name to string value, as in a .properties file. The
 * bound keeps the API server's CEL cost estimate for rules over the map finite.
 */
export function ConfigMap(description: string, maxProperties: number) {
  return StringMap(Type.String({ maxLength: 4096 }), { description, maxProperties });
}

/** The status fields every resource has. */
export function statusOf<P extends Record<string, TSchema>>(properties: P, description: string) {
  return Type.Object(
    {
      observedGeneration: Type.Optional(ObservedGeneration),
      conditions: Type.Optional(Conditions),
      ...properties,
    },
    { description, ...CLOSED },
  );
}
