/**
 * Writing objects the runtime's way against a real kube-apiserver (and kube-controller-manager for
 * garbage collection): server-side apply, status, owner references, finalizers and Events.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { Event } from 'kubernetes-types/events/v1.js';
import type { Condition } from 'kubernetes-types/meta/v1.js';
import { isConflict } from '../../src/operator/runtime/api-errors.ts';
import { Applier, FIELD_MANAGER } from '../../src/operator/runtime/apply.ts';
import { KubeClient, loadKubeConfig } from '../../src/operator/runtime/client.ts';
import { Ready, setCondition } from '../../src/operator/runtime/conditions.ts';
import { EventRecorder } from '../../src/operator/runtime/events.ts';
import { Finalizers } from '../../src/operator/runtime/finalizers.ts';
import { withController } from '../../src/operator/runtime/owner.ts';
import { ResourceMapper } from '../../src/operator/runtime/resources.ts';
import { StatusWriter } from '../../src/operator/runtime/status.ts';
import { widgetCrd } from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

let client: KubeClient;
let resources: ResourceMapper;
let applier: Applier;
const plane = useControlPlane(
  { controllerManager: true },
  {
    setup: (cp) => {
      client = new KubeClient(loadKubeConfig({ kubeconfigPath: cp.kubeconfigPath }));
      resources = new ResourceMapper(client);
      applier = new Applier({ client, resources });
    },
  },
);

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function namespace(): Promise<string> {
  const name = `apply-${randomBytes(4).toString('hex')}`;
  const r = await plane().request('POST', '/api/v1/namespaces', { metadata: { name } });
  if (r.status !== 201) throw new Error(`could not create namespace ${name}: ${r.body}`);
  return name;
}

const configMap = (ns: string, name: string, data: Record<string, string>): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels: { app: 'tributary' } },
  data,
});

const get = <T>(path: string): Promise<T> => client.request<T>({ method: 'GET', path });

describe('runtime > server-side apply', () => {
  it('creates an object, then converges it to what is applied next', async () => {
    const ns = await namespace();
    const created = await applier.apply(configMap(ns, 'cfg', { a: '1', b: '2' }));
    expect(created.metadata?.uid).toBeDefined();
    expect(created.metadata?.managedFields?.map((m) => [m.manager, m.operation])).toEqual([
      [FIELD_MANAGER, 'Apply'],
    ]);

    const same = await applier.apply(configMap(ns, 'cfg', { a: '1', b: '2' }));
    expect(same.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    const changed = await applier.apply(configMap(ns, 'cfg', { a: '10', c: '3' }));
    expect(changed.data).toEqual({ a: '10', c: '3' }); // b is no longer stated, so it goes
    expect(changed.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('puts back a field changed by hand', async () => {
    const ns = await namespace();
    await applier.apply(configMap(ns, 'cfg', { replicas: '3' }));
    const path = `/api/v1/namespaces/${ns}/configmaps/cfg`;
    const edited = await client.request<ConfigMap>({
      method: 'PATCH',
      path,
      query: { fieldManager: 'kubectl-edit' },
      contentType: 'application/merge-patch+json',
      body: { data: { replicas: '1', note: 'mine' } },
    });
    expect(edited.data).toEqual({ replicas: '1', note: 'mine' });

    const reapplied = await applier.apply(configMap(ns, 'cfg', { replicas: '3' }));
    expect(reapplied.data).toEqual({ replicas: '3', note: 'mine' }); // ours back; theirs kept
  });

  it('dry-runs without changing anything', async () => {
    const ns = await namespace();
    const dry = await applier.apply(configMap(ns, 'cfg', { a: '1' }), { dryRun: true });
    expect(dry.data).toEqual({ a: '1' });
    const r = await plane().request('GET', `/api/v1/namespaces/${ns}/configmaps/cfg`);
    expect(r.status).toBe(404);
  });
});

describe('runtime > owner references', () => {
  it('lets the garbage collector delete a child with its owner', async () => {
    const ns = await namespace();
    const owner = await applier.apply(configMap(ns, 'owner', {}));
    const child = await applier.apply(withController(configMap(ns, 'child', { x: '1' }), owner));
    expect(child.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'ConfigMap',
        name: 'owner',
        uid: owner.metadata?.uid,
        controller: true,
      }),
    ]);
    await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/configmaps/owner` });
    await eventually('the child to be collected', async () => {
      const r = await plane().request('GET', `/api/v1/namespaces/${ns}/configmaps/child`);
      return r.status === 404;
    });
  }, 90_000);
});

describe('runtime > finalizers', () => {
  it('adds and removes a finalizer, keeping a deleted object until it is removed', async () => {
    const ns = await namespace();
    const finalizers = new Finalizers({ client, resources });
    const cm = await applier.apply(configMap(ns, 'guarded', {}));
    const held = await finalizers.add(cm, 'tributary.dev/cleanup');
    expect(held.metadata?.finalizers).toEqual(['tributary.dev/cleanup']);
    expect((await finalizers.add(held, 'tributary.dev/cleanup')).metadata?.resourceVersion).toBe(
      held.metadata?.resourceVersion,
    );

    const path = `/api/v1/namespaces/${ns}/configmaps/guarded`;
    await client.request({ method: 'DELETE', path });
    const deleting = await get<ConfigMap>(path);
    expect(deleting.metadata?.deletionTimestamp).toBeDefined();

    expect(await finalizers.remove(deleting, 'tributary.dev/cleanup')).toBeDefined();
    expect((await plane().request('GET', path)).status).toBe(404);
    expect(await finalizers.remove(deleting, 'tributary.dev/cleanup')).toBeUndefined();
  });

  it('does not lose a finalizer someone else wrote meanwhile', async () => {
    const ns = await namespace();
    const finalizers = new Finalizers({ client, resources });
    const v1 = await applier.apply(configMap(ns, 'shared', {}));
    await finalizers.add(v1, 'other.io/theirs'); // v1 is now out of date
    const both = await finalizers.add(v1, 'tributary.dev/ours');
    expect(both.metadata?.finalizers).toEqual(['other.io/theirs', 'tributary.dev/ours']);
    await finalizers.add(both, 'other.io/third'); // and now `both` is
    const after = await finalizers.remove(both, 'tributary.dev/ours');
    expect(after?.metadata?.finalizers).toEqual(['other.io/theirs', 'other.io/third']);
  });
});

describe('runtime > status of a custom resource', () => {
  const group = 'runtime.test.tributary.dev';
  interface Widget {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string; resourceVersion?: string; generation?: number };
    spec?: { size: number };
    status?: { conditions?: Condition[]; leader?: number };
  }
  const widget = (ns: string, name: string, size: number): Widget => ({
    apiVersion: `${group}/v1`,
    kind: 'Widget',
    metadata: { name, namespace: ns },
    spec: { size },
  });

  beforeAll(async () => {
    // Applied like any other object: the mapper finds CustomResourceDefinition by discovery.
    await applier.apply(widgetCrd(group, { statusSubresource: true }));
    await eventually('the Widget kind to be served', async () =>
      resources.resolve(`${group}/v1`, 'Widget').then(
        () => true,
        () => false,
      ),
    );
  }, 60_000);

  it('applies status through the status subresource without touching spec, and spec without touching status', async () => {
    const ns = await namespace();
    const created = await applier.apply(widget(ns, 'w', 3));
    const { conditions } = setCondition(
      undefined,
      { type: Ready, status: 'False', reason: 'Starting', observedGeneration: created.metadata.generation },
      Date.now(),
    );
    const withStatus = await applier.applyStatus({ ...created, spec: { size: 99 }, status: { conditions } });
    expect(withStatus.spec).toEqual({ size: 3 });
    expect(withStatus.status?.conditions).toEqual(conditions);
    const spec = await applier.apply(widget(ns, 'w', 4));
    expect(spec.status?.conditions).toEqual(conditions);
  });

  it('replaces status only from the current resourceVersion, and retries a read-modify-write on conflict', async () => {
    const ns = await namespace();
    const status = new StatusWriter({ client, resources });
    const created = await applier.apply(widget(ns, 'w', 1));
    const first = await status.replaceStatus(created, { leader: 1 });
    expect(first.status).toEqual({ leader: 1 });

    const error = await status.replaceStatus(created, { leader: 2 }).catch((e: unknown) => e);
    expect(isConflict(error)).toBe(true);

    // From a stale reference: it reads the current object before computing the new status.
    const updated = await status.updateStatus(created, (current) => ({
      leader: (current.status?.leader ?? 0) + 1,
    }));
    expect(updated.status).toEqual({ leader: 2 });
    expect(updated.spec).toEqual({ size: 1 });
  });
});

describe('runtime > events', () => {
  it('writes an Event about an object, and counts repeats in one series', async () => {
    const ns = await namespace();
    const cm = await applier.apply(configMap(ns, 'subject', {}));
    const events = new EventRecorder({ client, reportingInstance: 'operator-0' });
    await events.normal(cm, 'Created', 'Apply', 'Created ConfigMap subject');
    await events.normal(cm, 'Created', 'Apply', 'Created ConfigMap subject');
    await events.warning(cm, 'BrokerFenced', 'Fence', 'Broker 2 stopped heartbeating');
    const list = await get<{ items: Event[] }>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`);
    const byReason = new Map(list.items.map((e) => [e.reason, e]));
    expect(list.items).toHaveLength(2);
    expect(byReason.get('Created')).toMatchObject({
      type: 'Normal',
      action: 'Apply',
      note: 'Created ConfigMap subject',
      reportingController: 'tributary-operator',
      reportingInstance: 'operator-0',
      regarding: { kind: 'ConfigMap', name: 'subject', namespace: ns, uid: cm.metadata?.uid },
      series: { count: 2 },
    });
    expect(byReason.get('BrokerFenced')?.type).toBe('Warning');
  });

  it('never throws, even when the Event cannot be written', async () => {
    const events = new EventRecorder({ client, reportingInstance: 'operator-0' });
    const nowhere = configMap('no-such-namespace', 'x', {});
    await expect(events.normal(nowhere, 'Created', 'Apply', 'n')).resolves.toBeUndefined();
  });
});
