/**
 * Topic administration, judged as Kafka judges it and refused with Kafka's error codes and
 * messages: creation (names, collisions, configs, placement), deletion, partition growth, config
 * changes (AlterConfigs replaces, IncrementalAlterConfigs edits, lists by APPEND/SUBTRACT), and
 * producer-id blocks. Pure: the caller passes the new topic id and persists what it gets back.
 */
import { checkTopicConfig, TOPIC_CONFIG_BY_NAME } from '../broker/topic-config.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { AdminError, AdminResult, ConfigChange, ConfigOp, CreateTopicRequest } from './api.ts';
import { type PartitionState, topicNameError, type TopicState } from './image.ts';
import { placeReplicas } from './placement.ts';
import { type ClusterState, type Decision, fail, isEligible, successor } from './state.ts';

/**
 * Kafka's controller refuses to create more partitions than this in one request, and so do we: it
 * bounds the work (and memory) one request can cause.
 */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;

export interface TopicDefaults {
  numPartitions: number;
  replicationFactor: number;
  deleteTopicEnable: boolean;
}

type Refusal = { ok: false } & AdminError;
type TopicDecision = Decision<AdminResult<{ topic: TopicState }>>;

export function tooManyPartitions(): Refusal {
  return fail(ErrorCode.POLICY_VIOLATION, 'Excessively large number of partitions per request.');
}

/** Topics whose names differ only in '.' versus '_' collide in metric names, so Kafka refuses them. */
function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

export function createTopic(
  state: ClusterState,
  req: CreateTopicRequest,
  o: { defaults: TopicDefaults; topicId: string },
): TopicDecision {
  const refuse = (r: Refusal): TopicDecision => ({ state, answer: r, log: [] });
  const nameError = topicNameError(req.name);
  if (nameError) return refuse(fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError));
  if (state.topics.some((t) => t.name === req.name)) {
    return refuse(fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${req.name}' already exists.`));
  }
  const clash = state.topics.find((t) => collisionKey(t.name) === collisionKey(req.name));
  if (clash) {
    return refuse(
      fail(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `Topic '${req.name}' collides with existing topic '${clash.name}' ('.' and '_' are the same in metric names)`,
      ),
    );
  }
  const configs: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.configs)) {
    const why = checkTopicConfig(k, v);
    if (why) return refuse(fail(ErrorCode.INVALID_CONFIG, why));
    configs[k] = v!.trim();
  }
  const placed = placeNew(state, req, o.defaults);
  if (!placed.ok) return refuse(placed);
  const topic: TopicState = {
    name: req.name,
    topicId: o.topicId,
    internal: req.internal ?? false,
    partitions: placed.partitions,
    configs,
  };
  return {
    state: successor(state, { ...state, topics: [...state.topics, topic] }),
    answer: { ok: true, topic },
    log: [`Created topic ${req.name} with ${topic.partitions.length} partitions`],
  };
}

export function deleteTopic(
  state: ClusterState,
  ref: { name: string } | { topicId: string },
  defaults: Pick<TopicDefaults, 'deleteTopicEnable'>,
): TopicDecision {
  const refuse = (r: Refusal): TopicDecision => ({ state, answer: r, log: [] });
  const topic = state.topics.find((t) => ('name' in ref ? t.name === ref.name : t.topicId === ref.topicId));
  if (!topic) {
    return refuse(
      'name' in ref
        ? fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${ref.name}' does not exist.`)
        : fail(ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${ref.topicId} does not exist.`),
    );
  }
  if (!defaults.deleteTopicEnable) {
    return refuse(
      fail(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled (delete.topic.enable=false).'),
    );
  }
  if (topic.internal) {
    return refuse(
      fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${topic.name}' is internal and cannot be deleted.`),
    );
  }
  return {
    state: successor(state, { ...state, topics: state.topics.filter((t) => t !== topic) }),
    answer: { ok: true, topic },
    log: [`Deleted topic ${topic.name}`],
  };
}

