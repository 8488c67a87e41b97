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
 */
import { type Clock, MAX_TIMER_DELAY_MS, type TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { decodeSubscription } from '../../protocol/consumer-protocol.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { EMPTY_BUFFER } from '../../protocol/primitives/index.ts';
import {
  GroupMember,
  joinError,
  type JoinCallback,
  type JoinResult,
  type Protocol,
  protocolNames,
  selectProtocol,
  syncError,
  type SyncCallback,
  type SyncResult,
} from './membership.ts';
import {
  CONSUMER_PROTOCOL_TYPE,
  type GroupDescription,
  type GroupState,
  type HeartbeatRequest,
  type JoinRequest,
  type LeaveResult,
  type MemberIdentity,
  type SyncRequest,
} from './group-api.ts';
import { OffsetTable } from './offsets.ts';
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

/** The states each state may be entered from (Kafka's validPreviousStates). */
const PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'],
};

export interface GroupConfig {
  initialRebalanceDelayMs: number;
  maxSize: number;
  /** How long a member may wait for its first JoinGroup answer (Kafka: 5 minutes). */
  newMemberJoinTimeoutMs: number;
}

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

function timerDelay(ms: number): number {
  return Math.min(Math.max(ms, 0), MAX_TIMER_DELAY_MS);
}

export class ClassicGroup {
  readonly groupId: string;
  readonly offsets = new OffsetTable();
  readonly #env: GroupEnv;
  readonly #log: Logger;
  #state: GroupState = 'Empty';
  #stateTimestamp: number;
  #generationId = 0;
  #protocolType: string | null = null;
  #protocolName: string | null = null;
  #leaderId: string | null = null;
  #subscribedTopics: Set<string> | null = null;
  /** In join order: the first becomes leader when the leader leaves. */
  readonly #members = new Map<string, GroupMember>();
  readonly #staticMembers = new Map<string, string>();
  /** Ids handed out with MEMBER_ID_REQUIRED, awaiting their JoinGroup; each with its expiry. */
  readonly #pendingMembers = new Map<string, TimerHandle>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly #pendingSync = new Set<string>();
  readonly #sessionTimers = new Map<string, TimerHandle>();
  #joinTimer: TimerHandle | null = null;
  #syncTimer: TimerHandle | null = null;
  /** Set while a new group waits out `group.initial.rebalance.delay.ms`. */
  #initialDelay: { remainingMs: number } | null = null;
  #newMemberAdded = false;

  constructor(groupId: string, env: GroupEnv) {
    this.groupId = groupId;
    this.#env = env;
    this.#log = env.log.child({ group: groupId });
    this.#stateTimestamp = env.clock.now();
  }

