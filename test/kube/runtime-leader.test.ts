/**
 * Leader election between two electors (as two operator replicas would run it) on a real Lease,
 * and the Manager around it: one leads; a stopped leader hands over at once; a leader cut off from
 * the API steps down; only the leader's controllers reconcile.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { Applier } from '../../src/operator/runtime/apply.ts';
import { KubeClient, loadKubeConfig } from '../../src/operator/runtime/client.ts';
import { Controller } from '../../src/operator/runtime/controller.ts';
import { Informer } from '../../src/operator/runtime/informer.ts';
import { LeaderElector, type LeaderElectionTimings } from '../../src/operator/runtime/leader-election.ts';
import { kubeLeaseLock } from '../../src/operator/runtime/lease-lock.ts';
import { kubeListerWatcher } from '../../src/operator/runtime/list-watch.ts';
import { Manager } from '../../src/operator/runtime/manager.ts';
import { parseKey } from '../../src/operator/runtime/objects.ts';
import { ConfigMaps, ResourceMapper } from '../../src/operator/runtime/resources.ts';
import { useControlPlane } from './use-control-plane.ts';

const plane = useControlPlane();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 60_000);

// Short, so the test is quick; the same ratios as the defaults (15 / 10 / 2 s).
const timings: LeaderElectionTimings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 };
/**
 * For the hand-over tests: a lease far longer than `eventually`'s 30 s, so a hand-over that waited
 * for the lease to expire would fail them — no stopwatch needed to tell release from expiry.
 */
const longLease: LeaderElectionTimings = {
  leaseDurationMs: 120_000,
  renewDeadlineMs: 60_000,
  retryPeriodMs: 250,
};

async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const newClient = (): KubeClient =>
  new KubeClient(loadKubeConfig({ kubeconfigPath: plane().kubeconfigPath }));

async function namespace(): Promise<string> {
  const name = `leader-${randomBytes(4).toString('hex')}`;
  const r = await plane().request('POST', '/api/v1/namespaces', { metadata: { name } });
  if (r.status !== 201) throw new Error(`could not create namespace ${name}: ${r.body}`);
  return name;
}

/** An elector with its own client (its own connection), recording its callbacks. */
function elector(ns: string, identity: string, t = timings) {
  const events: string[] = [];
  const e = new LeaderElector({
    ...t,
    lock: kubeLeaseLock(newClient(), { namespace: ns, name: 'operator' }),
    identity,
    onStartedLeading: () => void events.push('started'),
    onStoppedLeading: () => void events.push('stopped'),
  });
  cleanups.push(() => e.stop());
  return { e, events };
}