export function createPartitions(
  state: ClusterState,
  req: { name: string; count: number; assignments: number[][] | null },
): TopicDecision {
  const refuse = (r: Refusal): TopicDecision => ({ state, answer: r, log: [] });
  const { name, count, assignments } = req;
  const topic = state.topics.find((t) => t.name === name);
  if (!topic) return refuse(fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`));
  const current = topic.partitions.length;
  if (count < current) {
    return refuse(
      fail(
        ErrorCode.INVALID_PARTITIONS,
        `Topic currently has ${current} partitions, which is higher than the requested ${count}.`,
      ),
    );
  }
  if (count === current) {
    return refuse(fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`));
  }
  // A partition being reassigned also lists its leaving replicas: the factor is its target's.
  const first = topic.partitions[0];
  const rf = first ? first.replicas.length - (first.removingReplicas?.length ?? 0) : 1;
  const added = count - current;
  if (added > MAX_PARTITIONS_PER_REQUEST) return refuse(tooManyPartitions());
  if (assignments !== null && assignments.length !== added) {
    return refuse(
      fail(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Increasing the number of partitions by ${added} but ${assignments.length} assignments provided.`,
      ),
    );
  }
  let lists = assignments;
  if (lists === null) {
    const placed = place(state, added, rf, current);
    if (!placed.ok) return refuse(placed);
    lists = placed.assignments;
  }
  const partitions: PartitionState[] = [];
  for (let i = 0; i < added; i++) {
    const p = newPartition(state, current + i, lists[i], rf);
    if (!p.ok) return refuse(p);
    partitions.push(p.partition);
  }
  const grown: TopicState = { ...topic, partitions: [...topic.partitions, ...partitions] };
  return {
    state: successor(state, withTopic(state, grown)),
    answer: { ok: true, topic: grown },
    log: [`Grew topic ${name} from ${current} to ${count} partitions`],
  };
}

export function alterTopicConfigs(state: ClusterState, name: string, change: ConfigChange): TopicDecision {
  const refuse = (r: Refusal): TopicDecision => ({ state, answer: r, log: [] });
  const topic = state.topics.find((t) => t.name === name);
  if (!topic) return refuse(fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`));
  const ops: ConfigOp[] =
    'replace' in change
      ? Object.entries(change.replace).map(([k, value]) => ({ op: 'set', name: k, value }))
      : change.ops;
  // AlterConfigs replaces every override; IncrementalAlterConfigs changes the ones it names.
  const next: Record<string, string> = 'replace' in change ? {} : { ...topic.configs };
  for (const op of ops) {
    if (op.op === 'delete') {
      // As in Kafka, deleting an override that is not there (whatever its name) changes nothing.
      delete next[op.name];
      continue;
    }
    const value = op.op === 'set' ? op.value : listOp(op, next[op.name]);
    if (typeof value === 'object' && value !== null) return refuse(value);
    const why = checkTopicConfig(op.name, value);
    if (why) return refuse(fail(ErrorCode.INVALID_CONFIG, why));
    next[op.name] = value!.trim();
  }
  const altered: TopicState = { ...topic, configs: next };
  return {
    state: successor(state, withTopic(state, altered)),
    answer: { ok: true, topic: altered },
    log: [`Changed the configs of topic ${name}`],
  };
}

/** Reserves `count` producer ids, never handed out again; answers the first. */
export function allocateProducerIds(state: ClusterState, count: number): Decision<bigint> {
  const first = BigInt(state.nextProducerId);
  return {
    state: successor(state, { ...state, nextProducerId: String(first + BigInt(count)) }),
    answer: first,
    log: [],
  };
}

