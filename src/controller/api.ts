/**
 * The contract between brokers and the controller: the requests a broker makes (registration,
 * heartbeats, AlterPartition, controlled shutdown, topic administration forwarded from clients),
 * the answers, and `ControllerLink`, what a broker holds to reach its controller — in the same
 * process (a lone broker, ./embedded-link.ts) or over HTTP (./http-link.ts, served by
 * ./http-server.ts). docs/adr/0015 argues HTTP+JSON with pushed images over Kafka's own RPCs.
 *
 * Kafka errors are data: a refusal carries Kafka's error code and a message for the client.
 */
import type { BrokerEndpoint, MetadataImage, PartitionState, TopicState } from './image.ts';

/** A Kafka error answer: code plus a message for the client. */
export interface AdminError {
  errorCode: number;
  errorMessage: string;
}

export type AdminResult<T> = ({ ok: true } & T) | ({ ok: false } & AdminError);

export interface CreateTopicRequest {
  name: string;
  /** -1 = the controller's num.partitions (ignored when assignments are given). */
  numPartitions: number;
  /** -1 = the controller's default.replication.factor. */
  replicationFactor: number;
  /** Explicit replica lists, partition by partition. */
  assignments: Array<{ partition: number; brokerIds: number[] }>;
  configs: Record<string, string | null>;
  internal?: boolean;
}

export type ConfigOp =
  | { op: 'set'; name: string; value: string | null }
  | { op: 'delete'; name: string }
  | { op: 'append' | 'subtract'; name: string; value: string | null };

export type ConfigChange = { replace: Record<string, string | null> } | { ops: ConfigOp[] };

/** Kafka's ElectionType (ElectLeaders, KIP-460): 0 PREFERRED, 1 UNCLEAN. */
export type ElectionType = 'preferred' | 'unclean';

/** Partitions of one topic whose leader an ElectLeaders request asks to elect. */
export interface ElectionTarget {
  topic: string;
  partitions: number[];
}

export interface PartitionElectionResult {
  partition: number;
  /** NONE when a leader was elected; else why not (ELECTION_NOT_NEEDED is no failure). */
  errorCode: number;
  errorMessage: string | null;
  /** The leader epoch the election gave the partition (NONE only): what a broker waits to apply. */
  leaderEpoch?: number;
}

export interface TopicElectionResult {
  topic: string;
  partitions: PartitionElectionResult[];
}

export type ElectLeadersResult = AdminResult<{ results: TopicElectionResult[] }>;

/** New replica sets for partitions of one topic (AlterPartitionReassignments, KIP-455); null cancels. */
export interface ReassignmentTarget {
  topic: string;
  partitions: Array<{ partition: number; replicas: number[] | null }>;
}

export interface PartitionReassignmentResult {
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  /** The partition epoch the change gave the partition (NONE only): what a broker waits to apply. */
  partitionEpoch?: number;
}

export interface TopicReassignmentResult {
  topic: string;
  partitions: PartitionReassignmentResult[];
}

export type AlterReassignmentsResult = AdminResult<{ results: TopicReassignmentResult[] }>;

