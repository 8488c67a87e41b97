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
 * Decisions about a group are synchronous calls into its state machine (./group.ts); only writes to
 * the log are awaited, and the group re-checks its state when a write completes, so no group state
 * is held across an await.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, MAX_TIMER_DELAY_MS, type TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { MetadataImage } from '../../controller/image.ts';
import type { TopicAdmin } from '../../controller/api.ts';
import {
  type ClassicGroup,
  CONSUMER_PROTOCOL_TYPE,
  type GroupDescription,
  type GroupEnv,
  type GroupState,
  type JoinRequest,
  type LeaveResult,
  type MemberIdentity,
  type SyncRequest,
  type HeartbeatRequest,
} from './group.ts';
import { offsetsPartitionFor } from './hash.ts';
import { joinError, type JoinResult, syncError, type SyncResult } from './membership.ts';
import type { GroupMetrics } from './metrics.ts';
import { type CommittedOffset, expiredOffsets } from './offsets.ts';
import {
  type CoordinatorRecord,
  groupWriteError,
  type OffsetsLog,
  offsetWriteError,
} from './offsets-store.ts';
import { OffsetsTopic } from './offsets-topic.ts';
import { OffsetsPartitions, type OwnedPartition } from './ownership.ts';
import {
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
} from './records.ts';

export interface CoordinatorConfig {
  offsetsTopicPartitions: number;
  offsetsTopicReplicationFactor: number;
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  maxSize: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
}

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

export interface CoordinatorNode {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export interface CommitPartition {
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

export interface CommitRequest {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2–v4's retention time; -1 for the broker's. */
  retentionTimeMs: number;
  topics: Array<{ name: string; partitions: CommitPartition[] }>;
}

export type PartitionErrors = Array<{
  name: string;
  partitions: Array<{ partition: number; errorCode: number }>;
}>;

export interface FetchedPartition {
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface FetchResult {
  errorCode: number;
  topics: Array<{ name: string; partitions: FetchedPartition[] }>;
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: GroupState;
}

const NO_NODE = { nodeId: -1, host: '', port: -1 };

export class GroupCoordinator {
  readonly #d: CoordinatorDeps;
  readonly #log: Logger;
  readonly #env: GroupEnv;
  readonly #partitions: OffsetsPartitions;
  #closed = false;
  #retentionTimer: TimerHandle | null = null;
  readonly #offsetsTopic: OffsetsTopic;

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
      store: (group, assignments, done) => this.#storeGroup(group, group.toRecord(assignments), done),
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
  }

