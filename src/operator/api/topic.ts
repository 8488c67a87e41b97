/**
 * `Topic`: a Kafka topic of a Cluster, and (in its status) the state of its partitions, which the
 * operator keeps as the metadata controller (DESIGN.md: "partition state lives in Topic.status").
 */
import type { PartitionState as ImagePartitionState } from '../../controller/image.ts';
import Type, { type Static } from 'typebox';
import { ClusterRef, ConfigMap, TOPIC_NAME_MAX_LENGTH, TopicName, statusOf } from './meta.ts';
import { defineResource, type ResourceObject } from './resource.ts';
import { CLOSED, Int32, StringEnum, withRules } from './schema.ts';

export const DELETION_POLICIES = ['Retain', 'Delete'] as const;

export const CLEANUP_POLICIES = ['delete', 'compact', 'compact,delete', 'delete,compact'] as const;

const MIN_ISR = 'min.insync.replicas';

const TopicConfig = ConfigMap(
  'Topic configs, Kafka property names to string values ("retention.ms": "86400000").',
  256,
);

export const TopicSpec = withRules(
  Type.Object(
    {
      clusterRef: ClusterRef,
      topicName: Type.Optional(
        TopicName({
          description:
            "The topic's name in Kafka, when it cannot be the resource name (dots and underscores are allowed here). Cannot be changed. An internal topic (__consumer_offsets) is only ever shown by a discovered Topic.",
          internal: true,
        }),
      ),
      partitions: withRules(
        Int32({ description: 'Number of partitions. May grow, never shrink.', minimum: 1 }),
        [
          {
            rule: 'self >= oldSelf',
            message: 'partitions cannot decrease: Kafka cannot remove partitions',
            reason: 'FieldValueForbidden',
            check: (self, oldSelf) => self >= oldSelf,
          },
        ],
      ),
      replicationFactor: withRules(
        Int32({ description: 'Copies of each partition. Cannot be changed.', minimum: 1, maximum: 32767 }),
        [
          {
            rule: 'self == oldSelf',
            message: 'replicationFactor cannot be changed',
            reason: 'FieldValueForbidden',
            check: (self, oldSelf) => self === oldSelf,
          },
        ],
      ),
      config: Type.Optional(TopicConfig),
      deletionPolicy: Type.Optional(
        StringEnum(DELETION_POLICIES, {
          description:
            'What deleting this resource does to the topic: Retain keeps the topic and its data (it reappears as a discovered Topic), Delete deletes them. docs/adr/0019.',
          default: 'Retain',
        }),
      ),
    },
    { description: 'The desired topic.', ...CLOSED },
  ),
  // On the spec rather than the config map, so that a refusal names the key: `spec.config[cleanup.policy]`
  // (the API server writes a fieldPath that starts with a key, `['cleanup.policy']`, as `config.[…]`).
  [
    {
      rule:
        "!has(self.config) || !('cleanup.policy' in self.config) || " +
        `self.config['cleanup.policy'] in [${CLEANUP_POLICIES.map((p) => `'${p}'`).join(', ')}]`,
      message: `cleanup.policy must be one of ${CLEANUP_POLICIES.join(', ')}`,
      fieldPath: ".config['cleanup.policy']",
      check: (self) => {
        const policy = self.config?.['cleanup.policy'];
        return policy === undefined || (CLEANUP_POLICIES as readonly string[]).includes(policy);
      },
    },
    {
      rule:
        `!has(self.config) || !('${MIN_ISR}' in self.config) || ` +
        `(self.config['${MIN_ISR}'].matches('^[0-9]{1,5}$') && int(self.config['${MIN_ISR}']) >= 1 && ` +
        `int(self.config['${MIN_ISR}']) <= self.replicationFactor)`,
      message: `${MIN_ISR} must be a whole number from 1 to replicationFactor`,
      fieldPath: `.config['${MIN_ISR}']`,
      check: (self) => {
        const value = self.config?.[MIN_ISR];
        return (
          value === undefined ||
          (/^[0-9]{1,5}$/.test(value) && +value >= 1 && +value <= self.replicationFactor)
        );
      },
    },
  ],
);
export type TopicSpec = Static<typeof TopicSpec>;

