/**
 * The controllers' work queue. Keys, not events: a key added five times before a worker takes it
 * is processed once, against whatever the cache holds by then (reconcilers are level-triggered).
 *
 * - A key is never handed to two workers at once: a key added while it is being processed is held
 *   back and queued again when its worker calls `done` — so the change that caused the add is seen.
 * - `addRateLimited` retries a key after a per-key exponential backoff; `forget` (on success)
 *   resets it. `addAfter` queues a key later, keeping the earliest of several pending delays.
 * - After `shutDown`, nothing more is handed out: waiting workers get `undefined`, queued and delayed
 *   keys are dropped (a new leader lists everything again), and in-flight keys just finish.
 *
 * Time comes from a Clock, so tests drive delays and measure waits with a FakeClock.
 */

import type { Clock, TimerHandle } from '../../common/clock.ts';
import { systemClock } from '../../common/clock.ts';
import { PerKeyBackoff, type BackoffOptions } from './backoff.ts';

/** Observers for metrics; every hook is optional and must not throw. */
export interface WorkQueueHooks {
  /** Keys waiting to be handed out, after every change. */
  depth?(depth: number): void;
  /** How long a key waited between being queued and being handed to a worker. */
  waited?(ms: number): void;
  /** A key was scheduled for a retry after a failure. */
  retried?(): void;
}

export interface WorkQueueOptions {
  readonly clock?: Clock;
  /** Retry backoff per key; 50 ms doubling up to 5 minutes unless given. */
  readonly backoff?: BackoffOptions;
  readonly hooks?: WorkQueueHooks;
}

export const DEFAULT_QUEUE_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 5 * 60_000 };

export class WorkQueue<K = string> {
  readonly #clock: Clock;
  readonly #backoff: PerKeyBackoff<K>;
  readonly #hooks: WorkQueueHooks;
  /** Keys waiting to be handed out, in order. */
  readonly #queue: K[] = [];
  /** Keys that need processing (queued, or re-added while processing), with when they were added. */
  readonly #dirty = new Map<K, number>();
  readonly #processing = new Set<K>();
  readonly #delayed = new Map<K, { dueAt: number; timer: TimerHandle }>();
  readonly #waiters: ((key: K | undefined) => void)[] = [];
  readonly #idle: (() => void)[] = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#backoff = new PerKeyBackoff(options.backoff ?? DEFAULT_QUEUE_BACKOFF);
    this.#hooks = options.hooks ?? {};
  }

  /** Queues `key` unless it is already waiting. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.set(key, this.#clock.now());
    if (this.#processing.has(key)) return; // `done` queues it
    this.#queue.push(key);
    this.#changed();
  }

  /** Queues `key` after `ms` (at once if `ms <= 0`). An earlier pending delay for it wins. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const dueAt = this.#clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.dueAt <= dueAt) return;
      this.#clock.clearTimeout(pending.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { dueAt, timer });
  }

  /** Queues `key` after its backoff: one more failure for it. */
  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    this.#hooks.retried?.();
    this.addAfter(key, this.#backoff.next(key));
  }

  /** Ends `key`'s backoff (it succeeded); its next failure waits the initial delay again. */
  forget(key: K): void {
    this.#backoff.forget(key);
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: K): number {
    return this.#backoff.failures(key);
  }

  /**
   * The next key to process, once there is one; `undefined` once the queue is shut down. The
   * caller owns the key until it calls {@link done}.
   */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    if (this.#queue.length > 0) return Promise.resolve(this.#take());
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile, queues it again. */
  done(key: K): void {
    if (!this.#processing.delete(key)) return;
    if (!this.#shuttingDown && this.#dirty.has(key)) {
      this.#queue.push(key);
      this.#changed();
    }
    if (this.#processing.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Stops handing out keys; see the module comment. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) this.#clock.clearTimeout(timer);
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
    this.#hooks.depth?.(0);
  }

  /** Resolves once no key is being processed (immediately if none is). */
  idle(): Promise<void> {
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys waiting to be handed out. */
  get length(): number {
    return this.#queue.length;
  }

  /** Keys handed out and not yet done. */
  get processing(): number {
    return this.#processing.size;
  }

  /** Keys waiting on a delay (`addAfter`, `addRateLimited`). */
  get delayed(): number {
    return this.#delayed.size;
  }

  /** Hands queued keys to waiting workers, then reports the depth. */
  #changed(): void {
    while (this.#waiters.length > 0 && this.#queue.length > 0) this.#waiters.shift()!(this.#take());
    this.#hooks.depth?.(this.#queue.length);
  }

  #take(): K {
    const key = this.#queue.shift()!;
    const addedAt = this.#dirty.get(key) ?? this.#clock.now();
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#hooks.waited?.(this.#clock.now() - addedAt);
    this.#hooks.depth?.(this.#queue.length);
    return key;
  }
}
