/**
 * The group coordinator: the classic groups whose offsets partition this broker leads, and the
 * requests about them. A group lives on partition abs(hash(groupId)) % partitions of the internal,
 * compacted `__consumer_offsets` topic (./hash.ts); that partition's leader is its coordinator.
 * Every change of a group's membership or offsets is written there (./records.ts) before it is
 * acknowledged, and a broker that becomes leader of a partition rebuilds its groups by reading it
 * from the start — answering COORDINATOR_LOAD_IN_PROGRESS for them meanwhile.
 *
 * The topic is created on the first FindCoordinator for a group, as Kafka does, so a cluster that
 * never uses groups never has it. Which partitions are led here, and so which groups are served
 * here, follows the metadata image (./ownership.ts).
 *
 * This file routes each request to where it is decided: a group's membership to its state machine
 * (./group.ts), offsets to ./offset-requests.ts, their expiry to ./offsets-retention.ts, whole
 * groups (DescribeGroups, ListGroups, DeleteGroups) to ./group-admin.ts; it answers FindCoordinator
 * itself. Decisions about a group are synchronous calls; only writes to the log are awaited
 * (./coordinator-writes.ts), and the group re-checks its state when a write completes, so no group
 * state is held across an await.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { MetadataImage } from '../../controller/image.ts';
import type { TopicAdmin } from '../../controller/api.ts';
import type {
  CommitRequest,
  CoordinatorConfig,
  CoordinatorNode,
  FetchResult,
  ListedGroup,
  PartitionErrors,
} from './coordinator-api.ts';
import { storeGroup } from './coordinator-writes.ts';
import { GroupAdmin } from './group-admin.ts';
import type {
  ClassicGroup,
  GroupDescription,
  GroupEnv,
  HeartbeatRequest,
  JoinRequest,
  LeaveResult,
  MemberIdentity,
  SyncRequest,
} from './group.ts';
import { offsetsPartitionFor } from './hash.ts';
import { joinError, type JoinResult, syncError, type SyncResult } from './membership.ts';
import type { GroupMetrics } from './metrics.ts';
import { OffsetRequests } from './offset-requests.ts';
import { OffsetsRetention } from './offsets-retention.ts';
import type { OffsetsLog } from './offsets-store.ts';
import { OffsetsTopic } from './offsets-topic.ts';
import { OffsetsPartitions } from './ownership.ts';

export type {
  CommitPartition,
  CommitRequest,
  CoordinatorConfig,
  CoordinatorNode,
  FetchedPartition,
  FetchResult,
  ListedGroup,
  PartitionErrors,
} from './coordinator-api.ts';

export interface CoordinatorDeps {
  nodeId: number;
  config: CoordinatorConfig;
  clock: Clock;
  log: Logger;
  metadata: () => MetadataImage;
  admin: Pick<TopicAdmin, 'createTopic'>;
  /** The log of one offsets partition (this broker leads it when the coordinator asks). */
  offsetsLog: (partition: number) => OffsetsLog;
  metrics?: GroupMetrics;
  /** Member ids are `<prefix>-<this>`: a UUID, as Kafka makes them. */
  newMemberIdSuffix?: () => string;
}

/** Kafka's GroupCoordinator.NewMemberJoinTimeoutMs. */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

const NO_NODE = { nodeId: -1, host: '', port: -1 };

export class GroupCoordinator {
  readonly #d: CoordinatorDeps;
  readonly #log: Logger;
  readonly #env: GroupEnv;
  readonly #partitions: OffsetsPartitions;
  #closed = false;
  readonly #offsetsTopic: OffsetsTopic;
  readonly #offsets: OffsetRequests;
  readonly #retention: OffsetsRetention;
  readonly #admin: GroupAdmin;

