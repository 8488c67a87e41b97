/**
 * What people and GitOps tools read of the metadata controller's state (docs/adr/0018): the parts
 * of `Cluster.status` and `Topic.status` that are projections of a {@link MetadataImage}, and the
 * Events a failover is worth. Pure functions of (resource, image, previous image); the writer is
 * ./projector.ts. The image is the truth; these statuses are never read back as it.
 *
 * The conditions are the metadata controller's own, written under their own field manager, so the
 * Cluster reconciler's Ready/Progressing/Degraded and these never fight:
 *
 * - `BrokersRegistered` (Cluster): True when every desired broker (ids 0 to spec.replicas - 1, the
 *   pod ordinals) is registered and active: "2 of 3 brokers registered; broker 2 fenced".
 * - `PartitionsUnderReplicated` (Cluster, Topic): True while partitions have fewer in-sync replicas
 *   than replicas — Kafka's UnderReplicatedPartitions, which Strimzi and Redpanda users watch.
 * - `PartitionsOffline` (Cluster, Topic): True while partitions have no leader — Kafka's
 *   OfflinePartitionsCount. "Partitions" in the names, because `Offline=True` on a Cluster would
 *   read as the whole cluster being down.
 */
import { isDeepStrictEqual } from 'node:util';
import type {
  BrokerRegistration as ImageRegistration,
  MetadataImage,
  TopicState,
} from '../../controller/image.ts';
import { NO_LEADER } from '../../controller/image.ts';
import type {
  BrokerRegistration,
  Cluster,
  ClusterStatus,
  PartitionState,
  Topic,
  TopicStatus,
} from '../api/index.ts';
import { setConditions, type ConditionUpdate } from '../runtime/conditions.ts';

export const BrokersRegistered = 'BrokersRegistered';
export const PartitionsUnderReplicated = 'PartitionsUnderReplicated';
export const PartitionsOffline = 'PartitionsOffline';

/** The fields of Cluster.status this projection owns. */
export type MetadataClusterStatus = Required<
  Pick<ClusterStatus, 'clusterId' | 'metadataVersion' | 'brokers' | 'conditions'>
>;
/** The fields of Topic.status this projection owns. */
export type MetadataTopicStatus = Required<
  Pick<TopicStatus, 'topicName' | 'topicId' | 'partitions' | 'underReplicatedPartitions' | 'conditions'>
>;
type Conditions = NonNullable<ClusterStatus['conditions']>;

export interface Projection<S> {
  readonly status: S;
  /** It differs from what the resource's status holds now: write it. */
  readonly changed: boolean;
}

export interface ProjectOptions {
  readonly nowMs: number;
  /**
   * The conditions to carry lastTransitionTime from: what this projection last wrote, when the
   * cache may not show it yet. The resource's own status when absent.
   */
  readonly previousConditions?: Conditions;
}

/** How many topic names or partition ids a condition message lists before "…". */
const LISTED = 5;

export function projectCluster(
  cluster: Cluster,
  image: MetadataImage,
  o: ProjectOptions,
): Projection<MetadataClusterStatus> {
  const generation = cluster.metadata.generation ?? 0;
  const partitions = [...image.topics.values()].map((t) => ({ topic: t.name, health: health(t) }));
  const total = partitions.reduce((n, p) => n + p.health.total, 0);
  const byTopic = (pick: (h: Health) => number[]) =>
    partitions.filter((p) => pick(p.health).length > 0).map((p) => `${p.topic}: ${pick(p.health).length}`);
  const under = partitions.reduce((n, p) => n + p.health.underReplicated.length, 0);
  const offline = partitions.reduce((n, p) => n + p.health.offline.length, 0);

  const updates: ConditionUpdate[] = [
    brokersRegistered(cluster.spec.replicas, image.registrations),
    underReplicatedCondition(under, total, list(byTopic((h) => h.underReplicated))),
    offlineCondition(offline, total, list(byTopic((h) => h.offline))),
  ].map((c) => ({ ...c, observedGeneration: generation }));

  const before = cluster.status;
  const conditions = ownConditions(o.previousConditions ?? before?.conditions, updates, o.nowMs);
  const status: MetadataClusterStatus = {
    clusterId: image.clusterId,
    metadataVersion: image.version,
    brokers: image.registrations.map(registration).sort((a, b) => a.id - b.id),
    conditions: conditions.list,
  };
  const changed =
    before?.clusterId !== status.clusterId ||
    before.metadataVersion !== status.metadataVersion ||
    !isDeepStrictEqual(before.brokers ?? [], status.brokers) ||
    conditionsDiffer(before.conditions, status.conditions);
  return { status, changed };
}

