import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../../src/common/clock.ts';
import { backoffDelay, PerKeyBackoff } from '../../../../src/operator/runtime/backoff.ts';
import { WorkQueue } from '../../../../src/operator/runtime/queue.ts';

const backoff = { initialMs: 100, maxMs: 1_000 };

/** Whether a promise has settled, without waiting for it. */
async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  const marker = Symbol('pending');
  const value = await Promise.race([p, new Promise<typeof marker>((r) => setImmediate(() => r(marker)))]);
  return value === marker ? { done: false } : { done: true, value: value as T };
}

describe('work queue > de-duplication', () => {
  it('hands out a key added several times once', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(await settled(q.get())).toEqual({ done: false });
  });

  it('keeps first-added order', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    for (const k of ['c', 'a', 'b', 'a', 'c']) q.add(k);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['c', 'a', 'b']);
  });
});

describe('work queue > one worker per key', () => {
  it('does not hand out a key that is being processed, even when it is added again', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    expect(q.length).toBe(0);
    expect(await settled(q.get())).toEqual({ done: false });
  });

  it('hands a key added during processing out again once it is done, once', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    const second = q.get();
    expect(await settled(second)).toEqual({ done: false });
    q.done(key!);
    expect(await second).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
    expect(q.processing).toBe(0);
  });

  it('does not hand a finished key out again when nobody added it', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    q.done((await q.get())!);
    expect(q.length).toBe(0);
  });

  it('gives waiting workers different keys', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    const w1 = q.get();
    const w2 = q.get();
    q.add('a');
    q.add('b');
    expect(new Set([await w1, await w2])).toEqual(new Set(['a', 'b']));
  });
});

describe('work queue > backoff', () => {
  it('doubles per consecutive failure of a key, up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6, 50, 5000].map((n) => backoffDelay(n, backoff));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('keeps each key’s failures apart and forgets them on success', () => {
    const b = new PerKeyBackoff<string>(backoff);
    expect([b.next('a'), b.next('a'), b.next('b'), b.next('a')]).toEqual([100, 200, 100, 400]);
    b.forget('a');
    expect(b.failures('a')).toBe(0);
    expect(b.next('a')).toBe(100);
    expect(b.failures('b')).toBe(1);
  });

  it('refuses a cap below the first delay', () => {
    expect(() => new PerKeyBackoff({ initialMs: 100, maxMs: 50 })).toThrow(RangeError);
  });

  it('queues a rate-limited key only after its backoff', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock, backoff });
    const retry = async (): Promise<number> => {
      const started = clock.now();
      q.addRateLimited('a');
      clock.advance(50);
      expect(q.length).toBe(0);
      while (q.length === 0) clock.advance(50);
      q.done((await q.get())!);
      return clock.now() - started;
    };
    expect([
      await retry(),
      await retry(),
      await retry(),
      await retry(),
      await retry(),
      await retry(),
    ]).toEqual([100, 200, 400, 800, 1000, 1000]);
    q.forget('a');
    expect(await retry()).toBe(100);
  });
});

describe('work queue > delayed adds', () => {
  it('queues a key after the delay', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('a', 1000);
    clock.advance(999);
    expect(q.length).toBe(0);
    expect(q.delayed).toBe(1);
    clock.advance(1);
    expect(q.length).toBe(1);
    expect(q.delayed).toBe(0);
  });

  it('keeps the earliest of two pending delays for a key', () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('a', 1000);
    q.addAfter('a', 300);
    q.addAfter('a', 2000);
    clock.advance(300);
    expect(q.length).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('adds at once for a delay of zero or less', () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.length).toBe(2);
  });
});

describe('work queue > shut down', () => {
  it('releases waiting workers with undefined and hands out nothing more', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    expect(await q.get()).toBeUndefined();
  });

  it('drops queued and delayed keys, and lets in-flight keys finish', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.add('a');
    q.add('b');
    q.addAfter('c', 100);
    const a = await q.get();
    q.add('a');
    q.shutDown();
    expect(q.length).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    const idle = q.idle();
    expect(await settled(idle)).toEqual({ done: false });
    q.done(a!);
    await idle;
    expect(q.length).toBe(0);
  });
});

describe('work queue > metrics hooks', () => {
  it('reports depth on every change and how long each key waited', async () => {
    const clock = new FakeClock(1_000_000);
    const depths: number[] = [];
    const waits: number[] = [];
    let retries = 0;
    const q = new WorkQueue<string>({
      clock,
      backoff,
      hooks: { depth: (d) => depths.push(d), waited: (ms) => waits.push(ms), retried: () => retries++ },
    });
    q.add('a');
    clock.advance(30);
    q.add('b');
    clock.advance(20);
    await q.get();
    await q.get();
    expect(depths).toEqual([1, 2, 1, 0]);
    expect(waits).toEqual([50, 20]);
    q.addRateLimited('a');
    expect(retries).toBe(1);
  });
});
