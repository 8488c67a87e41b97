import { describe, expect, it } from '@jest/globals';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../../../src/common/clock.ts';
import { Informer } from '../../../../src/operator/runtime/informer.ts';
import { FakeSource, flush } from './fake-source.ts';

const RESYNC_MS = 60_000;

/** An informer on a fake source, with every handler call written down as `add a`, `update a`, … */
async function started(prepare: (s: FakeSource) => void = () => {}) {
  const clock = new FakeClock();
  const source = new FakeSource();
  prepare(source);
  const informer = new Informer<ConfigMap>({
    name: 'ConfigMap',
    source,
    clock,
    resyncPeriodMs: RESYNC_MS,
    backoff: { initialMs: 500, maxMs: 4_000 },
  });
  const seen: string[] = [];
  const name = (o: ConfigMap): string => o.metadata!.name!;
  informer.on({
    add: (o) => seen.push(`add ${name(o)}`),
    update: (_old, o) => seen.push(`update ${name(o)}`),
    delete: (o) => seen.push(`delete ${name(o)}`),
  });
  informer.start();
  await flush();
  return { clock, source, informer, seen };
}

describe('informer > list and watch', () => {
  it('lists into the cache, reports adds, then is synced', async () => {
    const { informer, seen, source } = await started((s) => {
      s.put('a');
      s.put('b');
    });
    expect(informer.hasSynced).toBe(true);
    await informer.waitForSync();
    expect(seen).toEqual(['add a', 'add b']);
    expect(informer.store.keys().sort()).toEqual(['ns/a', 'ns/b']);
    expect(source.active?.fromVersion).toBe(informer.resourceVersion);
    await informer.stop();
  });

  it('is not synced while the first list keeps failing', async () => {
    const { informer, clock, source } = await started((s) => (s.failLists = 3));
    expect(informer.hasSynced).toBe(false);
    await clock.advanceAsync(500 + 1_000 + 2_000);
    expect(source.lists).toBe(4);
    expect(informer.hasSynced).toBe(true);
    await informer.stop();
  });

  it('applies watch events to the cache and reports them', async () => {
    const { informer, seen, source } = await started();
    source.put('a', { v: '1' });
    source.put('a', { v: '2' });
    source.put('b');
    source.remove('a');
    expect(seen).toEqual(['add a', 'update a', 'add b', 'delete a']);
    expect(informer.store.keys()).toEqual(['ns/b']);
    expect(informer.store.get('ns/b')?.metadata?.resourceVersion).toBe(
      source.objects.get('b')!.metadata!.resourceVersion,
    );
    await informer.stop();
  });

  it('follows bookmarks’ resourceVersion without reporting anything', async () => {
    const { informer, clock, seen, source } = await started();
    source.bookmark();
    expect(seen).toEqual([]);
    await clock.advanceAsync(20_000);
    source.close();
    await flush();
    expect(source.active?.fromVersion).toBe(informer.resourceVersion);
    await informer.stop();
  });

  it('keeps a handler that throws from stopping the others', async () => {
    const { informer, seen, source } = await started();
    informer.on({
      add: () => {
        throw new Error('bad handler');
      },
    });
    source.put('a');
    source.put('b');
    expect(seen).toEqual(['add a', 'add b']);
    await informer.stop();
  });

  it('stops reporting to handlers that were removed', async () => {
    const { informer, source } = await started();
    const extra: string[] = [];
    const off = informer.on({ add: (o) => extra.push(o.metadata!.name!) });
    source.put('a');
    off();
    source.put('b');
    expect(extra).toEqual(['a']);
    await informer.stop();
  });
});

describe('informer > recovery', () => {
  it('reopens a watch the server closed cleanly from the last resourceVersion, without listing', async () => {
    const { informer, clock, source } = await started();
    await clock.advanceAsync(20_000);
    source.put('a');
    const rv = informer.resourceVersion;
    source.close();
    await flush();
    expect(source.lists).toBe(1);
    expect(source.watches).toHaveLength(2);
    expect(source.active?.fromVersion).toBe(rv);
    await informer.stop();
  });

  it('lists again at once after 410 Gone, reporting what changed while it was not watching', async () => {
    const { informer, seen, source } = await started((s) => {
      s.put('keep');
      s.put('change');
      s.put('drop');
    });
    source.silent = true;
    source.put('change', { v: '2' });
    source.remove('drop');
    source.put('new');
    source.silent = false;
    source.active!.onEvent({ type: 'ERROR', object: { code: 410, reason: 'Expired', message: 'too old' } });
    await flush();
    expect(source.lists).toBe(2);
    expect(seen.slice(3)).toEqual(['delete drop', 'update change', 'add new']);
    expect(informer.store.keys().sort()).toEqual(['ns/change', 'ns/keep', 'ns/new']);
    await informer.stop();
  });

  it('treats a watch refused with HTTP 410 like a 410 event', async () => {
    const { informer, source } = await started();
    source.close(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await flush();
    expect(source.lists).toBe(2);
    await informer.stop();
  });

  it('lists again after a growing backoff when watches fail, and resets it after a good list', async () => {
    const { informer, clock, source } = await started();
    const listsAt: number[] = [];
    const list = source.list.bind(source);
    source.list = async () => {
      listsAt.push(clock.now());
      return list();
    };
    source.failLists = 2;
    source.close(new Error('socket hang up')); // at 0: list at 500 fails, 1500 fails, 3500 works
    await clock.advanceAsync(10_000);
    expect(listsAt).toEqual([500, 1_500, 3_500]);
    source.close(new Error('socket hang up'));
    await clock.advanceAsync(1_000);
    expect(listsAt).toEqual([500, 1_500, 3_500, 10_500]);
    await informer.stop();
  });

  it('counts a watch closed as soon as it opened as a failure (no tight reconnect loop)', async () => {
    const { informer, clock, source } = await started();
    source.close();
    await flush();
    expect(source.watches).toHaveLength(1);
    await clock.advanceAsync(500);
    expect(source.lists).toBe(2);
    await informer.stop();
  });

  it('catches a watch that went silent at the next resync, and reports every object again', async () => {
    const { informer, clock, seen, source } = await started((s) => s.put('a'));
    source.silent = true;
    source.put('b');
    await clock.advanceAsync(RESYNC_MS - 1);
    expect(informer.store.get('ns/b')).toBeUndefined();
    await clock.advanceAsync(1);
    expect(informer.store.get('ns/b')).toBeDefined();
    expect(seen).toEqual(['add a', 'update a', 'add b']);
    expect(source.watches.filter((w) => !w.stopped)).toHaveLength(1);
    await informer.stop();
  });

  it('stops: no more watches, lists or timers', async () => {
    const { informer, clock, source } = await started();
    source.close(new Error('reset'));
    await informer.stop();
    await clock.advanceAsync(RESYNC_MS * 3);
    expect(source.lists).toBe(1);
    expect(source.active).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects waitForSync when its signal aborts first', async () => {
    const { informer } = await started((s) => (s.failLists = 100));
    const abort = new AbortController();
    const waiting = informer.waitForSync(abort.signal);
    abort.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    await informer.stop();
  });
});
