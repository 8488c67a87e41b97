/**
 * The cluster's metadata as the controller decides it and brokers serve it: brokers, topics, and
 * each partition's replicas, leader, leader epoch, partition epoch and ISR. Brokers never change it
 * themselves; they apply images from the controller, newest (controller epoch, version) wins.
 *
 * This is the one definition of a partition's state: the controller core (./brokers.ts,
 * ./election.ts, ./isr.ts, …), the broker's replica manager and the operator's Topic status all use it.
 */

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** -1: a partition with no leader (every ISR member is fenced). */
export const NO_LEADER = -1;

export interface PartitionState {
  partition: number;
  /** NO_LEADER (-1) while the partition has no leader. */
  leader: number;
  /** Bumped at every change of leader (KIP-101/KIP-320 fencing of deposed leaders and stale clients). */
  leaderEpoch: number;
  /** Bumped at every change of leader, replicas or ISR (AlterPartition's stale-request check). */
  partitionEpoch: number;
  /** Broker ids holding a replica, the preferred leader first. */
  replicas: number[];
  /** In-sync replicas: every member has every committed record. Never empty. */
  isr: number[];
  /**
   * While a reassignment is in progress (./reassign.ts): the replicas joining (not yet all in the
   * ISR) and leaving; `replicas` is then the target followed by the leaving ones. Absent otherwise.
   * Kafka's KRaft image carries the same two lists (PartitionRecord).
   */
  addingReplicas?: number[];
  removingReplicas?: number[];
}

export interface TopicState {
  name: string;
  /** Canonical 22-character base64url UUID, as the codec reads and writes it. */
  topicId: string;
  internal: boolean;
  partitions: PartitionState[];
  /** Topic-level overrides only, by Kafka name; defaults come from the broker. */
  configs: Record<string, string>;
}

/** A broker the controller knows, live or fenced. */
export interface BrokerRegistration extends BrokerEndpoint {
  /** Random per process start: a new one means the broker restarted (and lost what was in memory). */
  incarnationId: string;
  /** Given at each registration, increasing; requests carrying an older one are refused. */
  brokerEpoch: number;
  /** Fenced brokers lead nothing, are in no ISR, and are not shown to clients. */
  fenced: boolean;
  /** Asked to shut down: its leaderships are moving away and it leaves the ISRs. */
  shuttingDown: boolean;
  /**
   * Replicas whose log this broker reported offline (a disk fault), as `topicId:partition`: it leads
   * none of them and is in none of their ISRs until it registers again (a new process).
   */
  offlineReplicas?: string[];
}

/** The key of a replica in `BrokerRegistration.offlineReplicas`. */
export function replicaKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

export interface MetadataImage {
  /** Increases with every change; a broker applies only newer images. */
  version: number;
  /**
   * Increases every time a controller takes over (a process start, a won Lease). A broker refuses
   * an image, and the controller refuses a write, from an older controller epoch: a deposed
   * controller can never get a stale decision applied.
   */
  controllerEpoch: number;
  clusterId: string;
  /** Which broker clients are told is the controller (Metadata, DescribeCluster); a live broker id. */
  controllerId: number;
  /** Live (registered, unfenced) brokers: what clients see. */
  brokers: BrokerEndpoint[];
  /** Every registered broker with its epoch and state: what replication and fetchers need. */
  registrations: BrokerRegistration[];
  topics: ReadonlyMap<string, TopicState>;
  topicsById: ReadonlyMap<string, TopicState>;
}

/** Whether image `a` is newer than `b` (controller epoch first, then version). */
export function isNewer(
  a: Pick<MetadataImage, 'version' | 'controllerEpoch'>,
  b: Pick<MetadataImage, 'version' | 'controllerEpoch'> | null,
): boolean {
  if (!b) return true;
  if (a.controllerEpoch !== b.controllerEpoch) return a.controllerEpoch > b.controllerEpoch;
  return a.version > b.version;
}

export function indexTopics(topics: Iterable<TopicState>): Pick<MetadataImage, 'topics' | 'topicsById'> {
  const byName = new Map<string, TopicState>();
  const byId = new Map<string, TopicState>();
  for (const t of topics) {
    byName.set(t.name, t);
    byId.set(t.topicId, t);
  }
  return { topics: byName, topicsById: byId };
}

/** Kafka's rule for topic names: 1–249 of [a-zA-Z0-9._-], not "." or "..". */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return 'Topic name is empty';
  if (name === '.' || name === '..') return `Topic name cannot be "${name}"`;
  if (name.length > 249) return `Topic name is longer than 249 characters (${name.length})`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    return `Topic name "${name}" is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed`;
  }
  return null;
}