/** The topic's projection, or undefined when the image has no such topic (yet). */
export function projectTopic(
  topic: Topic,
  image: MetadataImage,
  o: ProjectOptions,
): Projection<MetadataTopicStatus> | undefined {
  const name = kafkaTopicName(topic);
  const state = image.topics.get(name);
  if (!state) return undefined;
  const generation = topic.metadata.generation ?? 0;
  const h = health(state);
  const ids = (ps: number[]) => `${ps.length === 1 ? 'partition' : 'partitions'} ${list(ps.map(String))}`;
  const updates: ConditionUpdate[] = [
    underReplicatedCondition(h.underReplicated.length, h.total, ids(h.underReplicated)),
    offlineCondition(h.offline.length, h.total, ids(h.offline)),
  ].map((c) => ({ ...c, observedGeneration: generation }));

  const before = topic.status;
  const conditions = ownConditions(o.previousConditions ?? before?.conditions, updates, o.nowMs);
  const status: MetadataTopicStatus = {
    topicName: name,
    topicId: state.topicId,
    partitions: state.partitions.map(partitionStatus).sort((a, b) => a.partition - b.partition),
    underReplicatedPartitions: h.underReplicated.length,
    conditions: conditions.list,
  };
  const changed =
    before?.topicName !== status.topicName ||
    before.topicId !== status.topicId ||
    before.underReplicatedPartitions !== status.underReplicatedPartitions ||
    !isDeepStrictEqual(before.partitions ?? [], status.partitions) ||
    conditionsDiffer(before.conditions, status.conditions);
  return { status, changed };
}

/** The topic's name in Kafka: spec.topicName, or the resource's name. */
export function kafkaTopicName(topic: Topic): string {
  return topic.spec.topicName ?? topic.metadata.name;
}

/** An Event on the Cluster about one broker. */
export interface BrokerEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: 'BrokerFenced' | 'BrokerShuttingDown' | 'BrokerStopped' | 'BrokerBack' | 'BrokerJoined';
  readonly action: 'MoveLeadership' | 'Register';
  readonly note: string;
  readonly brokerId: number;
}

export interface BrokerEventContext {
  /** Why brokers were fenced, by id, when the caller knows ("pod orders-broker-2 deleted"). */
  readonly reasons?: ReadonlyMap<number, string>;
  /** Brokers seen active in an earlier image: one that becomes active again is "back", not new. */
  readonly seenActive?: ReadonlySet<number>;
}

/**
 * The Events between two consecutive images: a broker fenced (with the leaderships that moved
 * away from it), starting a controlled shutdown, stopped after one, and active again.
 */