  /** A group as its last GroupMetadata record left it: Stable with its members, or Empty. */
  static fromRecord(groupId: string, value: GroupMetadataValue, env: GroupEnv): ClassicGroup {
    const g = new ClassicGroup(groupId, env);
    g.#protocolType = value.protocolType === '' ? null : value.protocolType;
    g.#generationId = value.generation;
    g.#protocolName = value.protocol;
    if (value.currentStateTimestamp >= 0) g.#stateTimestamp = value.currentStateTimestamp;
    for (const m of value.members) {
      const member = new GroupMember({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        protocolType: value.protocolType,
        protocols: value.protocol === null ? [] : [{ name: value.protocol, metadata: m.subscription }],
      });
      member.assignment = m.assignment;
      g.#members.set(m.memberId, member);
      if (m.groupInstanceId !== null) g.#staticMembers.set(m.groupInstanceId, m.memberId);
    }
    const leader = value.leader;
    g.#leaderId = leader !== null && g.#members.has(leader) ? leader : ([...g.#members.keys()][0] ?? null);
    g.#state = g.#members.size > 0 && value.protocol !== null ? 'Stable' : 'Empty';
    if (g.#state === 'Empty') g.#clearMembers();
    g.#subscribedTopics = g.#computeSubscribedTopics();
    return g;
  }

  /**
   * Starts serving a group just loaded: every member gets a full session to heartbeat, and a group
   * larger than `group.max.size` (lowered since it was written) rebalances to shed members.
   */
  onLoaded(): void {
    if (this.#members.size > this.#env.config.maxSize) {
      this.#prepareRebalance(`loaded with ${this.#members.size} members, above group.max.size`);
    }
    for (const m of this.#members.values()) this.#scheduleSession(m, m.sessionTimeoutMs);
  }

  // --- what others read ------------------------------------------------------------------------

  get state(): GroupState {
    return this.#state;
  }
  get stateTimestamp(): number {
    return this.#stateTimestamp;
  }
  get generationId(): number {
    return this.#generationId;
  }
  get protocolType(): string | null {
    return this.#protocolType;
  }
  get protocolName(): string | null {
    return this.#protocolName;
  }
  get leaderId(): string | null {
    return this.#leaderId;
  }
  get size(): number {
    return this.#members.size;
  }
  get members(): readonly GroupMember[] {
    return [...this.#members.values()];
  }
  get pendingMemberCount(): number {
    return this.#pendingMembers.size;
  }
  get subscribedTopics(): ReadonlySet<string> | null {
    return this.#subscribedTopics;
  }
  has(memberId: string): boolean {
    return this.#members.has(memberId);
  }
  member(memberId: string): GroupMember | undefined {
    return this.#members.get(memberId);
  }
  staticMemberId(groupInstanceId: string): string | undefined {
    return this.#staticMembers.get(groupInstanceId);
  }

  /** Whether members consume `topic`; true when that cannot be told (so nothing is deleted). */
  isSubscribedTo(topic: string): boolean {
    return this.#subscribedTopics === null || this.#subscribedTopics.has(topic);
  }

  /** The GroupMetadata record for the group as it is now, with these assignments. */
  toRecord(assignments: ReadonlyMap<string, Buffer>): GroupMetadataValue {
    const protocol = this.#protocolName;
    return {
      protocolType: this.#protocolType ?? '',
      generation: this.#generationId,
      protocol,
      leader: this.#leaderId,
      currentStateTimestamp: this.#stateTimestamp,
      members: [...this.#members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: protocol === null ? EMPTY_BUFFER : m.metadataFor(protocol),
        assignment: assignments.get(m.memberId) ?? EMPTY_BUFFER,
      })),
    };
  }

  describe(): GroupDescription {
    const stable = this.#state === 'Stable' && this.#protocolName !== null;
    return {
      state: this.#state,
      protocolType: this.#protocolType ?? '',
      protocolData: stable ? this.#protocolName! : '',
      members: [...this.#members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(this.#protocolName!) : EMPTY_BUFFER,
        assignment: stable ? m.assignment : EMPTY_BUFFER,
      })),
    };
  }

  // --- JoinGroup -------------------------------------------------------------------------------

  join(req: JoinRequest, respond: JoinCallback): void {
    if (this.#state === 'Dead') {
      respond(joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    } else if (!this.#acceptsJoiningMember(req.memberId)) {
      const member = this.#members.get(req.memberId);
      if (member) this.#removeMember(member);
      respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    } else if (!this.#supportsProtocols(req.protocolType, req.protocols)) {
      respond(joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    } else if (req.memberId === '') {
      this.#newMemberJoin(req, respond);
    } else {
      this.#currentMemberJoin(req, respond);
    }
    if (this.#state === 'PreparingRebalance') this.#tryCompleteJoin();
  }

  /**
   * Room for this member? Existing members always fit; new ones up to `group.max.size`. While
   * rebalancing, members that have rejoined are counted rather than the whole group, so a group
   * over the limit (after the limit was lowered) sheds the members that rejoin last.
   */
  #acceptsJoiningMember(memberId: string): boolean {
    const max = this.#env.config.maxSize;
    switch (this.#state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (this.#members.get(memberId)?.awaitingJoin ?? false) || this.#awaitingJoinCount() < max;
      case 'CompletingRebalance':
      case 'Stable':
        return this.#members.has(memberId) || this.#members.size < max;
    }
  }

  #supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    const names = protocolNames(protocols);
    if (this.#state === 'Empty') return protocolType !== '' && names.size > 0;
    if (this.#protocolType !== protocolType) return false;
    // As Kafka counts it: a member's own previous protocols count towards the votes.
    const n = this.#members.size;
    for (const name of names) {
      let supporters = 0;
      for (const m of this.#members.values()) if (m.protocols.some((p) => p.name === name)) supporters++;
      if (supporters === n) return true;
    }
    return false;
  }

  #newMemberJoin(req: JoinRequest, respond: JoinCallback): void {
    const newId = this.#env.newMemberId(req.groupInstanceId ?? req.clientId);
    if (req.groupInstanceId !== null) {
      const oldId = this.#staticMembers.get(req.groupInstanceId);
      if (oldId !== undefined) this.#replaceStaticMember(req, oldId, newId, respond);
      else this.#addMemberAndRebalance(newId, req, respond);
    } else if (req.requireKnownMemberId) {
      this.#addPendingMember(newId, req.sessionTimeoutMs);
      respond(joinError(newId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.#addMemberAndRebalance(newId, req, respond);
    }
  }

  #currentMemberJoin(req: JoinRequest, respond: JoinCallback): void {
    const { memberId } = req;
    if (this.#pendingMembers.has(memberId)) {
      // Pending ids are only handed to dynamic members; a static one cannot hold one.
      if (req.groupInstanceId !== null) respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      else this.#addMemberAndRebalance(memberId, req, respond);
      return;
    }
    const error = this.#validateMember(memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) {
      respond(joinError(memberId, error));
      return;
    }
    const member = this.#members.get(memberId)!;
    switch (this.#state) {
      case 'PreparingRebalance':
        this.#updateMemberAndRebalance(member, req, respond);
        return;
      case 'CompletingRebalance':
        // Same metadata: it probably missed the JoinGroup answer; give it this generation again.
        if (member.matches(req.protocols)) respond(this.#currentGenerationResult(member, true));
        else this.#updateMemberAndRebalance(member, req, respond);
        return;
      case 'Stable':
        // A leader's rejoin rebalances: that is how a consumer reacts to metadata changes
        // (new partitions, new matching topics) that change no member's subscription.
        if (memberId === this.#leaderId || !member.matches(req.protocols)) {
          this.#updateMemberAndRebalance(member, req, respond);
        } else {
          respond(this.#currentGenerationResult(member, false));
        }
        return;
      case 'Empty':
      case 'Dead':
        respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  #currentGenerationResult(member: GroupMember, withMembersForLeader: boolean): JoinResult {
    const isLeader = member.memberId === this.#leaderId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.#generationId,
      protocolType: this.#protocolType,
      protocolName: this.#protocolName,
      leader: this.#leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: withMembersForLeader && isLeader ? this.#memberMetadata() : [],
    };
  }

  #memberMetadata(): JoinResult['members'] {
    const protocol = this.#protocolName!;
    return [...this.#members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(protocol),
    }));
  }

  #addMemberAndRebalance(memberId: string, req: JoinRequest, respond: JoinCallback): void {
    const member = new GroupMember({ ...req, memberId });
    member.isNew = true;
    // A member arriving during a new group's initial delay extends the delay (up to its limit).
    if (this.#state === 'PreparingRebalance' && this.#generationId === 0) this.#newMemberAdded = true;
    if (this.#members.size === 0) this.#protocolType = req.protocolType;
    this.#members.set(memberId, member);
    this.#leaderId ??= memberId;
    member.joinCallback = respond;
    if (req.groupInstanceId !== null) this.#staticMembers.set(req.groupInstanceId, memberId);
    this.#removePendingMember(memberId);
    // It has no id to heartbeat with until answered; if it gave up meanwhile, it goes after this.
    this.#scheduleSession(member, this.#env.config.newMemberJoinTimeoutMs);
    this.#maybePrepareRebalance(`member ${memberId} joined${req.reason ? ` (${req.reason})` : ''}`);
  }

  #updateMemberAndRebalance(member: GroupMember, req: JoinRequest, respond: JoinCallback): void {
    this.#updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, respond);
    this.#maybePrepareRebalance(
      `member ${member.memberId} rejoined in ${this.#state}${req.reason ? ` (${req.reason})` : ''}`,
    );
  }

  #updateMember(
    member: GroupMember,
    protocols: Protocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    respond: JoinCallback | null,
  ): void {
    member.protocols = protocols;
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (member.joinCallback && respond && member.joinCallback !== respond) {
      // A second JoinGroup while the first waits: the first is superseded (one answer each).
      member.completeJoin(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    }
    member.joinCallback = respond;
  }

  /**
   * A static member came back without its member id (a restart): it takes over its old identity
   * under a new id, fencing whoever still uses the old one. A stable group keeps its generation and
   * assignment — that is the point of static membership — unless the member's protocols would now
   * select another protocol.
   */
  #replaceStaticMember(req: JoinRequest, oldId: string, newId: string, respond: JoinCallback): void {
    const instanceId = req.groupInstanceId!;
    const currentLeader = this.#leaderId;
    const member = this.#renameMember(instanceId, oldId, newId);
    this.#scheduleSession(member, member.sessionTimeoutMs);
    const old = {
      protocols: member.protocols,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      sessionTimeoutMs: member.sessionTimeoutMs,
    };
    this.#updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, respond);
    switch (this.#state) {
      case 'Stable': {
        if (selectProtocol(this.members) !== this.#protocolName) {
          this.#maybePrepareRebalance(`static member ${instanceId} rejoined with other protocols`);
          return;
        }
        const generation = this.#generationId;
        const assignments = new Map([...this.#members.values()].map((m) => [m.memberId, m.assignment]));
        this.#env.store(this, assignments, (errorCode) => {
          const unchanged =
            this.#state === 'Stable' &&
            this.#generationId === generation &&
            this.#members.get(newId) === member &&
            member.joinCallback === respond;
          if (!unchanged) return; // a rebalance took over; the member's JoinGroup waits for it
          if (errorCode !== ErrorCode.NONE) {
            this.#log.warn({ instanceId, errorCode }, 'Failed to store a static member rejoin; reverting it');
            this.#updateMember(member, old.protocols, old.rebalanceTimeoutMs, old.sessionTimeoutMs, null);
            const reverted = this.#renameMember(instanceId, newId, oldId);
            this.#scheduleSession(reverted, reverted.sessionTimeoutMs);
            respond({
              ...this.#currentGenerationResult(reverted, false),
              memberId: '',
              leader: currentLeader ?? '',
              errorCode,
            });
            return;
          }
          const isLeader = newId === this.#leaderId;
          member.completeJoin({
            ...this.#currentGenerationResult(member, false),
            // From v9 the leader is told it leads but must not reassign (KIP-814); before, it is
            // given the old leader id so that it does not believe it leads and run the assignor.
            leader: req.supportSkippingAssignment ? (this.#leaderId ?? '') : (currentLeader ?? ''),
            skipAssignment: req.supportSkippingAssignment && isLeader,
            members: req.supportSkippingAssignment && isLeader ? this.#memberMetadata() : [],
          });
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may be assigning to the old id; only a new generation can include the new one.
        this.#prepareRebalance(
          `static member ${instanceId} rejoined while the group was completing a rebalance`,
        );
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        // A group in these states has no members, so no static member to replace.
        throw new Error(`group ${this.groupId} in state ${this.#state} has static member ${instanceId}`);
    }
  }

  /** Moves a static member to a new id, answering any request waiting under the old one. */
  #renameMember(instanceId: string, fromId: string, toId: string): GroupMember {
    const member = this.#members.get(fromId)!;
    member.completeJoin(joinError(fromId, ErrorCode.FENCED_INSTANCE_ID));
    member.completeSync(syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.#cancelSession(fromId);
    this.#members.delete(fromId);
    member.memberId = toId;
    this.#members.set(toId, member);
    if (this.#leaderId === fromId) this.#leaderId = toId;
    this.#staticMembers.set(instanceId, toId);
    if (this.#pendingSync.delete(fromId)) this.#pendingSync.add(toId);
    return member;
  }

  #addPendingMember(memberId: string, sessionTimeoutMs: number): void {
    const timer = this.#env.clock.setTimeout(() => {
      if (this.#pendingMembers.get(memberId) !== timer) return;
      this.#pendingMembers.delete(memberId);
      this.#log.debug({ memberId }, 'Pending member did not rejoin within its session timeout');
      if (this.#state === 'PreparingRebalance') this.#tryCompleteJoin();
    }, timerDelay(sessionTimeoutMs));
    this.#pendingMembers.set(memberId, timer);
  }

  #removePendingMember(memberId: string): boolean {
    const timer = this.#pendingMembers.get(memberId);
    if (timer === undefined) return false;
    this.#env.clock.clearTimeout(timer);
    this.#pendingMembers.delete(memberId);
    return true;
  }

  // --- rebalancing -----------------------------------------------------------------------------

  #maybePrepareRebalance(reason: string): void {
    if (PREVIOUS_STATES.PreparingRebalance.includes(this.#state)) this.#prepareRebalance(reason);
  }

  #prepareRebalance(reason: string): void {
    if (this.#state === 'CompletingRebalance') {
      this.#resetAndPropagateAssignmentError(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.#clearPendingSync();
    const fromEmpty = this.#state === 'Empty';
    this.#transition('PreparingRebalance');
    this.#log.info({ generation: this.#generationId, reason }, 'Preparing to rebalance group');
    const initialDelay = this.#env.config.initialRebalanceDelayMs;
    if (fromEmpty && initialDelay > 0) {
      this.#initialDelay = { remainingMs: Math.max(this.#rebalanceTimeoutMs() - initialDelay, 0) };
      this.#newMemberAdded = false;
      this.#setJoinTimer(initialDelay, () => this.#onInitialDelayExpired());
    } else {
      this.#setJoinTimer(this.#rebalanceTimeoutMs(), () => this.#completeJoin());
      this.#tryCompleteJoin();
    }
  }

  #onInitialDelayExpired(): void {
    const delay = this.#initialDelay!;
    if (this.#newMemberAdded && delay.remainingMs > 0) {
      const initialDelay = this.#env.config.initialRebalanceDelayMs;
      this.#newMemberAdded = false;
      const next = Math.min(initialDelay, delay.remainingMs);
      delay.remainingMs = Math.max(delay.remainingMs - initialDelay, 0);
      this.#setJoinTimer(next, () => this.#onInitialDelayExpired());
      return;
    }
    this.#initialDelay = null;
    this.#completeJoin();
  }

  #setJoinTimer(ms: number, fn: () => void): void {
    this.#cancelJoinTimer();
    const timer = this.#env.clock.setTimeout(() => {
      if (this.#joinTimer !== timer) return;
      this.#joinTimer = null;
      fn();
    }, timerDelay(ms));
    this.#joinTimer = timer;
  }

  #cancelJoinTimer(): void {
    if (this.#joinTimer !== null) this.#env.clock.clearTimeout(this.#joinTimer);
    this.#joinTimer = null;
  }

  #rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.#members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  #awaitingJoinCount(): number {
    let n = 0;
    for (const m of this.#members.values()) if (m.awaitingJoin) n++;
    return n;
  }

  /** Completes the join phase early once every member (and every pending id) has rejoined. */
  #tryCompleteJoin(): void {
    if (this.#state !== 'PreparingRebalance' || this.#initialDelay !== null) return;
    if (this.#pendingMembers.size > 0) return;
    for (const m of this.#members.values()) if (!m.awaitingJoin) return;
    this.#cancelJoinTimer();
    this.#completeJoin();
  }

  /** The end of the join phase: drop who did not rejoin, start the next generation, answer all. */
  #completeJoin(): void {
    if (this.#state !== 'PreparingRebalance') return;
    this.#cancelJoinTimer();
    // Static members keep their place while away (until their session expires): KIP-345.
    const gone = [...this.#members.values()].filter((m) => !m.awaitingJoin && !m.isStatic);
    if (gone.length > 0) {
      this.#log.info({ members: gone.map((m) => m.memberId) }, 'Removed members that did not rejoin in time');
      for (const m of gone) this.#removeMember(m);
    }
    if (this.#members.size > 0 && !this.#electJoinedLeader()) {
      // Only absent static members remain: wait another rebalance timeout for someone to rejoin.
      this.#log.warn('No member rejoined; waiting another rebalance timeout');
      this.#setJoinTimer(this.#rebalanceTimeoutMs(), () => this.#completeJoin());
      return;
    }
    const state = this.#initNextGeneration();
    this.#env.onRebalance?.(this);
    if (state === 'Empty') {
      this.#log.info({ generation: this.#generationId }, 'Group is now empty');
      this.#env.store(this, new Map(), (errorCode) => {
        // No member can be misled by the old generation coming back after a crash: it has none.
        if (errorCode !== ErrorCode.NONE) this.#log.warn({ errorCode }, 'Failed to store the empty group');
      });
      return;
    }
    this.#log.info(
      { generation: this.#generationId, members: this.#members.size, protocol: this.#protocolName },
      'Group completed its join phase',
    );
    for (const m of this.#members.values()) {
      m.completeJoin(this.#currentGenerationResult(m, true));
      this.#scheduleSession(m, m.sessionTimeoutMs);
      m.isNew = false;
      this.#pendingSync.add(m.memberId);
    }
    const generation = this.#generationId;
    this.#syncTimer = this.#env.clock.setTimeout(
      () => this.#onSyncExpired(generation),
      timerDelay(this.#rebalanceTimeoutMs()),
    );
  }

  /** The leader must be among those who rejoined; false when nobody rejoined. */
  #electJoinedLeader(): boolean {
    const leader = this.#leaderId === null ? undefined : this.#members.get(this.#leaderId);
    if (leader?.awaitingJoin) return true;
    const joined = [...this.#members.values()].find((m) => m.awaitingJoin);
    if (!joined) return false;
    this.#leaderId = joined.memberId;
    return true;
  }

  #initNextGeneration(): GroupState {
    this.#generationId++;
    if (this.#members.size > 0) {
      this.#protocolName = selectProtocol(this.members);
      this.#subscribedTopics = this.#computeSubscribedTopics();
      this.#transition('CompletingRebalance');
    } else {
      this.#protocolName = null;
      this.#subscribedTopics = this.#computeSubscribedTopics();
      this.#transition('Empty');
    }
    this.#pendingSync.clear();
    return this.#state;
  }

  #computeSubscribedTopics(): Set<string> | null {
    if (this.#protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.#members.size === 0) return new Set();
    if (this.#protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const m of this.#members.values()) {
        for (const t of decodeSubscription(m.metadataFor(this.#protocolName)).topics) topics.add(t);
      }
    } catch {
      return null;
    }
    return topics;
  }

  #onSyncExpired(generation: number): void {
    this.#syncTimer = null;
    if (generation !== this.#generationId) return;
    if (this.#state !== 'CompletingRebalance' && this.#state !== 'Stable') return;
    if (this.#pendingSync.size === 0) return;
    const missing = [...this.#pendingSync];
    this.#log.info({ members: missing }, 'Removed members that did not send SyncGroup in time');
    for (const id of missing) {
      const m = this.#members.get(id);
      if (m) this.#removeMember(m);
    }
    this.#prepareRebalance('members did not send SyncGroup within the rebalance timeout');
  }

  #clearPendingSync(): void {
    this.#pendingSync.clear();
    if (this.#syncTimer !== null) this.#env.clock.clearTimeout(this.#syncTimer);
    this.#syncTimer = null;
  }

  #transition(to: GroupState): void {
    if (!PREVIOUS_STATES[to].includes(this.#state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.#state} → ${to}`);
    }
    this.#state = to;
    this.#stateTimestamp = this.#env.clock.now();
  }

  // --- SyncGroup -------------------------------------------------------------------------------

  sync(req: SyncRequest, respond: SyncCallback): void {
    if (this.#state === 'Dead') {
      respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    const error = this.#validateMember(req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) {
      respond(syncError(error));
      return;
    }
    if (req.generationId !== this.#generationId) {
      respond(syncError(ErrorCode.ILLEGAL_GENERATION));
      return;
    }
    if (
      (req.protocolType !== null && req.protocolType !== this.#protocolType) ||
      (req.protocolName !== null && req.protocolName !== this.#protocolName)
    ) {
      respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const member = this.#members.get(req.memberId)!;
    switch (this.#state) {
      case 'Empty':
        respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      case 'PreparingRebalance':
        respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        return;
      case 'Stable':
        this.#pendingSync.delete(member.memberId);
        respond({
          errorCode: ErrorCode.NONE,
          protocolType: this.#protocolType,
          protocolName: this.#protocolName,
          assignment: member.assignment,
        });
        this.#scheduleSession(member, member.sessionTimeoutMs);
        return;
      case 'CompletingRebalance':
        // One answer per request: a SyncGroup superseded by another from the same member ends now.
        member.completeSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.syncCallback = respond;
        this.#pendingSync.delete(member.memberId);
        if (member.memberId === this.#leaderId) this.#storeAssignment(req.assignments);
    }
  }

  /** The leader's assignment: stored first, then handed to every member waiting for it. */
  #storeAssignment(fromLeader: ReadonlyMap<string, Buffer>): void {
    const assignments = new Map<string, Buffer>();
    for (const id of this.#members.keys()) assignments.set(id, fromLeader.get(id) ?? EMPTY_BUFFER);
    const generation = this.#generationId;
    this.#env.store(this, assignments, (errorCode) => {
      // A member may have joined or left meanwhile: then this generation is over and its
      // assignment moot.
      if (this.#state !== 'CompletingRebalance' || this.#generationId !== generation) return;
      if (errorCode !== ErrorCode.NONE) {
        this.#resetAndPropagateAssignmentError(errorCode);
        this.#maybePrepareRebalance('storing the assignment failed');
        return;
      }
      for (const m of this.#members.values()) m.assignment = assignments.get(m.memberId) ?? EMPTY_BUFFER;
      this.#transition('Stable');
      this.#log.info({ generation }, 'Group is stable');
      this.#propagateAssignment(ErrorCode.NONE);
    });
  }

  #resetAndPropagateAssignmentError(errorCode: number): void {
    for (const m of this.#members.values()) m.assignment = EMPTY_BUFFER;
    this.#propagateAssignment(errorCode);
  }

  #propagateAssignment(errorCode: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const m of this.#members.values()) {
      const answered = m.completeSync({
        errorCode,
        protocolType: ok ? this.#protocolType : null,
        protocolName: ok ? this.#protocolName : null,
        assignment: m.assignment,
      });
      // Its session was on hold while it waited; it starts afresh now.
      if (answered) this.#scheduleSession(m, m.sessionTimeoutMs);
    }
  }

  // --- Heartbeat, LeaveGroup, commits ----------------------------------------------------------

  heartbeat(req: HeartbeatRequest): number {
    if (this.#state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.#validateMember(req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (req.generationId !== this.#generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = this.#members.get(req.memberId)!;
    switch (this.#state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.#scheduleSession(member, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        // Members may heartbeat between their JoinGroup and SyncGroup answers: that is fine.
        this.#scheduleSession(member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
    }
  }

  leave(leaving: readonly MemberIdentity[]): LeaveResult {
    if (this.#state === 'Dead') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((l) => ({ ...l, errorCode: this.#leaveOne(l) }));
    return { errorCode: ErrorCode.NONE, members };
  }

  #leaveOne({ memberId, groupInstanceId }: MemberIdentity): number {
    const staticId = groupInstanceId === null ? undefined : this.#staticMembers.get(groupInstanceId);
    if (memberId !== '' && staticId !== undefined && staticId !== memberId)
      return ErrorCode.FENCED_INSTANCE_ID;
    if (this.#pendingMembers.has(memberId)) {
      if (groupInstanceId !== null) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.#removePendingMember(memberId);
      if (this.#state === 'PreparingRebalance') this.#tryCompleteJoin();
      return ErrorCode.NONE;
    }
    // With only an instance id (an admin removing a static member), the instance id decides.
    const member = this.#members.get(staticId ?? memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.#log.info({ memberId: member.memberId, groupInstanceId }, 'Member left the group');
    this.#removeMemberAndUpdateGroup(member);
    return ErrorCode.NONE;
  }

  /**
   * Checks an OffsetCommit against the group. Members commit with their generation; anyone may
   * commit to an Empty group with generation -1 (consumers that assign partitions themselves, and
   * admin tools). A valid commit also counts as a heartbeat.
   */
  validateOffsetCommit(generationId: number, memberId: string, groupInstanceId: string | null): number {
    if (this.#state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && this.#state === 'Empty') return ErrorCode.NONE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const error = this.#validateMember(memberId, groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      if (generationId !== this.#generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (this.#state !== 'Empty') {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (this.#state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = this.#members.get(memberId);
    // During PreparingRebalance commits still count: eager consumers commit before revoking.
    if (member) this.#scheduleSession(member, member.sessionTimeoutMs);
    return ErrorCode.NONE;
  }

  /** The member id and instance id name a current member (FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID). */
  #validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.#staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.#members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // --- member removal and sessions -------------------------------------------------------------

  #removeMemberAndUpdateGroup(member: GroupMember): void {
    // A JoinGroup still waiting gets UNKNOWN_MEMBER_ID: the client rejoins from scratch if alive.
    member.completeJoin(joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    member.completeSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.#removeMember(member);
    switch (this.#state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.#maybePrepareRebalance(`member ${member.memberId} left`);
        return;
      case 'PreparingRebalance':
        this.#tryCompleteJoin();
        return;
      default:
    }
  }

  #removeMember(member: GroupMember): void {
    const id = member.memberId;
    this.#members.delete(id);
    if (member.groupInstanceId !== null && this.#staticMembers.get(member.groupInstanceId) === id) {
      this.#staticMembers.delete(member.groupInstanceId);
    }
    this.#cancelSession(id);
    this.#removePendingMember(id);
    this.#pendingSync.delete(id);
    if (this.#leaderId === id) this.#leaderId = this.#members.keys().next().value ?? null;
  }

  #scheduleSession(member: GroupMember, timeoutMs: number): void {
    const id = member.memberId;
    this.#cancelSession(id);
    const timer = this.#env.clock.setTimeout(() => {
      if (this.#sessionTimers.get(id) !== timer) return;
      this.#sessionTimers.delete(id);
      this.#onSessionExpired(id);
    }, timerDelay(timeoutMs));
    this.#sessionTimers.set(id, timer);
  }

  #cancelSession(memberId: string): void {
    const timer = this.#sessionTimers.get(memberId);
    if (timer !== undefined) this.#env.clock.clearTimeout(timer);
    this.#sessionTimers.delete(memberId);
  }

  #onSessionExpired(memberId: string): void {
    const member = this.#members.get(memberId);
    if (!member || this.#state === 'Dead') return;
    // A member waiting for an answer cannot heartbeat; the rebalance timeout bounds it instead,
    // and its session restarts when it is answered. A new member is never answered in time.
    if (!member.isNew && (member.awaitingJoin || member.awaitingSync)) return;
    this.#log.info({ memberId, sessionTimeoutMs: member.sessionTimeoutMs }, 'Member session expired');
    this.#removeMemberAndUpdateGroup(member);
  }

  // --- end of life -----------------------------------------------------------------------------

  /**
   * The coordinator no longer serves this group (it stops, or another broker leads the partition):
   * requests still waiting are told NOT_COORDINATOR so their clients look for the new coordinator.
   */
  unload(): void {
    this.#transition('Dead');
    // Join answers wait in PreparingRebalance, and in Stable while a static rejoin is stored.
    for (const m of this.#members.values()) {
      m.completeJoin(joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
      m.completeSync(syncError(ErrorCode.NOT_COORDINATOR));
    }
    this.#cancelAllTimers();
  }

  /** Deleted (DeleteGroups, or expired with nothing left): only an Empty group can be. */
  markDead(): void {
    this.#transition('Dead');
    this.#cancelAllTimers();
  }

  #cancelAllTimers(): void {
    this.#cancelJoinTimer();
    this.#clearPendingSync();
    for (const id of [...this.#sessionTimers.keys()]) this.#cancelSession(id);
    for (const id of [...this.#pendingMembers.keys()]) this.#removePendingMember(id);
    this.#initialDelay = null;
  }

  #clearMembers(): void {
    this.#members.clear();
    this.#staticMembers.clear();
    this.#leaderId = null;
  }
}

export type { JoinResult, SyncResult };
