/**
 * `ConsumerGroup`: a Kafka consumer group of a Cluster, observed (state, members, committed offsets,
 * lag) and, on request, reset.
 *
 * An offset reset is a request, not a state: GitOps tools re-apply the same spec forever, so each
 * request carries a `requestId`, the operator carries out each id once, and echoes it in
 * `status.offsetReset` with the outcome. A new reset is a new id; editing a request under the same
 * id is refused, since it might already have been carried out.
 */
import Type, { type Static } from 'typebox';
import { ClusterRef, TopicName, statusOf } from './meta.ts';
import { defineResource, type ResourceObject } from './resource.ts';
import { CLOSED, Int32, Int64, StringEnum, Timestamp, withRules } from './schema.ts';

export const OFFSET_RESET_TARGETS = ['earliest', 'latest', 'timestamp', 'offset'] as const;

export const OffsetReset = withRules(
  Type.Object(
    {
      requestId: Type.String({
        description: 'Names this request: it is carried out once, and a new id makes a new request.',
        minLength: 1,
        maxLength: 63,
      }),
      to: StringEnum(OFFSET_RESET_TARGETS, {
        description:
          'earliest or latest offset; the first offset at or after `timestamp`; or `offset` itself (clamped to the log).',
      }),
      timestamp: Type.Optional(Timestamp({ description: 'With to: timestamp.' })),
      offset: Type.Optional(Int64({ description: 'With to: offset.', minimum: 0 })),
      topics: Type.Optional(
        Type.Array(
          Type.Object(
            {
              name: TopicName(),
              partitions: Type.Optional(
                Type.Array(Int32({ minimum: 0 }), {
                  description: 'Partitions to reset; all when absent.',
                  maxItems: 10000,
                  'x-kubernetes-list-type': 'set',
                }),
              ),
            },
            CLOSED,
          ),
          {
            description:
              'Topics (and partitions) to reset; every topic the group has offsets for when absent.',
            maxItems: 1000,
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
          },
        ),
      ),
    },
    {
      description: 'Moves the committed offsets, once per requestId, when the group has no active members.',
      ...CLOSED,
    },
  ),
  [
    {
      rule: "(self.to == 'timestamp') == has(self.timestamp)",
      message: 'offsetReset.timestamp is required with to: timestamp, and allowed only then',
      fieldPath: '.timestamp',
      check: (self) => (self.to === 'timestamp') === (self.timestamp !== undefined),
    },
    {
      rule: "(self.to == 'offset') == has(self.offset)",
      message: 'offsetReset.offset is required with to: offset, and allowed only then',
      fieldPath: '.offset',
      check: (self) => (self.to === 'offset') === (self.offset !== undefined),
    },
    {
      rule: 'self.requestId != oldSelf.requestId || self == oldSelf',
      message: 'an offset reset cannot be edited once requested: give it a new requestId to request another',
      reason: 'FieldValueForbidden',
      check: (self, oldSelf) =>
        self.requestId !== oldSelf.requestId || sameJson(unordered(self), unordered(oldSelf)),
    },
  ],
);
export type OffsetReset = Static<typeof OffsetReset>;

export const ConsumerGroupSpec = Type.Object(
  {
    clusterRef: ClusterRef,
    groupId: Type.Optional(
      Type.String({
        description: 'The group id in Kafka when it cannot be the resource name. Cannot be changed.',
        minLength: 1,
        maxLength: 255,
      }),
    ),
    offsetReset: Type.Optional(OffsetReset),
    refreshIntervalSeconds: Type.Optional(
      Int32({
        description: "How often the group's state, offsets and lag are read into status and metrics.",
        minimum: 1,
        maximum: 3600,
        default: 10,
      }),
    ),
  },
  { description: 'The consumer group to observe, and a reset of its offsets.', ...CLOSED },
);
export type ConsumerGroupSpec = Static<typeof ConsumerGroupSpec>;

const PartitionOffset = Type.Object(
  {
    partition: Int32({ minimum: 0 }),
    offset: Int64({ description: 'Committed offset.', minimum: 0 }),
    logEndOffset: Type.Optional(Int64({ description: "The partition's log end offset.", minimum: 0 })),
    lag: Type.Optional(Int64({ description: 'logEndOffset - offset.', minimum: 0 })),
  },
  CLOSED,
);

export const TopicOffsets = Type.Object(
  {
    name: Type.String(),
    lag: Type.Optional(Int64({ description: 'Lag summed over the partitions.', minimum: 0 })),
    partitions: Type.Array(PartitionOffset, {
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['partition'],
    }),
  },
  CLOSED,
);
export type TopicOffsets = Static<typeof TopicOffsets>;

