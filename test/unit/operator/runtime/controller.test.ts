import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock } from '../../../../src/common/clock.ts';
import { Controller, TerminalError, type Reconcile } from '../../../../src/operator/runtime/controller.ts';
import { Informer } from '../../../../src/operator/runtime/informer.ts';
import { FakeSource, flush } from './fake-source.ts';

const backoff = { initialMs: 100, maxMs: 1_000 };

/** A reconcile that records each call's key and clock time, and behaves as `behave` says. */
function recorder(
  clock: FakeClock,
  behave: (key: string, call: number) => Promise<unknown> | unknown = () => {},
) {
  const calls: { key: string; at: number }[] = [];
  const reconcile: Reconcile = async (key) => {
    calls.push({ key, at: clock.now() });
    return (await behave(key, calls.filter((c) => c.key === key).length)) as never;
  };
  return { calls, reconcile };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('controller > retries', () => {
  it('retries a key whose reconcile throws, with growing backoff, until it succeeds', async () => {
    const clock = new FakeClock();
    const { calls, reconcile } = recorder(clock, (_key, call) => {
      if (call <= 3) throw new Error(`attempt ${call} failed`);
    });
    const c = new Controller({ kind: 'Test', reconcile, clock, backoff, workers: 1 });
    c.start();
    c.enqueue('ns/a');
    await clock.advanceAsync(5_000);
    expect(calls.map((x) => x.at)).toEqual([0, 100, 300, 700]);
    await c.stop();
  });

  it('starts the backoff afresh after a success', async () => {
    const clock = new FakeClock();
    const { calls, reconcile } = recorder(clock, (_key, call) => {
      if (call === 1 || call === 2 || call === 4) throw new Error('failed');
    });
    const c = new Controller({ kind: 'Test', reconcile, clock, backoff, workers: 1 });
    c.start();
    c.enqueue('k');
    await clock.advanceAsync(1_000); // fails at 0, at 100; succeeds at 300
    c.enqueue('k'); // fails at 1000, retried 100 ms later (not 400)
    await clock.advanceAsync(5_000);
    expect(calls.map((x) => x.at)).toEqual([0, 100, 300, 1_000, 1_100]);
    expect(c.queue?.failures('k')).toBe(0);
    await c.stop();
  });

  it('caps the backoff', async () => {
    const clock = new FakeClock();
    const { calls, reconcile } = recorder(clock, () => {
      throw new Error('always');
    });
    const c = new Controller({ kind: 'Test', reconcile, clock, backoff, workers: 1 });
    c.start();
    c.enqueue('k');
    await clock.advanceAsync(5_000);
    const gaps = calls.slice(1).map((x, i) => x.at - calls[i].at);
    expect(gaps.slice(0, 6)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    await c.stop();
  });

  it('does not retry a terminal error', async () => {
    const clock = new FakeClock();
    const { calls, reconcile } = recorder(clock, () => {
      throw new TerminalError(new Error('spec.replicas must be positive'));
    });
    const registry = new Registry();
    const c = new Controller({ kind: 'Test', reconcile, clock, backoff, registry });
    c.start();
    c.enqueue('k');
    await clock.advanceAsync(60_000);
    expect(calls).toHaveLength(1);
    const results = (await registry.getSingleMetric('tributary_operator_reconciles_total')!.get()).values;
    expect(results).toEqual([
      expect.objectContaining({ labels: { kind: 'Test', result: 'terminal' }, value: 1 }),
    ]);
    await c.stop();
  });

  it('reconciles again after requeueAfterMs', async () => {
    const clock = new FakeClock();
    const { calls, reconcile } = recorder(clock, (_k, call) => (call < 3 ? { requeueAfterMs: 2_000 } : {}));
    const c = new Controller({ kind: 'Test', reconcile, clock, backoff });
    c.start();
    c.enqueue('k');
    await clock.advanceAsync(10_000);
    expect(calls.map((x) => x.at)).toEqual([0, 2_000, 4_000]);
    await c.stop();
  });

  it('tells the reconcile how many times the key failed before', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const c = new Controller({
      kind: 'Test',
      clock,
      backoff,
      reconcile: async (_key, { failures }) => {
        seen.push(failures);
        if (failures < 2) throw new Error('not yet');
      },
    });
    c.start();
    c.enqueue('k');
    await clock.advanceAsync(5_000);
    expect(seen).toEqual([0, 1, 2]);
    await c.stop();
  });
});

describe('controller > workers', () => {
  it('reconciles different keys at once but never one key twice at once', async () => {
    const clock = new FakeClock();
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const running = new Map<string, number>();
    let maxSameKey = 0;
    let maxTotal = 0;
    const c = new Controller({
      kind: 'Test',
      clock,
      workers: 3,
      reconcile: async (key) => {
        running.set(key, (running.get(key) ?? 0) + 1);
        maxSameKey = Math.max(maxSameKey, running.get(key)!);
        maxTotal = Math.max(
          maxTotal,
          [...running.values()].reduce((a, b) => a + b, 0),
        );
        const gate = deferred();
        gates.set(key, gate);
        await gate.promise;
        running.set(key, running.get(key)! - 1);
      },
    });
    c.start();
    c.enqueue('a');
    c.enqueue('b');
    await flush();
    c.enqueue('a'); // while a is in flight
    c.enqueue('a');
    await flush();
    expect(running.get('a')).toBe(1);
    expect(running.get('b')).toBe(1);
    gates.get('a')!.resolve();
    await flush();
    expect(running.get('a')).toBe(1); // the second run of a, now that the first is done
    gates.get('a')!.resolve();
    gates.get('b')!.resolve();
    await flush();
    expect(maxSameKey).toBe(1);
    expect(maxTotal).toBe(2);
    expect(c.queue?.length).toBe(0);
    await c.stop();
  });

  it('refuses zero workers', () => {
    expect(() => new Controller({ kind: 'Test', workers: 0, reconcile: async () => {} })).toThrow(RangeError);
  });
});

describe('controller > stop and start', () => {
  it('finishes the reconcile in flight, then stops taking keys', async () => {
    const clock = new FakeClock();
    const gate = deferred();
    const { calls, reconcile } = recorder(clock, () => gate.promise);
    const c = new Controller({ kind: 'Test', reconcile, clock, workers: 1 });
    c.start();
    c.enqueue('a');
    c.enqueue('b');
    await flush();
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(calls.map((x) => x.key)).toEqual(['a']);
    c.enqueue('c');
    await flush();
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('queues every cached object of its informers on each start', async () => {
    const clock = new FakeClock();
    const source = new FakeSource();
    source.put('one');
    source.put('two');
    const informer = new Informer({ name: 'ConfigMap', source, clock, resyncPeriodMs: 0 });
    const { calls, reconcile } = recorder(clock);
    const c = new Controller({ kind: 'Test', reconcile, clock });
    c.watch(informer);
    informer.start();
    await informer.waitForSync();
    c.start();
    await flush();
    expect(calls.map((x) => x.key).sort()).toEqual(['ns/one', 'ns/two']);
    await c.stop();
    source.put('three'); // while stopped: not queued, but cached
    await flush();
    c.start();
    await flush();
    expect(
      calls
        .map((x) => x.key)
        .slice(2)
        .sort(),
    ).toEqual(['ns/one', 'ns/three', 'ns/two']);
    await c.stop();
    await informer.stop();
  });

  it('maps watched objects to keys', async () => {
    const clock = new FakeClock();
    const source = new FakeSource();
    const informer = new Informer({ name: 'ConfigMap', source, clock, resyncPeriodMs: 0 });
    const { calls, reconcile } = recorder(clock);
    const c = new Controller({ kind: 'Test', reconcile, clock });
    c.watch(informer, (cm) => (cm.data?.owner ? `ns/${cm.data.owner}` : undefined));
    informer.start();
    await informer.waitForSync();
    c.start();
    source.put('child-1', { owner: 'parent' });
    source.put('orphan');
    await flush();
    expect(calls.map((x) => x.key)).toEqual(['ns/parent']);
    await c.stop();
    await informer.stop();
  });
});
