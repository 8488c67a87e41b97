/**
 * Leader election on a coordination.k8s.io/v1 Lease: of several replicas, one leads; the others
 * wait to take over.
 *
 * Every `retryPeriodMs` each candidate reads the lease and does what {@link decideLease} says. The
 * leader steps down (calls `onStoppedLeading`) as soon as its last successful renewal is
 * `renewDeadlineMs` old — timed from when that renewal was *sent*, by a timer that fires even if a
 * request hangs. Since `renewDeadlineMs < leaseDurationMs`, and another candidate only takes over
 * once it has seen the same record unchanged for `leaseDurationMs`, a leader cut off from the API
 * has stopped before anyone else starts (clock *rates* assumed close; clock offsets do not matter).
 *
 * `stop()` hands over at once: the leader first stops its work (`onStoppedLeading`, awaited: the
 * controllers finish what they are doing), then writes the lease with no holder, which the other
 * candidates take on their next attempt instead of waiting for it to expire.
 *
 * After stepping down the elector keeps campaigning, and may lead again.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../../common/clock.ts';
import { systemClock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import { decideLease, observe, releasedRecord, type Observation } from './lease-decision.ts';
import type { LeaseLock } from './lease-lock.ts';
import { runtimeMetrics, type RuntimeMetrics } from './metrics.ts';

export interface LeaderElectionTimings {
  /** How long others wait, from when they saw the last renewal, before taking over (15 s). */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal (10 s). */
  readonly renewDeadlineMs?: number;
  /** How often every candidate tries to acquire or renew (2 s). */
  readonly retryPeriodMs?: number;
}

export interface LeaderElectorOptions extends LeaderElectionTimings {
  readonly lock: LeaseLock;
  /** Unique per process: a restarted process must not think it still holds the lease. See {@link defaultIdentity}. */
  readonly identity: string;
  /** Called on becoming leader. */
  readonly onStartedLeading: () => void | Promise<void>;
  /** Called on ceasing to lead (deadline passed, lease taken, or `stop()`), after `onStartedLeading` settled. */
  readonly onStoppedLeading: () => void | Promise<void>;
  /** Called when the observed holder changes ('' when the lease was released). */
  readonly onNewLeader?: (identity: string) => void;
  readonly clock?: Clock;
  readonly log?: Logger;
  readonly registry?: Registry;
}

export const DEFAULT_LEADER_ELECTION = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

/** `$POD_NAME` (or the host name) and a random suffix: unique even when a pod restarts in place. */
export function defaultIdentity(): string {
  return `${process.env.POD_NAME || hostname()}_${randomBytes(4).toString('hex')}`;
}

export class LeaderElector {
  readonly identity: string;
  readonly #lock: LeaseLock;
  readonly #opts: LeaderElectorOptions;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: RuntimeMetrics | undefined;

  #state: 'new' | 'running' | 'stopped' = 'new';
  #leading = false;
  #observed: Observation | undefined;
  #leader = '';
  #tickTimer: TimerHandle | undefined;
  #deadlineTimer: TimerHandle | undefined;
  #attempt: AbortController | undefined;
  #ticking: Promise<void> | undefined;
  /** Settles when `onStartedLeading` has; `onStoppedLeading` waits for it. */
  #started: Promise<void> = Promise.resolve();
  /** Settles when the last step-down's `onStoppedLeading` has; campaigning waits for it. */
  #stopping: Promise<void> = Promise.resolve();

