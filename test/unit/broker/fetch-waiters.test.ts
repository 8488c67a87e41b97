import { getEventListeners } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock } from '../../../src/common/clock.ts';
import {
  type AppendSource,
  FetchWaiters,
  type TopicPartition,
  waitForBytes,
} from '../../../src/broker/fetch-waiters.ts';
import type { AppendListener, Moved } from '../../../src/broker/replica-manager.ts';

/** Stands in for the replica manager: the test says when a high watermark moved. */
class Appends implements AppendSource {
  readonly listeners = new Set<AppendListener>();
  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  moved(topic: string, partition: number, what?: Moved): void {
    for (const l of this.listeners) l(topic, partition, what);
  }
}

function setup() {
  const clock = new FakeClock(1_000);
  const source = new Appends();
  const registry = new Registry();
  const waiters = new FetchWaiters({ clock, source, registry });
  const gauge = async () =>
    (await registry.getSingleMetric('tributary_broker_fetch_waiting_requests')!.get()).values[0]?.value;
  return { clock, source, waiters, gauge };
}

/** The event `next()` has produced so far, or 'pending'; lets queued continuations run first. */
async function settled<T>(p: Promise<T>): Promise<T | 'pending'> {
  const pending = Symbol('pending');
  const r = await Promise.race([
    p,
    new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending))),
  ]);
  return r === pending ? 'pending' : r;
}

const tp = (topic: string, partition: number) => ({ topic, partition });