/** A reassignment in progress, as ListPartitionReassignments shows it. */
export interface OngoingReassignment {
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

export type ListReassignmentsResult = AdminResult<{
  topics: Array<{ topic: string; partitions: OngoingReassignment[] }>;
}>;

/** What the controller does for topics; the broker's handlers only see this. */
export interface TopicAdmin {
  createTopic(req: CreateTopicRequest, validateOnly: boolean): Promise<AdminResult<{ topic: TopicState }>>;
  deleteTopic(ref: { name: string } | { topicId: string }): Promise<AdminResult<{ topic: TopicState }>>;
  createPartitions(
    name: string,
    count: number,
    assignments: number[][] | null,
    validateOnly: boolean,
  ): Promise<AdminResult<{ topic: TopicState }>>;
  /** Replaces every override (AlterConfigs) or applies operations (IncrementalAlterConfigs). */
  alterTopicConfigs(
    name: string,
    change: ConfigChange,
    validateOnly: boolean,
  ): Promise<AdminResult<{ topic: TopicState }>>;
  /**
   * ElectLeaders: a preferred or unclean election for each partition named, or for every partition
   * when `targets` is null (then partitions that need none are left out of the answer, as in Kafka).
   */
  electLeaders(type: ElectionType, targets: ElectionTarget[] | null): Promise<ElectLeadersResult>;
  /** AlterPartitionReassignments: starts, replaces or (a null replica list) cancels reassignments. */
  alterPartitionReassignments(targets: ReassignmentTarget[]): Promise<AlterReassignmentsResult>;
  /** ListPartitionReassignments: those in progress among the partitions named, or all when null. */
  listPartitionReassignments(targets: ElectionTarget[] | null): Promise<ListReassignmentsResult>;
  /** Reserves `count` producer ids, never handed out again, and returns the first. */
  allocateProducerIds(count: number): Promise<bigint>;
}

export interface RegisterRequest extends BrokerEndpoint {
  /** Fresh at every process start. */
  incarnationId: string;
  /** The cluster id this broker's data belongs to, or null for an empty data directory. */
  clusterId: string | null;
}

export interface RegisterResponse {
  brokerEpoch: number;
  clusterId: string;
  controllerEpoch: number;
}

export interface HeartbeatRequest {
  nodeId: number;
  brokerEpoch: number;
  /** Logs recovered and the broker ready to serve: only then may it be unfenced. */
  caughtUp: boolean;
  /** Controlled shutdown asked for: move leaderships away and leave the ISRs. */
  wantShutdown: boolean;
  /**
   * Every partition whose log is offline on this broker (a disk fault), as Kafka's heartbeat carries
   * offline log dirs: the controller moves their leadership and takes this broker out of their
   * ISRs. Absent: unchanged since the last heartbeat that carried it.
   */
  offlineReplicas?: OfflineReplica[];
}

export interface OfflineReplica {
  topicId: string;
  partition: number;
}

export interface HeartbeatResponse {
  fenced: boolean;
  /** Controlled shutdown: nothing is led here any more and no ISR needs this broker; it may exit. */
  shutdownReady: boolean;
}

/** A leader asks to change a partition's ISR (Kafka's AlterPartition, KIP-497). */
export interface AlterPartitionRequest {
  nodeId: number;
  brokerEpoch: number;
  topicId: string;
  partition: number;
  /** The leader epoch and partition epoch the leader holds; a stale one is refused. */
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
}

/** The partition as persisted (the new ISR and partition epoch), or Kafka's refusal. */
export type AlterPartitionResult = AdminResult<{ state: PartitionState }>;

/** What the broker runtime needs from whichever controller it has. */
export interface ControllerLink {
  readonly admin: TopicAdmin;
  /**
   * Registers (retrying while the controller is away), then delivers every newer image to
   * `onImage`, in order, one at a time, and heartbeats. Resolves once the first image is applied.
   */
  start(o: {
    self: BrokerEndpoint;
    incarnationId: string;
    clusterId: string | null;
    onImage: (image: MetadataImage) => Promise<void>;
  }): Promise<void>;
  /** Logs are recovered: the broker may now be unfenced. */
  markCaughtUp(): void;
  /** The partitions whose log is offline here now (all of them); sent with the next heartbeat, at once. */
  reportOfflineReplicas(replicas: OfflineReplica[]): void;
  alterPartition(req: Omit<AlterPartitionRequest, 'nodeId' | 'brokerEpoch'>): Promise<AlterPartitionResult>;
  /**
   * Controlled shutdown: asks the controller to move leaderships away and take this broker out of
   * every ISR; resolves once it says so, or after `timeoutMs` (the controller may be away).
   */
  controlledShutdown(timeoutMs: number): Promise<void>;
  /** Stops heartbeats and the image stream. */
  close(): Promise<void>;
}

/** An image as JSON on the wire (maps as arrays). */
export interface WireImage extends Omit<MetadataImage, 'topics' | 'topicsById'> {
  topics: TopicState[];
}

/** The header every broker → controller request carries (`Authorization: Bearer <token>`). */
export const TOKEN_HEADER = 'authorization';

/**
 * The header naming the broker (its node id) on every request, so that a standby operator replica
 * can tell which brokers are alive while it waits to lead (docs/adr/0018).
 */
export const NODE_ID_HEADER = 'tributary-node-id';

/**
 * The controller as its servers see it (the HTTP server for remote brokers, the embedded link for a
 * lone broker): every call runs on the controller's serial queue and answers only once the decision
 * is persisted.
 */
export interface ControllerService extends TopicAdmin {
  register(req: RegisterRequest): Promise<AdminResult<RegisterResponse>>;
  heartbeat(req: HeartbeatRequest): Promise<AdminResult<HeartbeatResponse>>;
  alterPartition(req: AlterPartitionRequest): Promise<AlterPartitionResult>;
  /**
   * The broker's session ended without a controlled shutdown: its image stream's connection closed,
   * or the supervisor saw its process exit (a pod deleted, on Kubernetes). It is fenced at once
   * unless it has registered again since (a newer broker epoch).
   */
  brokerLost(nodeId: number, brokerEpoch: number, reason: string): Promise<void>;
  /** The current image. */
  image(): MetadataImage;
  /** Called with every new image, in order; returns the unsubscribe function. */
  onImage(listener: (image: MetadataImage) => void): () => void;
}