export const OffsetResetStatus = Type.Object(
  {
    requestId: Type.String({ description: 'The spec.offsetReset.requestId this is about.' }),
    state: StringEnum(['Pending', 'Succeeded', 'Failed'] as const, {
      description: 'Pending: waiting for the group to have no active members.',
    }),
    message: Type.Optional(Type.String({ maxLength: 32768 })),
    lastTransitionTime: Type.Optional(Timestamp()),
  },
  { description: 'The latest offset reset request and what became of it.', ...CLOSED },
);
export type OffsetResetStatus = Static<typeof OffsetResetStatus>;

export const GroupMember = Type.Object(
  {
    memberId: Type.String(),
    groupInstanceId: Type.Optional(Type.String({ description: 'group.instance.id of a static member.' })),
    clientId: Type.String(),
    host: Type.String({ description: 'Where the member connects from, as the broker sees it.' }),
    assignments: Type.Optional(
      Type.Array(
        Type.Object(
          {
            topic: Type.String(),
            partitions: Type.Array(Int32({ minimum: 0 }), { 'x-kubernetes-list-type': 'set' }),
          },
          CLOSED,
        ),
        {
          description: 'The partitions assigned to the member (consumer protocol groups).',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['topic'],
        },
      ),
    ),
  },
  CLOSED,
);
export type GroupMember = Static<typeof GroupMember>;

export const ConsumerGroupStatus = statusOf(
  {
    groupId: Type.Optional(Type.String({ description: 'The group id in Kafka.' })),
    state: Type.Optional(
      Type.String({
        description:
          'Group state as Kafka reports it: Empty, Stable, PreparingRebalance, CompletingRebalance, Dead, …',
      }),
    ),
    protocol: Type.Optional(
      Type.String({
        description:
          'The partition assignor the members agreed on (range, roundrobin, cooperative-sticky, …); empty without members.',
      }),
    ),
    members: Type.Optional(Int32({ description: 'Active members.', minimum: 0 })),
    memberDetails: Type.Optional(
      Type.Array(GroupMember, {
        description: 'Each active member, its client and the partitions assigned to it.',
        maxItems: 10000,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['memberId'],
      }),
    ),
    totalLag: Type.Optional(Int64({ description: 'Lag summed over every partition.', minimum: 0 })),
    topics: Type.Optional(
      Type.Array(TopicOffsets, {
        description: 'Committed offsets and lag of each partition.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    offsetReset: Type.Optional(OffsetResetStatus),
  },
  'The observed group, written by the operator.',
);
export type ConsumerGroupStatus = Static<typeof ConsumerGroupStatus>;

export const ConsumerGroupResource = defineResource({
  kind: 'ConsumerGroup',
  plural: 'consumergroups',
  shortNames: ['tcg'],
  description: 'A Kafka consumer group of a Tributary cluster.',
  spec: ConsumerGroupSpec,
  status: ConsumerGroupStatus,
  rules: [
    {
      rule:
        '(has(self.spec.groupId) ? self.spec.groupId : self.metadata.name) == ' +
        '(has(oldSelf.spec.groupId) ? oldSelf.spec.groupId : oldSelf.metadata.name)',
      message: 'the group id cannot be changed: create another ConsumerGroup',
      fieldPath: '.spec.groupId',
      reason: 'FieldValueForbidden',
      check: (self, oldSelf) =>
        (self.spec.groupId ?? self.metadata.name) === (oldSelf.spec.groupId ?? oldSelf.metadata.name),
    },
  ],
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterRef.name' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Members', type: 'integer', jsonPath: '.status.members' },
    { name: 'Lag', type: 'integer', jsonPath: '.status.totalLag', description: 'Lag over every partition.' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Group', type: 'string', jsonPath: '.status.groupId', priority: 1 },
    { name: 'Protocol', type: 'string', jsonPath: '.status.protocol', priority: 1 },
  ],
});
export type ConsumerGroup = ResourceObject<ConsumerGroupSpec, ConsumerGroupStatus>;

/** CEL's `==` ignores the order of `set` and `map` lists: sort them before comparing. */
function unordered<T extends { topics?: { name: string; partitions?: number[] }[] }>(reset: T): T {
  if (!reset.topics) return reset;
  const topics = reset.topics
    .map((t) => (t.partitions ? { ...t, partitions: [...t.partitions].sort((a, b) => a - b) } : t))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...reset, topics };
}

/** Structural equality of JSON values, as CEL's `==` compares objects (key order does not matter). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
