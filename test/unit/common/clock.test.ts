import { describe, expect, it } from '@jest/globals';
import { FakeClock, MAX_TIMER_DELAY_MS, systemClock } from '../../../src/common/clock.ts';

describe('clock > FakeClock', () => {
  it('starts at the given time and stands still until advanced', () => {
    const clock = new FakeClock(1_700_000_000_000);
    expect(clock.now()).toBe(1_700_000_000_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_700_000_000_250);
  });

  it('does not fire a timer before it is due', () => {
    const clock = new FakeClock();
    let fired = false;
    clock.setTimeout(() => (fired = true), 100);
    clock.advance(99);
    expect(fired).toBe(false);
    clock.advance(1);
    expect(fired).toBe(true);
  });

  it('fires due timers in time order, each seeing its own due time', () => {
    const clock = new FakeClock(1000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.advance(50);
    expect(seen).toEqual(['a@1010', 'b@1020', 'c@1030']);
    expect(clock.now()).toBe(1050);
  });

  it('fires timers due at the same instant in the order they were scheduled', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(1), 10);
    clock.setTimeout(() => seen.push(2), 10);
    clock.setTimeout(() => seen.push(3), 5);
    clock.advance(10);
    expect(seen).toEqual([3, 1, 2]);
  });

  it('fires timers that fired timers schedule within the same advance', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const tick = (): void => {
      seen.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    expect(seen).toEqual([10, 20, 30]);
    expect(clock.pendingTimers).toBe(1);
  });

  it('runs a timer scheduled by a fired timer before a later one already pending', () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    clock.setTimeout(() => seen.push('late'), 20);
    clock.setTimeout(() => clock.setTimeout(() => seen.push('chained'), 5), 10);
    clock.advance(20);
    expect(seen).toEqual(['chained', 'late']);
  });

  it('fires a zero-delay timer on the next advance, not when scheduled', () => {
    const clock = new FakeClock();
    let fired = false;
    clock.setTimeout(() => (fired = true), 0);
    expect(fired).toBe(false);
    clock.advance(0);
    expect(fired).toBe(true);
  });

  it('treats a negative or NaN delay as zero', () => {
    const clock = new FakeClock(100);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), -5);
    clock.setTimeout(() => seen.push(clock.now()), Number.NaN);
    clock.advance(0);
    expect(seen).toEqual([100, 100]);
  });

  it('never fires a cleared timer, and ignores clearing twice', () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets a firing timer cancel a later one', () => {
    const clock = new FakeClock();
    let fired = false;
    const later = clock.setTimeout(() => (fired = true), 20);
    clock.setTimeout(() => clock.clearTimeout(later), 10);
    clock.advance(30);
    expect(fired).toBe(false);
  });

  it('stops at a throwing timer, leaving time there and later timers pending', () => {
    const clock = new FakeClock();
    let laterFired = false;
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    clock.setTimeout(() => (laterFired = true), 20);
    expect(() => clock.advance(30)).toThrow('boom');
    expect(clock.now()).toBe(10);
    expect(laterFired).toBe(false);
    clock.advance(20);
    expect(laterFired).toBe(true);
    expect(clock.now()).toBe(30);
  });

  it('throws instead of spinning forever on a timer that re-arms with no delay', () => {
    const clock = new FakeClock();
    const spin = (): void => void clock.setTimeout(spin, 0);
    clock.setTimeout(spin, 0);
    expect(() => clock.advance(1)).toThrow(/re-arming itself/);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses to advance by %p', (ms) => {
    expect(() => new FakeClock().advance(ms)).toThrow(RangeError);
  });

  it('refuses a delay Node would silently shorten to 1 ms', () => {
    const clock = new FakeClock();
    expect(() => clock.setTimeout(() => {}, MAX_TIMER_DELAY_MS + 1)).toThrow(RangeError);
    expect(() => clock.setTimeout(() => {}, MAX_TIMER_DELAY_MS)).not.toThrow();
  });
});

describe('clock > FakeClock.advanceAsync', () => {
  it('lets awaiting code schedule its next timer within the same advance', async () => {
    const clock = new FakeClock();
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, ms));
    const seen: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(10);
        seen.push(clock.now());
      }
    })();
    await clock.advanceAsync(30);
    await loop;
    expect(seen).toEqual([10, 20, 30]);
  });

  it('is needed for that: a synchronous advance only resolves the first wait', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 10));
        seen.push(clock.now());
      }
    })();
    clock.advance(30);
    await Promise.resolve();
    expect(seen).toEqual([30]);
  });
});

describe('clock > systemClock', () => {
  it('reads wall-clock epoch milliseconds', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('fires and cancels real timers', async () => {
    let cancelledFired = false;
    const cancelled = systemClock.setTimeout(() => (cancelledFired = true), 0);
    systemClock.clearTimeout(cancelled);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 0));
    expect(cancelledFired).toBe(false);
  });

  it('refuses a delay Node would silently shorten to 1 ms', () => {
    expect(() => systemClock.setTimeout(() => {}, MAX_TIMER_DELAY_MS + 1)).toThrow(RangeError);
  });
});
