/**
 * The member bookkeeping of one classic group: its members in join order, the static members by
 * group instance id, the leader, the member ids handed out with MEMBER_ID_REQUIRED that have not
 * joined yet (KIP-394), and each member's session timer. It keeps these consistent with one
 * another (a removed member loses its session, its instance id and, if it led, the lead); what an
 * expiry means for the group is the group's business, told through the two callbacks.
 */
import { type Clock, MAX_TIMER_DELAY_MS, type TimerHandle } from '../../common/clock.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { GroupMember, JoinResult } from './membership.ts';

/** A delay the clock accepts: never negative, never past the longest timer it can set. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(ms, 0), MAX_TIMER_DELAY_MS);
}

export interface GroupMembersOptions {
  clock: Clock;
  /** A member's session timer fired (it is no longer scheduled; the member is still there). */
  onSessionExpired: (memberId: string) => void;
  /** A pending member id was not used in time (it is already forgotten). */
  onPendingExpired: (memberId: string) => void;
}

export class GroupMembers {
  readonly #o: GroupMembersOptions;
  /** In join order: the first becomes leader when the leader leaves. */
  readonly #members = new Map<string, GroupMember>();
  readonly #staticMembers = new Map<string, string>();
  #leaderId: string | null = null;
  /** Ids handed out with MEMBER_ID_REQUIRED, awaiting their JoinGroup; each with its expiry. */
  readonly #pendingMembers = new Map<string, TimerHandle>();
  readonly #sessionTimers = new Map<string, TimerHandle>();

  constructor(options: GroupMembersOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#members.size;
  }
  get leaderId(): string | null {
    return this.#leaderId;
  }
  set leaderId(memberId: string | null) {
    this.#leaderId = memberId;
  }
  has(memberId: string): boolean {
    return this.#members.has(memberId);
  }
  get(memberId: string): GroupMember | undefined {
    return this.#members.get(memberId);
  }
  /** In join order. */
  values(): IterableIterator<GroupMember> {
    return this.#members.values();
  }
  /** In join order. */
  ids(): IterableIterator<string> {
    return this.#members.keys();
  }
  list(): GroupMember[] {
    return [...this.#members.values()];
  }
  /** The member that joined first, or null. */
  firstId(): string | null {
    return this.#members.keys().next().value ?? null;
  }
  staticMemberId(groupInstanceId: string): string | undefined {
    return this.#staticMembers.get(groupInstanceId);
  }

  add(member: GroupMember): void {
    this.#members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.#staticMembers.set(member.groupInstanceId, member.memberId);
  }

  /** Forgets a member: its session, its pending id, its instance id; a new leader if it led. */
  remove(member: GroupMember): void {
    const id = member.memberId;
    this.#members.delete(id);
    if (member.groupInstanceId !== null && this.#staticMembers.get(member.groupInstanceId) === id) {
      this.#staticMembers.delete(member.groupInstanceId);
    }
    this.cancelSession(id);
    this.removePending(id);
    if (this.#leaderId === id) this.#leaderId = this.firstId();
  }

  /** Moves a static member from one id to another (the caller answers what waited under the old). */
  rename(instanceId: string, fromId: string, toId: string): GroupMember {
    const member = this.#members.get(fromId)!;
    this.cancelSession(fromId);
    this.#members.delete(fromId);
    member.memberId = toId;
    this.#members.set(toId, member);
    if (this.#leaderId === fromId) this.#leaderId = toId;
    this.#staticMembers.set(instanceId, toId);
    return member;
  }

  /** Forgets every member (not their timers: see cancelAllTimers). */
  clear(): void {
    this.#members.clear();
    this.#staticMembers.clear();
    this.#leaderId = null;
  }

  /** The member id and instance id name a current member (FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID). */
  validate(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.#staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.#members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** The longest rebalance timeout among the members: how long a join or sync phase may last. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.#members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  awaitingJoinCount(): number {
    let n = 0;
    for (const m of this.#members.values()) if (m.awaitingJoin) n++;
    return n;
  }

  /** Every member with its metadata for `protocol`: what the leader is given to assign. */
  metadata(protocol: string): JoinResult['members'] {
    return [...this.#members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(protocol),
    }));
  }

  // --- sessions --------------------------------------------------------------------------------

  scheduleSession(member: GroupMember, timeoutMs: number): void {
    const id = member.memberId;
    this.cancelSession(id);
    const timer = this.#o.clock.setTimeout(() => {
      if (this.#sessionTimers.get(id) !== timer) return;
      this.#sessionTimers.delete(id);
      this.#o.onSessionExpired(id);
    }, timerDelay(timeoutMs));
    this.#sessionTimers.set(id, timer);
  }

  cancelSession(memberId: string): void {
    const timer = this.#sessionTimers.get(memberId);
    if (timer !== undefined) this.#o.clock.clearTimeout(timer);
    this.#sessionTimers.delete(memberId);
  }

  // --- pending member ids ----------------------------------------------------------------------

  get pendingCount(): number {
    return this.#pendingMembers.size;
  }
  isPending(memberId: string): boolean {
    return this.#pendingMembers.has(memberId);
  }

  addPending(memberId: string, sessionTimeoutMs: number): void {
    const timer = this.#o.clock.setTimeout(() => {
      if (this.#pendingMembers.get(memberId) !== timer) return;
      this.#pendingMembers.delete(memberId);
      this.#o.onPendingExpired(memberId);
    }, timerDelay(sessionTimeoutMs));
    this.#pendingMembers.set(memberId, timer);
  }

  removePending(memberId: string): boolean {
    const timer = this.#pendingMembers.get(memberId);
    if (timer === undefined) return false;
    this.#o.clock.clearTimeout(timer);
    this.#pendingMembers.delete(memberId);
    return true;
  }

  /** Stops every session and forgets every pending id (the group is unloaded or deleted). */
  cancelAllTimers(): void {
    for (const id of [...this.#sessionTimers.keys()]) this.cancelSession(id);
    for (const id of [...this.#pendingMembers.keys()]) this.removePending(id);
  }
}
