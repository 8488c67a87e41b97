/**
 * The runtime's informer against a real kube-apiserver: it sees adds, updates and deletes, and it
 * recovers by itself when the API server dies under it (SIGKILL: the watch connection breaks, the
 * watch's resourceVersion is too old for the restarted server's history).
 */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { KubeClient, loadKubeConfig } from '../../src/operator/runtime/client.ts';
import { Informer } from '../../src/operator/runtime/informer.ts';
import { kubeListerWatcher } from '../../src/operator/runtime/list-watch.ts';
import { ConfigMaps } from '../../src/operator/runtime/resources.ts';
import { useControlPlane } from './use-control-plane.ts';

const plane = useControlPlane();

async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function namespace(): Promise<string> {
  const name = `informer-${randomBytes(4).toString('hex')}`;
  const r = await plane().request('POST', '/api/v1/namespaces', { metadata: { name } });
  if (r.status !== 201) throw new Error(`could not create namespace ${name}: ${r.body}`);
  return name;
}

async function must(method: string, path: string, body?: unknown): Promise<void> {
  const r = await plane().request(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
}

/** An informer on one namespace's ConfigMaps, with its handler calls written down. */
function configMapInformer(ns: string) {
  const client = new KubeClient(loadKubeConfig({ kubeconfigPath: plane().kubeconfigPath }));
  const informer = new Informer<ConfigMap>({
    name: 'ConfigMap',
    source: kubeListerWatcher<ConfigMap>(client, ConfigMaps, { namespace: ns }),
    backoff: { initialMs: 200, maxMs: 1_000 },
  });
  const seen: string[] = [];
  informer.on({
    add: (o) => seen.push(`add ${o.metadata?.name}`),
    update: (_old, o) => seen.push(`update ${o.metadata?.name}=${o.data?.v ?? ''}`),
    delete: (o) => seen.push(`delete ${o.metadata?.name}`),
  });
  return { informer, seen };
}

describe('runtime > informer against kube-apiserver', () => {
  it('lists existing ConfigMaps, then sees adds, updates and deletes', async () => {
    const ns = await namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await must('POST', base, { metadata: { name: 'before' }, data: { v: '0' } });
    const { informer, seen } = configMapInformer(ns);
    informer.start();
    try {
      await informer.waitForSync();
      expect(seen).toEqual(['add before']);
      expect(informer.store.get(`${ns}/before`)).toMatchObject({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        data: { v: '0' },
      });

      await must('POST', base, { metadata: { name: 'a' }, data: { v: '1' } });
      await must('PATCH', `${base}/a`, { data: { v: '2' } });
      await must('DELETE', `${base}/before`);
      await eventually('three events', () => seen.length >= 4);
      expect(seen).toEqual(['add before', 'add a', 'update a=2', 'delete before']);
      expect(informer.store.keys()).toEqual([`${ns}/a`]);
    } finally {
      await informer.stop();
    }
  }, 60_000);

  it('recovers after the API server is killed and sees changes made after the restart', async () => {
    const ns = await namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await must('POST', base, { metadata: { name: 'survivor' }, data: { v: '0' } });
    await must('POST', base, { metadata: { name: 'doomed' } });
    const { informer, seen } = configMapInformer(ns);
    informer.start();
    try {
      await informer.waitForSync();
      const rvBefore = informer.resourceVersion;

      await plane().restartApiServer({ kill: true });

      await must('POST', base, { metadata: { name: 'newcomer' } });
      await must('PATCH', `${base}/survivor`, { data: { v: '1' } });
      await must('DELETE', `${base}/doomed`);
      await eventually('the changes made after the restart', () => {
        const s = informer.store;
        return (
          s.get(`${ns}/newcomer`) !== undefined &&
          s.get(`${ns}/survivor`)?.data?.v === '1' &&
          !s.get(`${ns}/doomed`)
        );
      });
      expect(seen).toEqual(expect.arrayContaining(['add newcomer', 'update survivor=1', 'delete doomed']));
      expect(Number(informer.resourceVersion)).toBeGreaterThan(Number(rvBefore));

      // And it keeps watching: a change now arrives as an event.
      await must('PATCH', `${base}/survivor`, { data: { v: '2' } });
      await eventually('an event after recovery', () => seen.includes('update survivor=2'));
    } finally {
      await informer.stop();
    }
  }, 90_000);
});