function placeNew(
  state: ClusterState,
  req: CreateTopicRequest,
  defaults: TopicDefaults,
): { ok: true; partitions: PartitionState[] } | Refusal {
  if (req.assignments.length > 0) {
    if (req.numPartitions !== -1 || req.replicationFactor !== -1) {
      return fail(
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
      );
    }
    if (req.assignments.length > MAX_PARTITIONS_PER_REQUEST) return tooManyPartitions();
    const sorted = [...req.assignments].sort((a, b) => a.partition - b.partition);
    const rf = sorted[0].brokerIds.length;
    const partitions: PartitionState[] = [];
    for (let i = 0; i < sorted.length; i++) {
      if (sorted[i].partition !== i) {
        return fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          'Partitions should be a consecutive 0-based integer sequence',
        );
      }
      const p = newPartition(state, i, sorted[i].brokerIds, rf);
      if (!p.ok) return p;
      partitions.push(p.partition);
    }
    return { ok: true, partitions };
  }
  const count = req.numPartitions === -1 ? defaults.numPartitions : req.numPartitions;
  if (count < 1) return fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
  if (count > MAX_PARTITIONS_PER_REQUEST) return tooManyPartitions();
  const rf = req.replicationFactor === -1 ? defaults.replicationFactor : req.replicationFactor;
  if (rf < 1) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
  const placed = place(state, count, rf, 0);
  if (!placed.ok) return placed;
  const partitions: PartitionState[] = [];
  for (let i = 0; i < count; i++) {
    const p = newPartition(state, i, placed.assignments[i], rf);
    if (!p.ok) return p;
    partitions.push(p.partition);
  }
  return { ok: true, partitions };
}

/**
 * Placement over the live brokers. Kafka starts each topic at a random broker; we start at the
 * number of partitions the cluster already has, which spreads leaders across topics just as well
 * and lets a controller that takes over reach the same answer.
 */
function place(state: ClusterState, count: number, rf: number, firstPartition: number) {
  const total = state.topics.reduce((n, t) => n + t.partitions.length, 0);
  return placeReplicas({
    brokers: state.brokers.filter(isEligible),
    count,
    replicationFactor: rf,
    firstPartition,
    startIndex: total,
    shift: total,
  });
}

/**
 * A new partition: partition epoch 0, the ISR its live replicas (every replica, normally), the
 * first of them leading. Explicit assignments may name any registered broker, but one with no live
 * replica would be born leaderless, which Kafka refuses.
 */
function newPartition(
  state: ClusterState,
  partition: number,
  ids: number[] | undefined,
  rf: number,
): { ok: true; partition: PartitionState } | Refusal {
  const why = checkReplicas(state, ids, rf);
  if (why) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, why);
  const live = new Set(state.brokers.filter(isEligible).map((b) => b.nodeId));
  const isr = ids!.filter((id) => live.has(id));
  if (isr.length === 0) {
    return fail(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `All brokers specified in the partition assignment for partition ${partition} are fenced or in controlled shutdown.`,
    );
  }
  return {
    ok: true,
    partition: { partition, leader: isr[0], leaderEpoch: 0, partitionEpoch: 0, replicas: [...ids!], isr },
  };
}

function checkReplicas(state: ClusterState, ids: number[] | undefined, rf: number): string | null {
  if (!ids || ids.length === 0) return 'Replica assignment is empty.';
  if (ids.length !== rf) return 'All partitions should have the same number of replicas.';
  if (new Set(ids).size !== ids.length) {
    return `Duplicate brokers not allowed in replica assignment: ${ids.join(', ')}.`;
  }
  const known = new Set(state.brokers.map((b) => b.nodeId));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) return `Unknown broker(s) in replica assignment: ${unknown.join(', ')}.`;
  return null;
}

function withTopic(state: ClusterState, topic: TopicState): ClusterState {
  return { ...state, topics: state.topics.map((t) => (t.name === topic.name ? topic : t)) };
}

/** APPEND or SUBTRACT on a list config; only list configs take them. */
function listOp(
  op: { op: 'append' | 'subtract'; name: string; value: string | null },
  current: string | undefined,
): string | Refusal {
  const def = TOPIC_CONFIG_BY_NAME.get(op.name)?.def;
  if (def?.type !== 'list') {
    return fail(
      ErrorCode.INVALID_CONFIG,
      `Can't ${op.op.toUpperCase()} to key ${op.name} because its type is not LIST.`,
    );
  }
  // An absent override starts from the config's own default, not the broker's (as Kafka does).
  const items = (current ?? def.default ?? '').split(',').filter((s) => s !== '');
  for (const v of (op.value ?? '').split(',').map((s) => s.trim())) {
    if (op.op === 'append' && !items.includes(v)) items.push(v);
    if (op.op === 'subtract' && items.includes(v)) items.splice(items.indexOf(v), 1);
  }
  return items.join(',');
}