describe('fetch waiters', () => {
  it('wakes a follower’s wait when the leader’s log grows, a consumer’s only when the high watermark moves', async () => {
    const { source, waiters } = setup();
    const signal = new AbortController().signal;
    const consumer = waiters.wait([tp('a', 0)], { maxWaitMs: 500, signal });
    const follower = waiters.wait([tp('a', 0)], { maxWaitMs: 500, signal, readsToLogEnd: true });
    const consumerNext = consumer.next();
    const followerNext = follower.next();
    source.moved('a', 0, 'log-end');
    expect(await settled(followerNext)).toEqual({ kind: 'moved', partitions: [tp('a', 0)] });
    expect(await settled(consumerNext)).toBe('pending');
    source.moved('a', 0, 'high-watermark');
    expect(await settled(consumerNext)).toEqual({ kind: 'moved', partitions: [tp('a', 0)] });
    consumer.close();
    follower.close();
  });

  it('wakes a wait when one of its partitions moves, naming it, and not for other partitions', async () => {
    const { source, waiters } = setup();
    const wait = waiters.wait([tp('a', 0), tp('b', 1)], {
      maxWaitMs: 500,
      signal: new AbortController().signal,
    });
    const next = wait.next();
    source.moved('a', 1);
    source.moved('c', 0);
    expect(await settled(next)).toBe('pending');
    source.moved('b', 1);
    expect(await settled(next)).toEqual({ kind: 'moved', partitions: [tp('b', 1)] });
    wait.close();
  });

  it('keeps moves that arrive while its owner is busy, each partition once', async () => {
    const { source, waiters } = setup();
    const wait = waiters.wait([tp('a', 0), tp('a', 1)], {
      maxWaitMs: 500,
      signal: new AbortController().signal,
    });
    source.moved('a', 1);
    source.moved('a', 0);
    source.moved('a', 1);
    expect(await wait.next()).toEqual({ kind: 'moved', partitions: [tp('a', 1), tp('a', 0)] });
    expect(await settled(wait.next())).toBe('pending');
    wait.close();
  });

  it('expires after maxWaitMs on the clock, and expiry wins over pending moves', async () => {
    const { clock, source, waiters } = setup();
    const wait = waiters.wait([tp('a', 0)], { maxWaitMs: 500, signal: new AbortController().signal });
    const next = wait.next();
    clock.advance(499);
    expect(await settled(next)).toBe('pending');
    clock.advance(1);
    expect(await settled(next)).toEqual({ kind: 'expired' });
    source.moved('a', 0);
    expect(await wait.next()).toEqual({ kind: 'expired' });
    wait.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('ends a wait when the connection closes, and closing leaves no timer, listener or registration', async () => {
    const { clock, source, waiters, gauge } = setup();
    const conn = new AbortController();
    const wait = waiters.wait([tp('a', 0)], { maxWaitMs: 10_000, signal: conn.signal });
    expect(waiters.waiting).toBe(1);
    expect(await gauge()).toBe(1);
    expect(getEventListeners(conn.signal, 'abort')).toHaveLength(1);
    const next = wait.next();
    conn.abort();
    expect(await next).toEqual({ kind: 'aborted' });
    wait.close();
    wait.close();
    expect(waiters.waiting).toBe(0);
    expect(await gauge()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(conn.signal, 'abort')).toHaveLength(0);
    // A move for a closed wait reaches nobody and throws nothing.
    source.moved('a', 0);
  });

  it('does not register a wait whose connection is already closed', async () => {
    const { clock, waiters, gauge } = setup();
    const conn = new AbortController();
    conn.abort();
    const wait = waiters.wait([tp('a', 0)], { maxWaitMs: 10_000, signal: conn.signal });
    expect(await wait.next()).toEqual({ kind: 'aborted' });
    expect(waiters.waiting).toBe(0);
    expect(await gauge()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    wait.close();
  });

  it('counts each open wait in the gauge until its owner closes it', async () => {
    const { waiters, gauge } = setup();
    const signal = new AbortController().signal;
    const one = waiters.wait([tp('a', 0)], { maxWaitMs: 100, signal });
    const two = waiters.wait([tp('a', 0)], { maxWaitMs: 100, signal });
    expect(await gauge()).toBe(2);
    one.close();
    expect(await gauge()).toBe(1);
    two.close();
    expect(await gauge()).toBe(0);
  });

  it('expires every open wait when closed, and stops listening for appends', async () => {
    const { source, waiters } = setup();
    const wait = waiters.wait([tp('a', 0)], { maxWaitMs: 10_000, signal: new AbortController().signal });
    const next = wait.next();
    waiters.close();
    expect(await next).toEqual({ kind: 'expired' });
    expect(source.listeners.size).toBe(0);
    wait.close();
    expect(waiters.waiting).toBe(0);
  });

  it('wakes an owner that closes its own wait while another call awaits it', async () => {
    const { waiters } = setup();
    const wait = waiters.wait([tp('a', 0)], { maxWaitMs: 10_000, signal: new AbortController().signal });
    const next = wait.next();
    wait.close();
    expect(await next).toEqual({ kind: 'aborted' });
  });
});

describe('fetch waiters > waiting for minBytes', () => {
  /** A byte count whose partitions gain what the test scripts, one answer per move. */
  function scripted(bytes: number, minBytes: number, gains: Array<number | null>) {
    const asked: TopicPartition[] = [];
    return {
      asked,
      count: {
        bytes,
        minBytes,
        grow: (at: TopicPartition) => {
          asked.push(at);
          return Promise.resolve(gains.length > 0 ? gains.shift()! : 0);
        },
      },
    };
  }

  it('keeps waiting while the bytes gained stay below minBytes, and is ready once they reach it', async () => {
    const { source, waiters } = setup();
    const wait = waiters.wait([tp('a', 0), tp('a', 1)], {
      maxWaitMs: 10_000,
      signal: new AbortController().signal,
    });
    const { asked, count } = scripted(10, 100, [50, 39, 1]);
    const outcome = waitForBytes(wait, count);
    source.moved('a', 0);
    expect(await settled(outcome)).toBe('pending');
    source.moved('a', 1);
    expect(await settled(outcome)).toBe('pending');
    source.moved('a', 1);
    expect(await settled(outcome)).toBe('ready');
    expect(asked).toEqual([tp('a', 0), tp('a', 1), tp('a', 1)]);
    wait.close();
  });

  it('is ready at once when a moved partition can no longer be read', async () => {
    const { source, waiters } = setup();
    const wait = waiters.wait([tp('a', 0)], { maxWaitMs: 10_000, signal: new AbortController().signal });
    const outcome = waitForBytes(wait, scripted(0, 100, [null]).count);
    source.moved('a', 0);
    expect(await settled(outcome)).toBe('ready');
    wait.close();
  });

  it('is ready when the wait expires, whatever it gathered', async () => {
    const { clock, waiters } = setup();
    const wait = waiters.wait([tp('a', 0)], { maxWaitMs: 300, signal: new AbortController().signal });
    const outcome = waitForBytes(wait, scripted(0, 100, []).count);
    clock.advance(300);
    expect(await settled(outcome)).toBe('ready');
    wait.close();
  });

  it('reports a closed connection as aborted', async () => {
    const { waiters } = setup();
    const conn = new AbortController();
    const wait = waiters.wait([tp('a', 0)], { maxWaitMs: 300, signal: conn.signal });
    const outcome = waitForBytes(wait, scripted(0, 100, []).count);
    conn.abort();
    expect(await settled(outcome)).toBe('aborted');
    wait.close();
  });
});
