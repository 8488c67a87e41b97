/**
 * One classic consumer group: Kafka's group membership protocol (JoinGroup / SyncGroup / Heartbeat /
 * LeaveGroup) as a state machine. It is synchronous — every request is decided in one call — with
 * time read from the clock and timers set on it, so tests drive it with a FakeClock. Answers that
 * must wait (a JoinGroup until the rebalance completes, a SyncGroup until the leader's assignment is
 * stored) are callbacks the group calls later. Persistence is the `store` function it is given: the
 * group hands it a snapshot and reacts to its outcome, and never awaits anything itself.
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
 *     ▲                 ▲        │ (no member left)                               │ leader's SyncGroup
 *     └─────────────────┼────────┘                                                ▼ stored
 *                       └──── join of a new member, leader rejoin, leave, expiry ─ Stable
 *   Dead: unloaded (the coordinator moved or stopped) or deleted; nothing is answered from it.
 *
 * The rules follow Kafka's GroupCoordinator (3.x, classic protocol), including: members joining
 * without an id from JoinGroup v4 get one with MEMBER_ID_REQUIRED and must come back with it
 * (KIP-394); static members (group.instance.id, KIP-345) that rejoin with a new member id replace
 * their old id without a rebalance, unless their protocols changed the group's choice; a new group
 * waits `group.initial.rebalance.delay.ms` (extended while members keep arriving, up to the
 * rebalance timeout) before its first generation; members that do not send SyncGroup within the
 * rebalance timeout are removed (KIP-814's pending-sync expiry); a member awaiting a JoinGroup or
 * SyncGroup answer is not expired by its session timeout, which restarts once it is answered.
 *
 * This file is the group's face: what others read and ask of it. Its state is a GroupCore
 * (./group-core.ts) that only this class holds; the members and their timers are kept by
 * ./group-members.ts; the protocol runs in ./join.ts, ./rebalance.ts and ./member-requests.ts; the
 * records and descriptions it is seen through are computed by ./group-views.ts.
 */
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type {
  GroupDescription,
  GroupState,
  HeartbeatRequest,
  JoinRequest,
  LeaveResult,
  MemberIdentity,
  SyncRequest,
} from './group-api.ts';
import { type GroupConfig, GroupCore } from './group-core.ts';
import { computeSubscribedTopics, describeGroup, groupRecord, membersFromRecord } from './group-views.ts';
import { join } from './join.ts';
import { heartbeat, leave, onSessionExpired, sync, validateOffsetCommit } from './member-requests.ts';
import {
  type GroupMember,
  joinError,
  type JoinCallback,
  type JoinResult,
  type SyncCallback,
  syncError,
  type SyncResult,
} from './membership.ts';
import { OffsetTable } from './offsets.ts';
import { cancelAllTimers, onPendingMemberExpired, prepareRebalance } from './rebalance.ts';
import type { GroupMetadataValue } from './records.ts';

export type {
  GroupDescription,
  GroupState,
  HeartbeatRequest,
  JoinRequest,
  LeaveResult,
  MemberDescription,
  MemberIdentity,
  SyncRequest,
} from './group-api.ts';
export { CONSUMER_PROTOCOL_TYPE, GROUP_STATES } from './group-api.ts';
export type { GroupConfig } from './group-core.ts';

export interface GroupEnv {
  clock: Clock;
  config: GroupConfig;
  log: Logger;
  /** A new member id starting with `prefix` (the client id, or the group instance id). */
  newMemberId: (prefix: string) => string;
  /**
   * Persists the group's metadata (its members with these assignments); `done` is called once with
   * a Kafka error code, 0 when stored. It may be called before `store` returns.
   */
  store: (
    group: ClassicGroup,
    assignments: ReadonlyMap<string, Buffer>,
    done: (errorCode: number) => void,
  ) => void;
  /** Told each time a generation completes its join phase (a rebalance). */
  onRebalance?: (group: ClassicGroup) => void;
}

export class ClassicGroup {
  readonly groupId: string;
  readonly offsets = new OffsetTable();
  readonly #g: GroupCore;

  constructor(groupId: string, env: GroupEnv) {
    this.groupId = groupId;
    this.#g = new GroupCore({
      groupId,
      clock: env.clock,
      config: env.config,
      log: env.log.child({ group: groupId }),
      newMemberId: env.newMemberId,
      store: (assignments, done) => env.store(this, assignments, done),
      onRebalance: () => env.onRebalance?.(this),
      onSessionExpired: (memberId) => onSessionExpired(this.#g, memberId),
      onPendingExpired: (memberId) => onPendingMemberExpired(this.#g, memberId),
    });
  }

