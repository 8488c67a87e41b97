/**
 * The rebalance rounds of bench/groups.ts. A group of kafkajs members on one topic settles: steady
 * members, which stay, and one seat. In each round the seat's member leaves (LeaveGroup) and the
 * steady members are reassigned; then a new member takes the seat and all are reassigned again.
 * Each settled state is checked with DescribeGroups (Stable, the expected members, each with an
 * assignment) outside the timings.
 *
 * Members learn of a rebalance from their next heartbeat, and kafkajs heartbeats right after each
 * fetch; every member starts its fetch cycle when it receives its assignment, so after a rebalance
 * all cycles are in step. A member leaving "whenever" would then leave at the very moment the
 * others heartbeat, and whether their heartbeats come before or after the LeaveGroup — a race of a
 * millisecond — would decide between a rebalance of 10 ms and one of 110 ms (we saw both, in runs
 * of either broker). So each leave and join happens at a chosen point of the steady members' cycle,
 * counted from one steady member's heartbeat, spread over the cycle by a low-discrepancy sequence,
 * the same points for every target; the seat fetches with a short wait, so that it sends its
 * LeaveGroup soon after being told to leave.
 */
import { type Admin, AssignerProtocol } from 'kafkajs';
import { BenchGroup, type BenchMember, MEMBER_TIMING, type MemberTiming } from './members.ts';

export interface RebalanceOptions {
  bootstrap: string;
  admin: Admin;
  topic: string;
  groupId: string;
  partitions: number;
  /** Members of the full group: the steady ones and the seat. */
  members: number;
}

/** Milliseconds, for one round. */
export interface RoundFigures {
  /** LeaveGroup sent → every remaining member holds its new assignment. */
  afterLeave: number;
  /** The last JoinGroup of that rebalance sent → every member assigned: the broker's join and sync. */
  afterLeaveSync: number;
  /** A new member's first JoinGroup sent → every member, it included, holds its new assignment. */
  afterJoin: number;
  afterJoinSync: number;
}

const SETTLE_TIMEOUT_MS = 30_000;
/** The steady members' fetch-and-heartbeat cycle, near enough (a fetch takes its wait and a little). */
const CYCLE_MS = MEMBER_TIMING.maxWaitTimeInMs;
/** The seat's member fetches with a short wait: told to leave, it finishes its fetch, then leaves. */
const SEAT_TIMING: MemberTiming = { heartbeatInterval: MEMBER_TIMING.heartbeatInterval, maxWaitTimeInMs: 10 };

/** Where in the cycle round `i` leaves and joins: 0.5, 0.118, 0.736, 0.354… of it (golden-ratio steps). */
export function phaseMs(i: number): number {
  return ((0.5 + i * 0.6180339887) % 1) * CYCLE_MS;
}

/** A formed group whose seat changes hands once per {@link round}. */
export class RebalanceBench {
  readonly #options: RebalanceOptions;
  readonly #group: BenchGroup;
  /** A steady member: its heartbeats mark the cycle. */
  readonly #reference: BenchMember;
  #seat: BenchMember;

  private constructor(options: RebalanceOptions, group: BenchGroup, seat: BenchMember) {
    this.#options = options;
    this.#group = group;
    this.#reference = group.members[0]!;
    this.#seat = seat;
  }

  /** Forms the full group and waits until it is Stable. */
  static async form(options: RebalanceOptions): Promise<RebalanceBench> {
    const group = new BenchGroup(options);
    try {
      const formed = Date.now();
      for (let i = 0; i < options.members - 1; i++) group.add();
      const seat = group.add(SEAT_TIMING);
      await group.waitSettled(formed, SETTLE_TIMEOUT_MS);
      await expectStable(options, options.members);
      return new RebalanceBench(options, group, seat);
    } catch (err) {
      await group.close();
      throw err;
    }
  }

  /** The seat's member leaves and a new one takes the seat, each at `phase` ms into the cycle. */
  async round(phase: number): Promise<RoundFigures> {
    const group = this.#group;
    await this.#atPhase(phase);
    const leftAt = await group.remove(this.#seat);
    const leaveDone = await group.waitSettled(leftAt, SETTLE_TIMEOUT_MS);
    const leaveLastJoin = lastJoin(group.members, leftAt);
    await expectStable(this.#options, this.#options.members - 1);

    await this.#atPhase(phase);
    const added = Date.now();
    this.#seat = group.add(SEAT_TIMING);
    const joinDone = await group.waitSettled(added, SETTLE_TIMEOUT_MS);
    const joinedAt = Math.min(...this.#seat.joinSentAt.filter((t) => t >= added));
    const joinLastJoin = lastJoin(group.members, added);
    await expectStable(this.#options, this.#options.members);

    return {
      afterLeave: leaveDone - leftAt,
      afterLeaveSync: leaveDone - leaveLastJoin,
      afterJoin: joinDone - joinedAt,
      afterJoinSync: joinDone - joinLastJoin,
    };
  }

  /** Disconnects every member. */
  close(): Promise<void> {
    return this.#group.close();
  }

  /** Sleeps until `phase` ms after the reference member's next heartbeat (or whole cycles later). */
  async #atPhase(phase: number): Promise<void> {
    let moment = (await this.#reference.nextHeartbeat()) + phase;
    while (moment < Date.now()) moment += CYCLE_MS;
    await new Promise((r) => setTimeout(r, moment - Date.now()));
  }
}

/** The latest JoinGroup any member sent at or after `since`. */
function lastJoin(members: BenchMember[], since: number): number {
  const sent = members.map((m) => m.lastJoinSince(since)).filter((t) => t !== undefined);
  if (sent.length === 0) throw new Error('no member sent a JoinGroup in this rebalance');
  return Math.max(...sent);
}

/** DescribeGroups says Stable, with `members` members each holding a share of the topic. */
async function expectStable(options: RebalanceOptions, members: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const {
      groups: [group],
    } = await options.admin.describeGroups([options.groupId]);
    const shares = (group?.members ?? []).map(
      (m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[options.topic] ?? [],
    );
    const assigned = shares.flat().length;
    if (
      group?.state === 'Stable' &&
      shares.length === members &&
      shares.every((s) => s.length > 0) &&
      assigned === options.partitions
    ) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `DescribeGroups: ${group?.state ?? 'no group'} with ${shares.length} members and ${assigned} partitions assigned, not Stable with ${members}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
