import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock } from '../../../../src/common/clock.ts';
import { KubeApiError } from '../../../../src/operator/runtime/api-errors.ts';
import { LeaderElector } from '../../../../src/operator/runtime/leader-election.ts';
import type { LeaseRecord } from '../../../../src/operator/runtime/lease-decision.ts';
import type { LeaseLock } from '../../../../src/operator/runtime/lease-lock.ts';
import { flush } from './fake-source.ts';

const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** One Lease, as the API server would keep it, reached through per-candidate connections that can fail. */
class FakeLeaseApi {
  lease: { record: LeaseRecord; resourceVersion: string } | undefined;
  #rv = 1;

  #write(record: LeaseRecord): string {
    this.lease = { record, resourceVersion: String(++this.#rv) };
    return this.lease.resourceVersion;
  }

  connect(): LeaseLock & { mode: 'up' | 'refused' | 'hanging' } {
    const reach = async (signal: AbortSignal): Promise<void> => {
      if (conn.mode === 'refused') throw new Error('connect ECONNREFUSED');
      if (conn.mode === 'hanging') {
        await new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      }
    };
    const conflict = (): KubeApiError =>
      new KubeApiError({ status: 409, method: 'PUT', path: '/lease', body: { reason: 'Conflict' } });
    const conn = {
      mode: 'up' as 'up' | 'refused' | 'hanging',
      description: 'ns/lease',
      get: async (signal: AbortSignal) => {
        await reach(signal);
        return this.lease && { ...this.lease };
      },
      create: async (record: LeaseRecord, signal: AbortSignal) => {
        await reach(signal);
        if (this.lease) {
          throw new KubeApiError({
            status: 409,
            method: 'POST',
            path: '/',
            body: { reason: 'AlreadyExists' },
          });
        }
        return this.#write(record);
      },
      update: async (record: LeaseRecord, resourceVersion: string, signal: AbortSignal) => {
        await reach(signal);
        if (this.lease?.resourceVersion !== resourceVersion) throw conflict();
        return this.#write(record);
      },
    };
    return conn;
  }
}

interface Candidate {
  elector: LeaderElector;
  conn: ReturnType<FakeLeaseApi['connect']>;
  log: string[];
}

function candidate(api: FakeLeaseApi, clock: FakeClock, identity: string, registry?: Registry): Candidate {
  const conn = api.connect();
  const log: string[] = [];
  const elector = new LeaderElector({
    ...timings,
    lock: conn,
    identity,
    clock,
    registry,
    onStartedLeading: () => void log.push(`started@${clock.now()}`),
    onStoppedLeading: () => void log.push(`stopped@${clock.now()}`),
  });
  return { elector, conn, log };
}

/** Advances in small steps, failing if two candidates ever lead at once. */
async function run(clock: FakeClock, ms: number, candidates: Candidate[]): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    await clock.advanceAsync(100);
    const leaders = candidates.filter((c) => c.elector.isLeader).map((c) => c.elector.identity);
    if (leaders.length > 1) throw new Error(`two leaders at ${clock.now()}: ${leaders.join(', ')}`);
  }
}