  /** A group as its last GroupMetadata record left it: Stable with its members, or Empty. */
  static fromRecord(groupId: string, value: GroupMetadataValue, env: GroupEnv): ClassicGroup {
    const group = new ClassicGroup(groupId, env);
    const g = group.#g;
    g.protocolType = value.protocolType === '' ? null : value.protocolType;
    g.generationId = value.generation;
    g.protocolName = value.protocol;
    if (value.currentStateTimestamp >= 0) g.stateTimestamp = value.currentStateTimestamp;
    for (const member of membersFromRecord(value)) g.members.add(member);
    const leader = value.leader;
    g.members.leaderId = leader !== null && g.members.has(leader) ? leader : g.members.firstId();
    g.state = g.members.size > 0 && value.protocol !== null ? 'Stable' : 'Empty';
    if (g.state === 'Empty') g.members.clear();
    g.subscribedTopics = computeSubscribedTopics(g);
    return group;
  }

  /**
   * Starts serving a group just loaded: every member gets a full session to heartbeat, and a group
   * larger than `group.max.size` (lowered since it was written) rebalances to shed members.
   */
  onLoaded(): void {
    const g = this.#g;
    if (g.members.size > g.config.maxSize) {
      prepareRebalance(g, `loaded with ${g.members.size} members, above group.max.size`);
    }
    for (const m of g.members.values()) g.members.scheduleSession(m, m.sessionTimeoutMs);
  }

  // --- what others read ------------------------------------------------------------------------

  get state(): GroupState {
    return this.#g.state;
  }
  get stateTimestamp(): number {
    return this.#g.stateTimestamp;
  }
  get generationId(): number {
    return this.#g.generationId;
  }
  get protocolType(): string | null {
    return this.#g.protocolType;
  }
  get protocolName(): string | null {
    return this.#g.protocolName;
  }
  get leaderId(): string | null {
    return this.#g.members.leaderId;
  }
  get size(): number {
    return this.#g.members.size;
  }
  get members(): readonly GroupMember[] {
    return this.#g.members.list();
  }
  get pendingMemberCount(): number {
    return this.#g.members.pendingCount;
  }
  get subscribedTopics(): ReadonlySet<string> | null {
    return this.#g.subscribedTopics;
  }
  has(memberId: string): boolean {
    return this.#g.members.has(memberId);
  }
  member(memberId: string): GroupMember | undefined {
    return this.#g.members.get(memberId);
  }
  staticMemberId(groupInstanceId: string): string | undefined {
    return this.#g.members.staticMemberId(groupInstanceId);
  }

  /** Whether members consume `topic`; true when that cannot be told (so nothing is deleted). */
  isSubscribedTo(topic: string): boolean {
    return this.#g.subscribedTopics === null || this.#g.subscribedTopics.has(topic);
  }

  /** The GroupMetadata record for the group as it is now, with these assignments. */
  toRecord(assignments: ReadonlyMap<string, Buffer>): GroupMetadataValue {
    return groupRecord(this.#g, assignments);
  }

  describe(): GroupDescription {
    return describeGroup(this.#g);
  }

  // --- what members ask ------------------------------------------------------------------------

  join(req: JoinRequest, respond: JoinCallback): void {
    join(this.#g, req, respond);
  }

  sync(req: SyncRequest, respond: SyncCallback): void {
    sync(this.#g, req, respond);
  }

  heartbeat(req: HeartbeatRequest): number {
    return heartbeat(this.#g, req);
  }

  leave(leaving: readonly MemberIdentity[]): LeaveResult {
    return leave(this.#g, leaving);
  }

  /**
   * Checks an OffsetCommit against the group. Members commit with their generation; anyone may
   * commit to an Empty group with generation -1 (consumers that assign partitions themselves, and
   * admin tools). A valid commit also counts as a heartbeat.
   */
  validateOffsetCommit(generationId: number, memberId: string, groupInstanceId: string | null): number {
    return validateOffsetCommit(this.#g, generationId, memberId, groupInstanceId);
  }

  // --- end of life -----------------------------------------------------------------------------

  /**
   * The coordinator no longer serves this group (it stops, or another broker leads the partition):
   * requests still waiting are told NOT_COORDINATOR so their clients look for the new coordinator.
   */
  unload(): void {
    const g = this.#g;
    g.transition('Dead');
    // Join answers wait in PreparingRebalance, and in Stable while a static rejoin is stored.
    for (const m of g.members.values()) {
      m.completeJoin(joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
      m.completeSync(syncError(ErrorCode.NOT_COORDINATOR));
    }
    cancelAllTimers(g);
  }

  /** Deleted (DeleteGroups, or expired with nothing left): only an Empty group can be. */
  markDead(): void {
    this.#g.transition('Dead');
    cancelAllTimers(this.#g);
  }
}

export type { JoinResult, SyncResult };