export function brokerEvents(
  previous: MetadataImage | undefined,
  next: MetadataImage,
  context: BrokerEventContext = {},
): BrokerEvent[] {
  if (!previous) return [];
  const before = new Map(previous.registrations.map((r) => [r.nodeId, r]));
  const out: BrokerEvent[] = [];
  for (const now of [...next.registrations].sort((a, b) => a.nodeId - b.nodeId)) {
    const id = now.nodeId;
    const was = before.get(id);
    const wasActive = was !== undefined && !was.fenced;
    const because = context.reasons?.get(id);
    const suffix = because ? ` (${because})` : '';
    if (wasActive && now.fenced && was.shuttingDown) {
      out.push({
        type: 'Normal',
        reason: 'BrokerStopped',
        action: 'MoveLeadership',
        note: `Broker ${id} shut down${leftLeaderless(previous, next, id)}`,
        brokerId: id,
      });
    } else if (wasActive && now.fenced) {
      const moved = movedLeaderships(previous, next, id);
      out.push({
        type: 'Warning',
        reason: 'BrokerFenced',
        action: 'MoveLeadership',
        note:
          moved.total === 0
            ? `Fenced broker ${id}${suffix}; it led no partitions`
            : `Moved leadership of ${plural(moved.total - moved.leaderless, 'partition')} from broker ${id}${suffix}` +
              (moved.leaderless > 0
                ? `; ${plural(moved.leaderless, 'partition')} left without a leader`
                : ''),
        brokerId: id,
      });
    } else if (wasActive && now.shuttingDown && !was.shuttingDown) {
      const moved = movedLeaderships(previous, next, id);
      out.push({
        type: 'Normal',
        reason: 'BrokerShuttingDown',
        action: 'MoveLeadership',
        note:
          moved.total === 0
            ? `Broker ${id} is shutting down; it led no partitions`
            : `Moved leadership of ${plural(moved.total - moved.leaderless, 'partition')} from broker ${id}, which is shutting down`,
        brokerId: id,
      });
    } else if (!wasActive && !now.fenced) {
      const back = was !== undefined && (context.seenActive?.has(id) ?? false);
      out.push({
        type: 'Normal',
        reason: back ? 'BrokerBack' : 'BrokerJoined',
        action: 'Register',
        note: back ? `Broker ${id} is back` : `Broker ${id} joined the cluster`,
        brokerId: id,
      });
    }
  }
  return out;
}

interface Health {
  total: number;
  underReplicated: number[];
  offline: number[];
}

function health(topic: TopicState): Health {
  const h: Health = { total: topic.partitions.length, underReplicated: [], offline: [] };
  for (const p of topic.partitions) {
    // Kafka's rule while a partition is reassigned: fewer in-sync replicas than its target has.
    if (p.isr.length < p.replicas.length - (p.removingReplicas?.length ?? 0))
      h.underReplicated.push(p.partition);
    if (p.leader === NO_LEADER) h.offline.push(p.partition);
  }
  h.underReplicated.sort((a, b) => a - b);
  h.offline.sort((a, b) => a - b);
  return h;
}

function brokersRegistered(desired: number, registrations: readonly ImageRegistration[]): ConditionUpdate {
  const byId = new Map(registrations.map((r) => [r.nodeId, r]));
  const fenced: number[] = [];
  const missing: number[] = [];
  let active = 0;
  for (let id = 0; id < desired; id++) {
    const r = byId.get(id);
    if (!r) missing.push(id);
    else if (r.fenced) fenced.push(id);
    else active++;
  }
  const summary = `${active} of ${desired} brokers registered`;
  if (active === desired) {
    return { type: BrokersRegistered, status: 'True', reason: 'AllBrokersRegistered', message: summary };
  }
  const details = [
    fenced.length > 0 ? `${brokerList(fenced)} fenced` : '',
    missing.length > 0 ? `${brokerList(missing)} not registered` : '',
  ].filter((d) => d !== '');
  return {
    type: BrokersRegistered,
    status: 'False',
    reason: fenced.length > 0 ? 'BrokersFenced' : 'BrokersNotRegistered',
    message: `${summary}; ${details.join('; ')}`,
  };
}

function underReplicatedCondition(count: number, total: number, where: string): ConditionUpdate {
  return count === 0
    ? {
        type: PartitionsUnderReplicated,
        status: 'False',
        reason: 'AllPartitionsInSync',
        message: `All ${plural(total, 'partition')} have every replica in sync`,
      }
    : {
        type: PartitionsUnderReplicated,
        status: 'True',
        reason: 'UnderReplicated',
        message: `${count} of ${plural(total, 'partition')} under-replicated (${where})`,
      };
}

