import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../../src/common/clock.ts';
import { Controller } from '../../../../src/operator/runtime/controller.ts';
import { Informer } from '../../../../src/operator/runtime/informer.ts';
import type { LeaseRecord } from '../../../../src/operator/runtime/lease-decision.ts';
import type { LeaseLock } from '../../../../src/operator/runtime/lease-lock.ts';
import { Manager, stopOnSignals } from '../../../../src/operator/runtime/manager.ts';
import { FakeSource, flush } from './fake-source.ts';

/** A lease nobody else competes for, recording every write. */
function soloLock(writes: string[]): LeaseLock {
  let lease: { record: LeaseRecord; resourceVersion: string } | undefined;
  let rv = 0;
  const write = (record: LeaseRecord): string => {
    lease = { record, resourceVersion: String(++rv) };
    writes.push(record.holderIdentity ?? '');
    return lease.resourceVersion;
  };
  return {
    description: 'ns/op',
    get: async () => lease,
    create: async (r) => write(r),
    update: async (r) => write(r),
  };
}

function setup(failLists = 0) {
  const clock = new FakeClock();
  const source = new FakeSource();
  source.put('a');
  source.failLists = failLists;
  const informer = new Informer({ name: 'ConfigMap', source, clock, resyncPeriodMs: 0 });
  const reconciled: string[] = [];
  const controller = new Controller({
    kind: 'ConfigMap',
    clock,
    reconcile: async (key) => void reconciled.push(key),
  });
  controller.watch(informer);
  return { clock, source, informer, controller, reconciled };
}

describe('manager', () => {
  it('runs the controllers once the caches are synced (without leader election)', async () => {
    const { clock, informer, controller, reconciled } = setup(2);
    const manager = new Manager({
      informers: [informer],
      controllers: [controller],
      clock,
    });
    const starting = manager.start();
    await flush();
    expect(controller.running).toBe(false);
    await clock.advanceAsync(2_000);
    await starting;
    expect(manager.leading).toBe(true);
    await flush();
    expect(reconciled).toEqual(['ns/a']);
    await manager.stop();
    expect(controller.running).toBe(false);
  });

  it('runs the controllers only while leading, and releases the lease after they stopped', async () => {
    const { clock, informer, controller, reconciled } = setup();
    const writes: string[] = [];
    const manager = new Manager({
      informers: [informer],
      controllers: [controller],
      clock,
      leaderElection: { lock: soloLock(writes), identity: 'me' },
    });
    await manager.start();
    expect(controller.running).toBe(false);
    await clock.advanceAsync(0);
    await flush();
    expect(manager.leading).toBe(true);
    expect(controller.running).toBe(true);
    expect(reconciled).toEqual(['ns/a']);
    await manager.stop();
    expect(controller.running).toBe(false);
    expect(writes).toEqual(['me', '']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects start when stopped before the caches synced', async () => {
    const { informer, controller } = setup(1_000);
    const manager = new Manager({ informers: [informer], controllers: [controller] });
    const starting = manager.start();
    await manager.stop();
    await expect(starting).rejects.toThrow(/before its caches synced/);
    expect(controller.running).toBe(false);
  });
});

describe('manager > signals', () => {
  it('stops the manager on SIGTERM and says which signal', async () => {
    const source = new EventEmitter();
    let stops = 0;
    const { stopped } = stopOnSignals({ stop: async () => void stops++ }, { source });
    source.emit('SIGTERM');
    source.emit('SIGINT');
    expect(await stopped).toBe('SIGTERM');
    expect(stops).toBe(1);
    expect(source.listenerCount('SIGINT')).toBe(0);
  });

  it('removes its listeners when disposed', () => {
    const source = new EventEmitter();
    const { dispose } = stopOnSignals({ stop: async () => {} }, { source, signals: ['SIGTERM'] });
    expect(source.listenerCount('SIGTERM')).toBe(1);
    dispose();
    expect(source.listenerCount('SIGTERM')).toBe(0);
  });
});
