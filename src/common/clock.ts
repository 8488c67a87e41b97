/**
 * Time, injected. Anything with a timeout, a lag threshold, a backoff or a retention period takes a
 * Clock, so that production passes `systemClock` and tests pass a `FakeClock` and advance it instead
 * of sleeping.
 */

declare const timerBrand: unique symbol;

/** Opaque: only the clock that made a handle can cancel it. */
export type TimerHandle = { readonly [timerBrand]: true };

export interface Clock {
  /** Wall-clock time in milliseconds since the Unix epoch, as Kafka timestamps are. */
  now(): number;
  /** Runs `fn` once, `ms` milliseconds from now (0 if negative or NaN). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cancelled is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's timers silently turn a delay above 2^31 - 1 ms (about 24.8 days) into 1 ms. A retention
 * or session period that large is a plausible config value, so both clocks refuse it rather than
 * fire almost at once; callers with longer waits re-arm from a shorter timer.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

function checkedDelay(ms: number): number {
  if (ms > MAX_TIMER_DELAY_MS) {
    throw new RangeError(`timer delay ${ms} ms exceeds the maximum of ${MAX_TIMER_DELAY_MS} ms`);
  }
  return ms > 0 ? ms : 0;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, checkedDelay(ms)) as unknown as TimerHandle,
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as unknown as NodeJS.Timeout),
});

interface FakeTimer {
  readonly dueAt: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to. `advance(ms)` fires every timer that falls due within the
 * window, earliest first, with `now()` reading each timer's due time while it runs — including timers
 * that fired timers schedule inside the window.
 */
export class FakeClock implements Clock {
  /**
   * A timer that keeps re-arming itself with no delay would make `advance` spin forever; past this
   * many firings in one call it throws instead, naming the likely cause.
   */
  static readonly MAX_FIRINGS_PER_ADVANCE = 100_000;

  #now: number;
  readonly #timers = new Map<TimerHandle, FakeTimer>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = Object.freeze({}) as TimerHandle;
    this.#timers.set(handle, { dueAt: this.#now + checkedDelay(ms), fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  /** Timers scheduled and neither fired nor cancelled; lets a test check that code cleaned up. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing due timers synchronously. If a timer throws, the error
   * propagates, `now()` stays at that timer's due time and later timers stay pending.
   */
  advance(ms: number): void {
    const target = this.#target(ms);
    for (let fired = 0; ; fired++) {
      const next = this.#takeNextDue(target, fired);
      if (next === undefined) break;
      next.fn();
    }
    this.#now = target;
  }

  /**
   * Like `advance`, but lets promise continuations and other queued callbacks run after each timer,
   * so code that awaits something a timer resolved gets to schedule its next timer within the
   * window. Still no real waiting: it yields to the event loop, it does not sleep.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#target(ms);
    for (let fired = 0; ; fired++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const next = this.#takeNextDue(target, fired);
      if (next === undefined) break;
      next.fn();
    }
    this.#now = target;
  }

  #target(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    return this.#now + ms;
  }

  /** Removes and returns the earliest timer due at or before `target`, moving `now()` to it. */
  #takeNextDue(target: number, firedSoFar: number): FakeTimer | undefined {
    let nextHandle: TimerHandle | undefined;
    let next: FakeTimer | undefined;
    // A Map iterates in insertion order, so keeping the first of equal due times fires timers due
    // at the same instant in the order they were scheduled, as Node does.
    for (const [handle, timer] of this.#timers) {
      if (timer.dueAt > target) continue;
      if (next === undefined || timer.dueAt < next.dueAt) {
        nextHandle = handle;
        next = timer;
      }
    }
    if (next === undefined || nextHandle === undefined) return undefined;
    if (firedSoFar >= FakeClock.MAX_FIRINGS_PER_ADVANCE) {
      throw new Error(
        `FakeClock fired ${firedSoFar} timers in one advance; a timer is probably re-arming itself with no delay`,
      );
    }
    this.#timers.delete(nextHandle);
    this.#now = next.dueAt;
    return next;
  }
}