  /** Starts loading the offsets partitions this broker leads, and the offsets expiry. */
  start(): void {
    this.#partitions.follow();
    this.#scheduleRetention();
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
    if (this.#retentionTimer !== null) this.#d.clock.clearTimeout(this.#retentionTimer);
    this.#partitions.close();
  }

  /** The groups this broker coordinates now (loaded partitions only). */
  groups(): IterableIterator<ClassicGroup> {
    return this.#partitions.groups();
  }

  partitionCounts(): Record<'loading' | 'active' | 'failed', number> {
    return this.#partitions.partitionCounts();
  }

  #storeGroup(group: ClassicGroup, value: GroupMetadataValue, done: (errorCode: number) => void): void {
    const owned = this.#partitions.ownerOf(group.groupId);
    const record = { key: encodeGroupMetadataKey(group.groupId), value: encodeGroupMetadataValue(value) };
    const write = owned ? owned.log.append([record]) : Promise.resolve(ErrorCode.NOT_COORDINATOR);
    write
      .then(groupWriteError, () => ErrorCode.UNKNOWN_SERVER_ERROR)
      .then(done)
      .catch((err: unknown) => this.#log.error({ err, group: group.groupId }, 'Group failed after a write'));
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

  // --- offsets ---------------------------------------------------------------------------------

  async commitOffsets(groupId: string, req: CommitRequest): Promise<PartitionErrors> {
    const all = (errorCode: number): PartitionErrors =>
      req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode })),
      }));
    const route = this.#partitions.route(groupId, 'commit');
    if (!route.ok) return all(route.errorCode);
    let group = this.#partitions.get(groupId);
    if (!group) {
      // Generation -1: a consumer that assigns partitions itself, using Kafka only for offsets.
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = this.#partitions.create(groupId, route.owned);
    }
    const error = group.validateOffsetCommit(req.generationId, req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return all(error);

    const now = this.#d.clock.now();
    const image = this.#d.metadata();
    const maxMetadata = Math.min(this.#d.config.offsetMetadataMaxBytes, 0x7fff);
    const results: PartitionErrors = [];
    const accepted: Array<{
      topic: string;
      partition: number;
      value: CommittedOffset;
      result: { errorCode: number };
    }> = [];
    for (const t of req.topics) {
      const known = image.topics.get(t.name);
      const partitions = t.partitions.map((p) => {
        const result: { partition: number; errorCode: number } = {
          partition: p.partition,
          errorCode: ErrorCode.NONE,
        };
        const metadata = p.metadata ?? '';
        if (!known || p.partition < 0 || p.partition >= known.partitions.length) {
          result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else if (Buffer.byteLength(metadata, 'utf8') > maxMetadata) {
          result.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        } else {
          const value: CommittedOffset = {
            offset: p.offset,
            leaderEpoch: p.leaderEpoch,
            metadata,
            commitTimestamp: now,
            expireTimestamp: req.retentionTimeMs >= 0 ? now + req.retentionTimeMs : null,
          };
          accepted.push({ topic: t.name, partition: p.partition, value, result });
        }
        return result;
      });
      results.push({ name: t.name, partitions });
    }
    if (accepted.length === 0) return results;
    const records = accepted.map((a) => ({
      key: encodeOffsetCommitKey({ group: groupId, topic: a.topic, partition: a.partition }),
      value: encodeOffsetCommitValue(a.value),
    }));
    const code = offsetWriteError(await this.#append(route.owned, records));
    for (const a of accepted) a.result.errorCode = code;
    // The group may have been deleted (or unloaded) while the write was in flight.
    if (code === ErrorCode.NONE && this.#partitions.get(groupId) === group) {
      for (const a of accepted) group.offsets.set(a.topic, a.partition, a.value);
      this.#d.metrics?.offsetCommits.inc(accepted.length);
    }
    return results;
  }

  fetchOffsets(groupId: string, topics: Array<{ name: string; partitions: number[] }> | null): FetchResult {
    const route = this.#partitions.route(groupId, 'fetch');
    if (!route.ok) return { errorCode: route.errorCode, topics: [] };
    const offsets = this.#partitions.get(groupId)?.offsets;
    const fetched = (partition: number, o: CommittedOffset | undefined): FetchedPartition => ({
      partition,
      offset: o?.offset ?? -1n,
      leaderEpoch: o?.leaderEpoch ?? -1,
      metadata: o?.metadata ?? '',
      errorCode: ErrorCode.NONE,
    });
    if (topics === null) {
      return {
        errorCode: ErrorCode.NONE,
        topics: (offsets?.topics() ?? []).sort().map((name) => ({
          name,
          partitions: offsets!.partitions(name).map(([p, o]) => fetched(p, o)),
        })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => fetched(p, offsets?.get(t.name, p))),
      })),
    };
  }

  async deleteOffsets(
    groupId: string,
    topics: Array<{ name: string; partitions: number[] }>,
  ): Promise<{ errorCode: number; topics: PartitionErrors }> {
    const route = this.#partitions.route(groupId, 'delete');
    if (!route.ok) return { errorCode: route.errorCode, topics: [] };
    const group = this.#partitions.get(groupId);
    if (!group || group.state === 'Dead') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    const active = group.state !== 'Empty';
    if (active && group.protocolType !== CONSUMER_PROTOCOL_TYPE) {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    }
    const image = this.#d.metadata();
    const tombstones: CoordinatorRecord[] = [];
    const results: PartitionErrors = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((partition) => {
        const known = image.topics.get(t.name);
        if (!known || partition < 0 || partition >= known.partitions.length) {
          return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        }
        if (active && group.isSubscribedTo(t.name))
          return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        if (group.offsets.delete(t.name, partition)) {
          tombstones.push({
            key: encodeOffsetCommitKey({ group: groupId, topic: t.name, partition }),
            value: null,
          });
        }
        return { partition, errorCode: ErrorCode.NONE };
      }),
    }));
    if (tombstones.length === 0) return { errorCode: ErrorCode.NONE, topics: results };
    const code = offsetWriteError(await this.#append(route.owned, tombstones));
    return { errorCode: code, topics: results };
  }

  // --- describing, listing, deleting groups ----------------------------------------------------

  describeGroup(groupId: string): { errorCode: number } & GroupDescription {
    const route = this.#partitions.route(groupId, 'describe');
    if (!route.ok)
      return { errorCode: route.errorCode, state: 'Dead', protocolType: '', protocolData: '', members: [] };
    const group = this.#partitions.get(groupId);
    if (!group)
      return { errorCode: ErrorCode.NONE, state: 'Dead', protocolType: '', protocolData: '', members: [] };
    return { errorCode: ErrorCode.NONE, ...group.describe() };
  }

  /** Groups coordinated here, filtered by state and type (both case-insensitive; empty: all). */
  listGroups(states: string[], types: string[]): { errorCode: number; groups: ListedGroup[] } {
    if (this.#closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    this.#partitions.follow();
    const loading = this.#partitions.loading;
    const wantStates = new Set(states.map((s) => s.toLowerCase()));
    // Every group here is a classic group; a filter without 'classic' matches none of them.
    if (types.length > 0 && !types.some((t) => t.toLowerCase() === 'classic')) {
      return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups: [] };
    }
    const groups: ListedGroup[] = [];
    for (const g of this.#partitions.groups()) {
      if (g.state === 'Dead') continue;
      if (wantStates.size > 0 && !wantStates.has(g.state.toLowerCase())) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
    }
    return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  async deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    return Promise.all(groupIds.map((id) => this.#deleteGroup(id)));
  }

  async #deleteGroup(groupId: string): Promise<{ groupId: string; errorCode: number }> {
    const route = this.#partitions.route(groupId, 'delete');
    if (!route.ok) return { groupId, errorCode: route.errorCode };
    const group = this.#partitions.get(groupId);
    if (!group || group.state === 'Dead') return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
    if (group.state !== 'Empty') return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
    const tombstones = this.#tombstones(group, [...group.offsets.entries()], true);
    this.#partitions.remove(group);
    this.#log.info({ group: groupId }, 'Deleted group');
    const code = groupWriteError(await this.#append(route.owned, tombstones));
    return { groupId, errorCode: code };
  }

  #tombstones(
    group: ClassicGroup,
    offsets: Array<{ topic: string; partition: number }>,
    withGroup: boolean,
  ): CoordinatorRecord[] {
    const records: CoordinatorRecord[] = offsets.map((o) => ({
      key: encodeOffsetCommitKey({ group: group.groupId, topic: o.topic, partition: o.partition }),
      value: null,
    }));
    if (withGroup) records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
    return records;
  }

  #append(owned: OwnedPartition, records: CoordinatorRecord[]): Promise<number> {
    return owned.log.append(records).catch((err: unknown) => {
      this.#log.error({ err, partition: owned.partition }, 'Offsets topic write failed');
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    });
  }

  // --- offsets retention -----------------------------------------------------------------------

  #scheduleRetention(): void {
    if (this.#closed) return;
    this.#retentionTimer = this.#d.clock.setTimeout(
      () => {
        this.#retentionTimer = null;
        this.expireOffsets();
        this.#scheduleRetention();
      },
      Math.min(this.#d.config.offsetsRetentionCheckIntervalMs, MAX_TIMER_DELAY_MS),
    );
  }

  /**
   * Removes expired offsets (./offsets.ts has the rule), and Empty groups left with no offsets,
   * writing tombstones for both. Runs every `offsets.retention.check.interval.ms`.
   */
  expireOffsets(): void {
    const now = this.#d.clock.now();
    let removedOffsets = 0;
    let removedGroups = 0;
    for (const { owned, groups } of this.#partitions.active()) {
      const records: CoordinatorRecord[] = [];
      for (const group of groups) {
        const expired = expiredOffsets({
          offsets: group.offsets,
          state: group.state,
          protocolType: group.protocolType,
          stateTimestamp: group.stateTimestamp,
          subscribedTopics: group.subscribedTopics,
          now,
          retentionMs: this.#d.config.offsetsRetentionMs,
        });
        for (const o of expired) group.offsets.delete(o.topic, o.partition);
        removedOffsets += expired.length;
        // A group that is empty in every sense is forgotten, unless a member is about to join it.
        const forget = group.state === 'Empty' && group.offsets.size === 0 && group.pendingMemberCount === 0;
        records.push(...this.#tombstones(group, expired, forget));
        if (forget) {
          this.#partitions.remove(group);
          removedGroups++;
        }
      }
      if (records.length > 0) void this.#append(owned, records);
    }
    if (removedOffsets + removedGroups > 0) {
      this.#log.info({ offsets: removedOffsets, groups: removedGroups }, 'Expired offsets and empty groups');
    }
  }
}
