/**
 * kafkajs consumer-group members for bench/groups.ts, all in the bench's own process, and the
 * group they form, with the moments that matter taken from kafkajs's own instrumentation:
 *   - a LeaveGroup or JoinGroup request's `sentAt` (its REQUEST event, emitted on the response);
 *   - each GROUP_JOIN event (the end of a member's join and sync: it holds its new assignment).
 * All are Date.now() values (milliseconds), so intervals between members share one clock.
 *
 * Members run `consumer.run()` over an empty topic, so their only traffic is the fetch long poll,
 * heartbeats and group requests: a few hundred small requests a second for the whole group, which
 * one event loop serves without delaying the timestamps of either target more than the other's.
 */
import { type Consumer, Kafka, logLevel } from 'kafkajs';

/**
 * How often a member fetches and heartbeats. A member notices a rebalance from its next heartbeat,
 * which kafkajs sends between fetches once `heartbeatInterval` has passed, so the fetch long poll
 * and the interval bound how long that takes. Their defaults (5 s and 3 s) would make the client's
 * wait the whole figure; a fetch of at most 100 ms and a heartbeat after each leave the broker's
 * part visible, the same for both targets.
 */
export interface MemberTiming {
  heartbeatInterval: number;
  maxWaitTimeInMs: number;
}

/** A heartbeat after every fetch: the interval is shorter than the fetch's wait. */
export const MEMBER_TIMING: MemberTiming = { heartbeatInterval: 50, maxWaitTimeInMs: 100 };

export interface MemberOptions {
  bootstrap: string;
  topic: string;
  groupId: string;
  clientId: string;
  timing: MemberTiming;
  /** Called after each GROUP_JOIN, so a waiter can look again. */
  onJoin?: () => void;
}

/** One kafkajs consumer in a group, and what it has been told. */
export class BenchMember {
  readonly clientId: string;
  readonly consumer: Consumer;
  /** Date.now() of the latest GROUP_JOIN, -1 before the first. */
  joinedAt = -1;
  /** The partitions of the latest assignment, sorted. */
  partitions: number[] = [];
  /** sentAt of every JoinGroup request answered so far. */
  readonly joinSentAt: number[] = [];
  /** sentAt of the LeaveGroup request, once answered. */
  leaveSentAt: number | undefined;
  /** Why kafkajs gave up, if it did (the member is then gone). */
  crashed: Error | undefined;
  #heartbeatWaiters: Array<(sentAt: number) => void> = [];

  constructor(options: MemberOptions) {
    this.clientId = options.clientId;
    const kafka = new Kafka({
      brokers: [options.bootstrap],
      clientId: options.clientId,
      logLevel: logLevel.NOTHING,
    });
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      ...options.timing,
      // A crash fails the case instead of being retried behind the figures.
      retry: { retries: 5, restartOnFailure: () => Promise.resolve(false) },
    });
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, ({ timestamp, payload }) => {
      this.joinedAt = timestamp;
      this.partitions = [...(payload.memberAssignment[options.topic] ?? [])].sort((a, b) => a - b);
      options.onJoin?.();
    });
    this.consumer.on(events.REQUEST, ({ payload }) => {
      if (payload.apiName === 'JoinGroup') this.joinSentAt.push(payload.sentAt);
      else if (payload.apiName === 'LeaveGroup') this.leaveSentAt = payload.sentAt;
      else if (payload.apiName === 'Heartbeat') {
        const waiters = this.#heartbeatWaiters.splice(0);
        for (const w of waiters) w(payload.sentAt);
      }
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      this.crashed = payload.error;
      options.onJoin?.();
    });
  }

  /** Joins and consumes (nothing); resolves after its first assignment. */
  async start(topic: string): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachMessage: () => Promise.resolve() });
  }

  /** The sentAt of its next heartbeat, once answered: a mark in its fetch cycle. */
  nextHeartbeat(timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.clientId} sent no heartbeat`)), timeoutMs);
      this.#heartbeatWaiters.push((sentAt) => {
        clearTimeout(timer);
        resolve(sentAt);
      });
    });
  }

  /** Disconnects, which sends LeaveGroup; resolves with that request's sentAt. */
  async leave(): Promise<number> {
    await this.consumer.disconnect();
    if (this.leaveSentAt === undefined) throw new Error(`${this.clientId} sent no LeaveGroup`);
    return this.leaveSentAt;
  }

  /** The latest JoinGroup sent at or after `since`, if any. */
  lastJoinSince(since: number): number | undefined {
    const sent = this.joinSentAt.filter((t) => t >= since);
    return sent.length === 0 ? undefined : Math.max(...sent);
  }
}

/** Members of one group on one topic; members come and go, and a waiter sees when they agree. */
export class BenchGroup {
  readonly members: BenchMember[] = [];
  readonly #options: Omit<MemberOptions, 'clientId' | 'onJoin' | 'timing'>;
  readonly #partitions: number;
  #started = 0;
  #waiters: Array<() => void> = [];

  constructor(options: Omit<MemberOptions, 'clientId' | 'onJoin' | 'timing'> & { partitions: number }) {
    this.#options = { bootstrap: options.bootstrap, topic: options.topic, groupId: options.groupId };
    this.#partitions = options.partitions;
  }

  /** Creates a member and starts it joining (see {@link waitSettled} for when it has). */
  add(timing = MEMBER_TIMING): BenchMember {
    const member = new BenchMember({
      ...this.#options,
      timing,
      clientId: `${this.#options.groupId}-m${this.#started++}`,
      onJoin: () => this.#wake(),
    });
    this.members.push(member);
    // Its join is awaited through waitSettled(); a failure shows there as a crash or a timeout.
    member.start(this.#options.topic).catch((err: unknown) => {
      member.crashed ??= err as Error;
      this.#wake();
    });
    return member;
  }

  /** Takes a member out and makes it leave; resolves with its LeaveGroup's sentAt. */
  async remove(member: BenchMember): Promise<number> {
    this.members.splice(this.members.indexOf(member), 1);
    return member.leave();
  }

  /**
   * The moment (Date.now()) by which every member had been assigned, at or after `since`, one
   * share of a split of all the partitions — each exactly once; undefined while that is not so.
   */
  settledAt(since: number): number | undefined {
    if (this.members.some((m) => m.joinedAt < since)) return undefined;
    const assigned = this.members.flatMap((m) => m.partitions).sort((a, b) => a - b);
    const whole = assigned.length === this.#partitions && assigned.every((p, i) => p === i);
    return whole ? Math.max(...this.members.map((m) => m.joinedAt)) : undefined;
  }

  /** Waits for {@link settledAt}; rejects on a member's crash or after `timeoutMs`. */
  async waitSettled(since: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const crashed = this.members.find((m) => m.crashed);
      if (crashed) throw new Error(`${crashed.clientId} crashed: ${crashed.crashed!.message}`);
      const at = this.settledAt(since);
      if (at !== undefined) return at;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the group did not settle in ${timeoutMs} ms: ${this.#describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Disconnects every member still in the group (leaving it empty). */
  async close(): Promise<void> {
    const members = this.members.splice(0);
    await Promise.allSettled(members.map((m) => m.consumer.disconnect()));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #describe(): string {
    return this.members.map((m) => `${m.clientId}=[${m.partitions.join(',')}]@${m.joinedAt}`).join(' ');
  }
}