async function leaseHolder(ns: string): Promise<string | undefined> {
  const r = await plane().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/operator`);
  return (r.json as Lease | undefined)?.spec?.holderIdentity;
}

/** Polls for `ms`, failing if both ever lead at once. */
async function neverBoth(a: LeaderElector, b: LeaderElector, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (a.isLeader && b.isLeader) throw new Error('both electors lead');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('runtime > leader election on a real Lease', () => {
  it('lets exactly one of two electors lead', async () => {
    const ns = await namespace();
    const a = elector(ns, 'replica-a');
    const b = elector(ns, 'replica-b');
    a.e.start();
    b.e.start();
    await eventually('a leader', () => a.e.isLeader || b.e.isLeader);
    await neverBoth(a.e, b.e, 2 * timings.leaseDurationMs!);
    const leader = a.e.isLeader ? a : b;
    expect(leader.events).toEqual(['started']);
    expect(await leaseHolder(ns)).toBe(leader.e.identity);
    expect(a.e.leader).toBe(leader.e.identity);
    expect(b.e.leader).toBe(leader.e.identity);
  }, 60_000);

  it('hands over at once when the leader stops, releasing the lease', async () => {
    const ns = await namespace();
    const a = elector(ns, 'replica-a', longLease);
    a.e.start();
    await eventually('a to lead', () => a.e.isLeader);
    const b = elector(ns, 'replica-b', longLease);
    b.e.start();
    await eventually('b to see a as leader', () => b.e.leader === 'replica-a');

    await a.e.stop();
    expect(a.events).toEqual(['started', 'stopped']);
    const holder = await leaseHolder(ns);
    expect(holder === '' || holder === 'replica-b').toBe(true); // released
    await eventually('b to lead', () => b.e.isLeader); // well before the 120 s lease could expire
    expect(await leaseHolder(ns)).toBe('replica-b');
  }, 60_000);

  it('steps down when it loses the API, and someone leads again once it is back', async () => {
    const ns = await namespace();
    const a = elector(ns, 'replica-a');
    const b = elector(ns, 'replica-b');
    a.e.start();
    await eventually('a to lead', () => a.e.isLeader);
    b.e.start();
    await eventually('b to see a as leader', () => b.e.leader === 'replica-a');

    // Freeze the API server: requests hang (the worst case: no error to react to).
    const pid = plane().pids()['kube-apiserver'];
    process.kill(pid, 'SIGSTOP');
    try {
      await eventually('a to step down', () => !a.e.isLeader);
      expect(a.events).toEqual(['started', 'stopped']);
      expect(b.e.isLeader).toBe(false);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually('someone to lead again', () => a.e.isLeader || b.e.isLeader);
    await neverBoth(a.e, b.e, timings.leaseDurationMs!);
  }, 60_000);
});

describe('runtime > manager with leader election', () => {
  /**
   * One operator replica: an informer on the namespace's ConfigMaps and a controller that, for
   * each ConfigMap labelled `role=source`, applies a `<name>-copy` with the same data and a
   * `copiedBy` annotation naming the replica.
   */
  function replica(ns: string, identity: string) {
    const client = newClient();
    const applier = new Applier({ client, resources: new ResourceMapper(client) });
    const informer = new Informer<ConfigMap>({
      name: 'ConfigMap',
      source: kubeListerWatcher<ConfigMap>(client, ConfigMaps, {
        namespace: ns,
        labelSelector: 'role=source',
      }),
    });
    const controller = new Controller({
      kind: 'ConfigMap',
      reconcile: async (key) => {
        const source = informer.store.get(key);
        if (!source) return;
        const { name } = parseKey(key);
        await applier.apply<ConfigMap>({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${name}-copy`, namespace: ns, annotations: { copiedBy: identity } },
          data: source.data,
        });
      },
    });
    controller.watch(informer);
    const manager = new Manager({
      informers: [informer],
      controllers: [controller],
      leaderElection: {
        ...longLease,
        lock: kubeLeaseLock(client, { namespace: ns, name: 'operator' }),
        identity,
      },
    });
    cleanups.push(() => manager.stop());
    return manager;
  }

  const copyOf = async (ns: string, name: string): Promise<ConfigMap | undefined> => {
    const r = await plane().request('GET', `/api/v1/namespaces/${ns}/configmaps/${name}-copy`);
    return r.status === 200 ? (r.json as ConfigMap) : undefined;
  };

  it('reconciles on the leader only, and on the other replica after the leader stops', async () => {
    const ns = await namespace();
    const source = (name: string, v: string) =>
      plane().request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
        metadata: { name, labels: { role: 'source' } },
        data: { v },
      });
    await source('first', '1');
    const a = replica(ns, 'replica-a');
    await a.start();
    await eventually('a to lead', () => a.leading);
    const b = replica(ns, 'replica-b');
    await b.start();

    await eventually('the first copy', async () => (await copyOf(ns, 'first')) !== undefined);
    expect((await copyOf(ns, 'first'))?.metadata?.annotations?.copiedBy).toBe('replica-a');
    expect(b.leading).toBe(false);

    await a.stop(); // what SIGTERM does: controllers finish, the lease is released, informers stop
    await eventually('b to lead', () => b.leading);
    await source('second', '2');
    await eventually('the second copy', async () => (await copyOf(ns, 'second')) !== undefined);
    expect((await copyOf(ns, 'second'))?.metadata?.annotations?.copiedBy).toBe('replica-b');
  }, 60_000);
});