function offlineCondition(count: number, total: number, where: string): ConditionUpdate {
  return count === 0
    ? {
        type: PartitionsOffline,
        status: 'False',
        reason: 'AllPartitionsLed',
        message: `All ${plural(total, 'partition')} have a leader`,
      }
    : {
        type: PartitionsOffline,
        status: 'True',
        reason: 'NoLeader',
        message: `${count} of ${plural(total, 'partition')} without a leader (${where})`,
      };
}

/** This projection's conditions, in a fixed order, with lastTransitionTime carried over. */
function ownConditions(
  previous: Conditions | undefined,
  updates: readonly ConditionUpdate[],
  nowMs: number,
): { list: Conditions } {
  const own = new Set(updates.map((u) => u.type));
  const carried = (previous ?? []).filter((c) => own.has(c.type));
  const set = setConditions(carried, updates, nowMs).conditions as Conditions;
  return { list: updates.map((u) => set.find((c) => c.type === u.type)!) };
}

/** Whether `desired` (this projection's conditions) differ from those of the same types in `current`. */
function conditionsDiffer(current: Conditions | undefined, desired: Conditions): boolean {
  return desired.some((d) => {
    const c = current?.find((x) => x.type === d.type);
    return (
      c === undefined ||
      c.status !== d.status ||
      c.reason !== d.reason ||
      c.message !== d.message ||
      c.observedGeneration !== d.observedGeneration ||
      c.lastTransitionTime !== d.lastTransitionTime
    );
  });
}

function registration(r: ImageRegistration): BrokerRegistration {
  const host = r.host.includes(':') ? `[${r.host}]` : r.host;
  return {
    id: r.nodeId,
    address: `${host}:${r.port}`,
    ...(r.rack === null ? {} : { rack: r.rack }),
    incarnation: r.incarnationId,
    epoch: r.brokerEpoch,
    state: r.fenced ? 'Fenced' : r.shuttingDown ? 'ShuttingDown' : 'Active',
  };
}

/** Only the fields the CRD knows: the image's objects are not copied blindly into a closed schema. */
function partitionStatus(p: PartitionState): PartitionState {
  return {
    partition: p.partition,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
    replicas: [...p.replicas],
    isr: [...p.isr],
    ...(p.addingReplicas && { addingReplicas: [...p.addingReplicas] }),
    ...(p.removingReplicas && { removingReplicas: [...p.removingReplicas] }),
  };
}

/** Partitions `id` led in `previous` and does not lead in `next`; `leaderless`: led by no one now. */
function movedLeaderships(
  previous: MetadataImage,
  next: MetadataImage,
  id: number,
): { total: number; leaderless: number } {
  let total = 0;
  let leaderless = 0;
  for (const [name, topic] of previous.topics) {
    const now = next.topics.get(name);
    for (const p of topic.partitions) {
      if (p.leader !== id) continue;
      const same = now?.partitions[p.partition];
      const leader = (
        same?.partition === p.partition ? same : now?.partitions.find((q) => q.partition === p.partition)
      )?.leader;
      if (leader === id) continue;
      total++;
      if (leader === NO_LEADER) leaderless++;
    }
  }
  return { total, leaderless };
}

function leftLeaderless(previous: MetadataImage, next: MetadataImage, id: number): string {
  const { leaderless } = movedLeaderships(previous, next, id);
  return leaderless > 0 ? `; ${plural(leaderless, 'partition')} left without a leader` : '';
}

function list(items: readonly string[]): string {
  return items.length <= LISTED
    ? items.join(', ')
    : `${items.slice(0, LISTED).join(', ')}, … ${items.length - LISTED} more`;
}

function brokerList(ids: readonly number[]): string {
  return ids.length === 1 ? `broker ${ids[0]}` : `brokers ${ids.join(', ')}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