  constructor(deps: CoordinatorDeps) {
    this.#d = deps;
    this.#log = deps.log.child({ component: 'group-coordinator' });
    const suffix = deps.newMemberIdSuffix ?? randomUUID;
    this.#env = {
      clock: deps.clock,
      config: {
        initialRebalanceDelayMs: deps.config.initialRebalanceDelayMs,
        maxSize: deps.config.maxSize,
        newMemberJoinTimeoutMs: NEW_MEMBER_JOIN_TIMEOUT_MS,
      },
      log: this.#log,
      newMemberId: (prefix) => `${prefix}-${suffix()}`,
      store: (group, assignments, done) =>
        storeGroup(this.#partitions, this.#log, group, group.toRecord(assignments), done),
      onRebalance: () => deps.metrics?.rebalances.inc(),
    };
    this.#partitions = new OffsetsPartitions({
      nodeId: deps.nodeId,
      clock: deps.clock,
      log: this.#log,
      metadata: deps.metadata,
      offsetsLog: deps.offsetsLog,
      env: this.#env,
      metrics: deps.metrics,
    });
    this.#offsetsTopic = new OffsetsTopic({
      partitions: deps.config.offsetsTopicPartitions,
      replicationFactor: deps.config.offsetsTopicReplicationFactor,
      metadata: deps.metadata,
      admin: deps.admin,
      log: this.#log,
      onCreated: async () => {
        this.#partitions.follow();
        await this.loaded();
      },
    });
    const shared = { clock: deps.clock, config: deps.config, partitions: this.#partitions, log: this.#log };
    this.#offsets = new OffsetRequests({ ...shared, metadata: deps.metadata, metrics: deps.metrics });
    this.#retention = new OffsetsRetention(shared);
    this.#admin = new GroupAdmin({
      partitions: this.#partitions,
      log: this.#log,
      closed: () => this.#closed,
    });
  }

  /** Starts loading the offsets partitions this broker leads, and the offsets expiry. */
  start(): void {
    this.#partitions.follow();
    this.#retention.start();
  }

  /** A new image was applied: load the offsets partitions now led here, unload those no longer led. */
  follow(): void {
    if (!this.#closed) this.#partitions.follow();
  }

  /** Resolves once every offsets partition being loaded has been loaded (or failed to). */
  loaded(): Promise<void> {
    return this.#partitions.loaded();
  }

  /** Stops serving: waiting requests are answered NOT_COORDINATOR, timers stop. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#retention.stop();
    this.#partitions.close();
  }

  /** The groups this broker coordinates now (loaded partitions only). */
  groups(): IterableIterator<ClassicGroup> {
    return this.#partitions.groups();
  }

  partitionCounts(): Record<'loading' | 'active' | 'failed', number> {
    return this.#partitions.partitionCounts();
  }

  // --- FindCoordinator -------------------------------------------------------------------------

  /** The coordinator of a group (key type 0); transactions (1) are not served yet. */
  async findCoordinator(keyType: number, key: string): Promise<CoordinatorNode> {
    if (keyType === 1) {
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: 'This broker does not support transactions yet',
        ...NO_NODE,
      };
    }
    if (keyType !== 0) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `Unknown coordinator key type ${keyType}`,
        ...NO_NODE,
      };
    }
    if (this.#closed)
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null, ...NO_NODE };
    this.#partitions.follow();
    const topic = await this.#offsetsTopic.get();
    if (!topic) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null, ...NO_NODE };
    const state = topic.partitions[offsetsPartitionFor(key, topic.partitions.length)];
    const leader = this.#d.metadata().brokers.find((b) => b.nodeId === state.leader);
    if (!leader) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null, ...NO_NODE };
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      nodeId: leader.nodeId,
      host: leader.host,
      port: leader.port,
    };
  }

  // --- membership ------------------------------------------------------------------------------

  joinGroup(groupId: string, req: JoinRequest): Promise<JoinResult> {
    const route = this.#partitions.route(groupId, 'join');
    if (!route.ok) return Promise.resolve(joinError(req.memberId, route.errorCode));
    const c = this.#d.config;
    if (req.sessionTimeoutMs < c.minSessionTimeoutMs || req.sessionTimeoutMs > c.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    let group = this.#partitions.get(groupId);
    if (!group) {
      // A member id names a member of an existing group; without the group, it names nothing.
      if (req.memberId !== '') return Promise.resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = this.#partitions.create(groupId, route.owned);
    }
    const g = group;
    return new Promise((resolve) => g.join(req, resolve));
  }

  syncGroup(groupId: string, req: SyncRequest): Promise<SyncResult> {
    const route = this.#partitions.route(groupId, 'sync');
    if (!route.ok) {
      // A coordinator that is loading has lost the rebalance in progress: the member must rejoin,
      // which REBALANCE_IN_PROGRESS tells every client version (Kafka does the same).
      const code =
        route.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
          ? ErrorCode.REBALANCE_IN_PROGRESS
          : route.errorCode;
      return Promise.resolve(syncError(code));
    }
    const group = this.#partitions.get(groupId);
    if (!group) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    return new Promise((resolve) => group.sync(req, resolve));
  }

  heartbeat(groupId: string, req: HeartbeatRequest): number {
    const route = this.#partitions.route(groupId, 'heartbeat');
    if (!route.ok) return route.errorCode;
    return this.#partitions.get(groupId)?.heartbeat(req) ?? ErrorCode.UNKNOWN_MEMBER_ID;
  }

  leaveGroup(groupId: string, members: MemberIdentity[]): LeaveResult {
    const route = this.#partitions.route(groupId, 'leave');
    if (!route.ok) return { errorCode: route.errorCode, members: [] };
    const group = this.#partitions.get(groupId);
    if (!group) {
      return {
        errorCode: ErrorCode.NONE,
        members: members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    }
    return group.leave(members);
  }

  // --- offsets (./offset-requests.ts, ./offsets-retention.ts) ---------------------------------

  commitOffsets(groupId: string, req: CommitRequest): Promise<PartitionErrors> {
    return this.#offsets.commit(groupId, req);
  }

  fetchOffsets(groupId: string, topics: Array<{ name: string; partitions: number[] }> | null): FetchResult {
    return this.#offsets.fetch(groupId, topics);
  }

  deleteOffsets(
    groupId: string,
    topics: Array<{ name: string; partitions: number[] }>,
  ): Promise<{ errorCode: number; topics: PartitionErrors }> {
    return this.#offsets.delete(groupId, topics);
  }

  /**
   * Removes expired offsets (./offsets.ts has the rule), and Empty groups left with no offsets,
   * writing tombstones for both. Runs every `offsets.retention.check.interval.ms`.
   */
  expireOffsets(): void {
    this.#retention.expire();
  }

  // --- describing, listing, deleting groups (./group-admin.ts) ---------------------------------

  describeGroup(groupId: string): { errorCode: number } & GroupDescription {
    return this.#admin.describe(groupId);
  }

  /** Groups coordinated here, filtered by state and type (both case-insensitive; empty: all). */
  listGroups(states: string[], types: string[]): { errorCode: number; groups: ListedGroup[] } {
    return this.#admin.list(states, types);
  }

  deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    return this.#admin.delete(groupIds);
  }
}