const BrokerIds = (description: string) =>
  Type.Array(Int32({ minimum: 0 }), { description, 'x-kubernetes-list-type': 'atomic' });

export const PartitionState = Type.Object(
  {
    partition: Int32({ minimum: 0 }),
    leader: Int32({ description: 'Broker id of the leader; -1 when there is none.', minimum: -1 }),
    leaderEpoch: Int32({ description: 'Bumped at every change of leader.', minimum: 0 }),
    partitionEpoch: Int32({ description: 'Bumped at every change of leader, replicas or ISR.', minimum: 0 }),
    replicas: BrokerIds('Broker ids holding a replica, the preferred leader first.'),
    isr: BrokerIds('In-sync replicas.'),
    addingReplicas: Type.Optional(
      BrokerIds('While a reassignment is in progress: the replicas joining, not all in the ISR yet.'),
    ),
    removingReplicas: Type.Optional(
      BrokerIds('While a reassignment is in progress: the replicas leaving once it completes.'),
    ),
  },
  CLOSED,
);
export type PartitionState = Static<typeof PartitionState>;

/**
 * Topic.status holds the controller's own partition state (src/controller/image.ts): the two types
 * must be the same, or this line stops compiling.
 */
export const PARTITION_STATUS_IS_THE_IMAGE: SameType<PartitionState, ImagePartitionState> = true;
type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const TopicStatus = statusOf(
  {
    topicName: Type.Optional(Type.String({ description: 'The topic name in Kafka.' })),
    topicId: Type.Optional(Type.String({ description: 'Kafka topic id.' })),
    underReplicatedPartitions: Type.Optional(
      Int32({ description: 'Partitions whose ISR is smaller than their replica set.', minimum: 0 }),
    ),
    partitions: Type.Optional(
      Type.Array(PartitionState, {
        description: 'Replicas, leader and ISR of each partition.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['partition'],
      }),
    ),
  },
  'The observed topic and its partition state, written by the operator.',
);
export type TopicStatus = Static<typeof TopicStatus>;

export const TopicResource = defineResource({
  kind: 'Topic',
  plural: 'topics',
  shortNames: ['ttopic'],
  description: 'A Kafka topic of a Tributary cluster.',
  spec: TopicSpec,
  status: TopicStatus,
  rules: [
    {
      rule: `has(self.spec.topicName) || self.metadata.name.size() <= ${TOPIC_NAME_MAX_LENGTH}`,
      message: `the resource name is the topic name and is longer than ${TOPIC_NAME_MAX_LENGTH} characters: set spec.topicName`,
      fieldPath: '.spec',
      check: (self) =>
        self.spec.topicName !== undefined || self.metadata.name.length <= TOPIC_NAME_MAX_LENGTH,
    },
    {
      rule:
        '(has(self.spec.topicName) ? self.spec.topicName : self.metadata.name) == ' +
        '(has(oldSelf.spec.topicName) ? oldSelf.spec.topicName : oldSelf.metadata.name)',
      message: 'the topic name cannot be changed: Kafka cannot rename a topic',
      fieldPath: '.spec.topicName',
      reason: 'FieldValueForbidden',
      check: (self, oldSelf) =>
        (self.spec.topicName ?? self.metadata.name) === (oldSelf.spec.topicName ?? oldSelf.metadata.name),
    },
  ],
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterRef.name' },
    { name: 'Partitions', type: 'integer', jsonPath: '.spec.partitions' },
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicationFactor' },
    { name: 'Under-replicated', type: 'integer', jsonPath: '.status.underReplicatedPartitions' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Topic', type: 'string', jsonPath: '.status.topicName', priority: 1 },
  ],
});
export type Topic = ResourceObject<TopicSpec, TopicStatus>;