  constructor(options: LeaderElectorOptions) {
    this.identity = options.identity;
    this.#lock = options.lock;
    this.#opts = options;
    this.#leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEADER_ELECTION.leaseDurationMs;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION.renewDeadlineMs;
    this.#retryPeriodMs = options.retryPeriodMs ?? DEFAULT_LEADER_ELECTION.retryPeriodMs;
    if (!(this.#retryPeriodMs > 0 && this.#retryPeriodMs < this.#renewDeadlineMs)) {
      throw new RangeError('leader election needs 0 < retryPeriodMs < renewDeadlineMs');
    }
    if (!(this.#renewDeadlineMs < this.#leaseDurationMs)) {
      throw new RangeError(
        'leader election needs renewDeadlineMs < leaseDurationMs, or two could lead at once',
      );
    }
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? silentLogger).child({
      lease: options.lock.description,
      identity: options.identity,
    });
    this.#metrics = options.registry ? runtimeMetrics(options.registry) : undefined;
    this.#metrics?.leader.set({ lease: this.#lock.description }, 0);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last seen on the lease ('' if none). */
  get leader(): string {
    return this.#leader;
  }

  start(): void {
    if (this.#state !== 'new') throw new Error('a leader elector can be started once');
    this.#state = 'running';
    this.#schedule(0);
  }

  /** Stops campaigning; if leading, stops leading and releases the lease. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#tickTimer !== undefined) this.#clock.clearTimeout(this.#tickTimer);
    this.#attempt?.abort();
    await this.#ticking;
    // Also release a lease that still names us after a step-down: the others need not wait it out.
    const holding = this.#leading || this.#leader === this.identity;
    await this.#stepDown('stopping');
    if (holding) await this.#release();
  }

  #schedule(ms: number): void {
    this.#tickTimer = this.#clock.setTimeout(() => {
      this.#tickTimer = undefined;
      const ticking = this.#tick().finally(() => {
        if (this.#ticking === ticking) this.#ticking = undefined;
      });
      this.#ticking = ticking;
    }, ms);
  }

  async #tick(): Promise<void> {
    await this.#stopping;
    if (this.#state !== 'running') return;
    const attempt = new AbortController();
    this.#attempt = attempt;
    // Never wait past the deadline for an answer; the deadline timer steps down meanwhile anyway.
    const timeout = this.#clock.setTimeout(() => attempt.abort(), this.#renewDeadlineMs);
    try {
      await this.#tryAcquireOrRenew(attempt.signal);
    } catch (err) {
      if (this.#state === 'running') {
        this.#log[this.#leading ? 'warn' : 'debug']({ err }, 'Failed to acquire or renew the lease');
      }
    } finally {
      this.#clock.clearTimeout(timeout);
      this.#attempt = undefined;
    }
    if (this.#state === 'running') this.#schedule(this.#retryPeriodMs);
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<void> {
    const sentAt = this.#clock.now();
    const current = await this.#lock.get(signal);
    this.#observed = observe(this.#observed, current?.record, this.#clock.now());
    this.#noteLeader(this.#observed?.record.holderIdentity ?? '');
    const decision = decideLease({
      identity: this.identity,
      nowMs: this.#clock.now(),
      leaseDurationMs: this.#leaseDurationMs,
      observed: this.#observed,
    });
    if (decision.action === 'wait') {
      if (this.#leading) await this.#stepDown(`the lease is held by ${decision.holder}`);
      return;
    }
    if (decision.action === 'create') await this.#lock.create(decision.record, signal);
    else await this.#lock.update(decision.record, current!.resourceVersion, signal);
    this.#observed = { record: decision.record, atMs: this.#clock.now() };
    this.#noteLeader(this.identity);
    // A write that took longer than the deadline to confirm proves nothing about the deadline;
    // the next attempt (soon) renews afresh.
    if (this.#state !== 'running' || this.#clock.now() >= sentAt + this.#renewDeadlineMs) return;
    this.#armDeadline(sentAt + this.#renewDeadlineMs);
    if (!this.#leading) this.#becomeLeader(decision.action);
  }

  #becomeLeader(how: string): void {
    this.#leading = true;
    this.#metrics?.leader.set({ lease: this.#lock.description }, 1);
    this.#log.info({ how }, 'Became leader');
    const stopping = this.#stopping;
    this.#started = (async () => {
      await stopping; // a step-down still finishing its work goes first
      try {
        await this.#opts.onStartedLeading();
      } catch (err) {
        this.#log.error({ err }, 'onStartedLeading failed');
      }
    })();
  }

  #armDeadline(at: number): void {
    if (this.#deadlineTimer !== undefined) this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = this.#clock.setTimeout(() => {
      this.#deadlineTimer = undefined;
      void this.#stepDown('the renew deadline passed');
    }, at - this.#clock.now());
  }

  /** Stops leading (if leading) and resolves once `onStoppedLeading` has finished. */
  #stepDown(reason: string): Promise<void> {
    if (!this.#leading) return this.#stopping;
    this.#leading = false;
    if (this.#deadlineTimer !== undefined) this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    this.#metrics?.leader.set({ lease: this.#lock.description }, 0);
    this.#log.warn({ reason }, 'Stopped leading');
    const started = this.#started;
    this.#stopping = (async () => {
      await started;
      try {
        await this.#opts.onStoppedLeading();
      } catch (err) {
        this.#log.error({ err }, 'onStoppedLeading failed');
      }
    })();
    return this.#stopping;
  }

  /** Writes the lease with no holder, if it is still ours; gives up after the renew deadline. */
  async #release(): Promise<void> {
    const abort = new AbortController();
    const timeout = this.#clock.setTimeout(() => abort.abort(), this.#renewDeadlineMs);
    try {
      const current = await this.#lock.get(abort.signal);
      if (current === undefined || current.record.holderIdentity !== this.identity) return;
      const released = releasedRecord(current.record, this.#clock.now());
      await this.#lock.update(released, current.resourceVersion, abort.signal);
      this.#noteLeader('');
      this.#log.info('Released the lease');
    } catch (err) {
      this.#log.warn({ err }, 'Could not release the lease; others take over when it expires');
    } finally {
      this.#clock.clearTimeout(timeout);
    }
  }

  #noteLeader(holder: string): void {
    if (holder === this.#leader) return;
    this.#leader = holder;
    this.#opts.onNewLeader?.(holder);
  }
}