describe('leader election', () => {
  it('lets exactly one of two candidates lead, and keeps it leading while it renews', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = candidate(api, clock, 'a');
    const b = candidate(api, clock, 'b');
    a.elector.start();
    b.elector.start();
    await run(clock, 60_000, [a, b]);
    const leaders = [a, b].filter((c) => c.elector.isLeader);
    expect(leaders).toHaveLength(1);
    expect(leaders[0].log).toEqual(['started@0']);
    expect(api.lease?.record.holderIdentity).toBe(leaders[0].elector.identity);
    expect(a.elector.leader).toBe(leaders[0].elector.identity);
    expect(b.elector.leader).toBe(leaders[0].elector.identity);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('hands over on stop at the other’s next attempt, not after the lease expires', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = candidate(api, clock, 'a');
    a.elector.start();
    await run(clock, 100, [a]);
    const b = candidate(api, clock, 'b');
    b.elector.start();
    await run(clock, 10_000, [a, b]);
    expect(a.elector.isLeader).toBe(true);

    const stoppedAt = clock.now();
    await a.elector.stop();
    expect(a.log).toEqual(['started@0', `stopped@${stoppedAt}`]);
    expect(api.lease?.record.holderIdentity).toBe('');
    await run(clock, timings.retryPeriodMs, [a, b]);
    expect(b.elector.isLeader).toBe(true);
    expect(b.log).toHaveLength(1);
    expect(api.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.stop();
  });

  it('steps down when it cannot renew within the deadline, before anyone else may take over', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = candidate(api, clock, 'a');
    const b = candidate(api, clock, 'b');
    a.elector.start();
    await run(clock, 100, [a]);
    b.elector.start();
    await run(clock, 6_000, [a, b]);
    const lastRenewal = 6_000; // attempts run every 2 s from 0
    a.conn.mode = 'refused';
    await run(clock, 20_000, [a, b]); // `run` fails if both ever lead
    expect(a.log).toEqual(['started@0', `stopped@${lastRenewal + timings.renewDeadlineMs}`]);
    expect(b.elector.isLeader).toBe(true);
    const takenAt = Number(b.log[0].split('@')[1]);
    expect(takenAt).toBeGreaterThanOrEqual(lastRenewal + timings.leaseDurationMs);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('steps down at the deadline even when its requests hang instead of failing', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = candidate(api, clock, 'a');
    a.elector.start();
    await run(clock, 2_100, [a]); // renewed at 0 and 2000
    a.conn.mode = 'hanging';
    await run(clock, 15_000, [a]);
    expect(a.log).toEqual(['started@0', 'stopped@12000']);
    a.conn.mode = 'up';
    await a.elector.stop();
    expect(api.lease?.record.holderIdentity).toBe(''); // still named it: released on stop
  });

  it('leads again once the API is back, if no one else took over', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = candidate(api, clock, 'a');
    a.elector.start();
    await run(clock, 100, [a]);
    a.conn.mode = 'refused'; // attempts at 2 s … 12 s fail
    await run(clock, 12_000, [a]);
    expect(a.elector.isLeader).toBe(false);
    a.conn.mode = 'up';
    await run(clock, timings.retryPeriodMs, [a]);
    expect(a.elector.isLeader).toBe(true);
    expect(a.log).toEqual(['started@0', 'stopped@10000', 'started@14000']);
    await a.elector.stop();
  });

  it('steps down at once when it finds someone else holding the lease', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = candidate(api, clock, 'a');
    a.elector.start();
    await run(clock, 100, [a]);
    api.lease = { record: { ...api.lease!.record, holderIdentity: 'intruder' }, resourceVersion: '999' };
    await run(clock, timings.retryPeriodMs, [a]);
    expect(a.elector.isLeader).toBe(false);
    expect(a.log).toEqual(['started@0', 'stopped@2000']);
    expect(a.elector.leader).toBe('intruder');
    await a.elector.stop();
  });

  it('calls onStoppedLeading only after onStartedLeading has settled', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const order: string[] = [];
    let finishStart!: () => void;
    const elector = new LeaderElector({
      ...timings,
      lock: api.connect(),
      identity: 'a',
      clock,
      onStartedLeading: () =>
        new Promise<void>((resolve) => {
          order.push('starting');
          finishStart = () => {
            order.push('started');
            resolve();
          };
        }),
      onStoppedLeading: () => void order.push('stopped'),
    });
    elector.start();
    await clock.advanceAsync(0);
    await flush();
    const stopping = elector.stop();
    await flush();
    expect(order).toEqual(['starting']);
    finishStart();
    await stopping;
    expect(order).toEqual(['starting', 'started', 'stopped']);
  });

  it('reports leadership in a gauge', async () => {
    const clock = new FakeClock();
    const registry = new Registry();
    const a = candidate(new FakeLeaseApi(), clock, 'a', registry);
    const gauge = async (): Promise<number> =>
      (await registry.getSingleMetric('tributary_operator_leader')!.get()).values[0].value;
    expect(await gauge()).toBe(0);
    a.elector.start();
    await run(clock, 100, [a]);
    expect(await gauge()).toBe(1);
    await a.elector.stop();
    expect(await gauge()).toBe(0);
  });

  it('refuses timings that could let two lead at once', () => {
    const base = {
      lock: new FakeLeaseApi().connect(),
      identity: 'x',
      onStartedLeading() {},
      onStoppedLeading() {},
    };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      RangeError,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      RangeError,
    );
  });
});
