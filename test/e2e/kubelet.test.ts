/**
 * The kubelet stand-in on the real control plane: pods kube-scheduler binds to its nodes run as
 * local processes built from their own specs, report readiness from their probes, are restarted
 * when they crash, stop on deletion, and a failed node turns NotReady.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { must, namespace } from '../kube/operator-helpers.ts';
import { eventually, useE2eCluster } from './cluster.ts';
import {
  appConfig,
  appPod,
  appRequest,
  appStatefulSet,
  getPod,
  isReady,
  listPods,
  nodeReadyCondition,
} from './workloads.ts';

const cluster = useE2eCluster();

async function create(ns: string, objects: object[]): Promise<void> {
  for (const o of objects) {
    const kind = (o as { kind: string }).kind;
    const path =
      kind === 'StatefulSet'
        ? `/apis/apps/v1/namespaces/${ns}/statefulsets`
        : `/api/v1/namespaces/${ns}/${kind.toLowerCase()}s`;
    await must(cluster().cp, 'POST', path, o);
  }
}

async function readyPods(ns: string, app: string, count: number): Promise<Pod[]> {
  return eventually(cluster(), `${count} ready pods of ${ns}/${app}`, async () => {
    const pods = await listPods(cluster().cp, ns, `app=${app}`);
    const ready = pods.filter((p) => isReady(p) && !p.metadata?.deletionTimestamp);
    return ready.length === count ? ready : undefined;
  });
}

const readyCondition = (node: string): Promise<string | undefined> => nodeReadyCondition(cluster().cp, node);

describe('kubelet stand-in', () => {
  it('runs a StatefulSet across the zones with its downward-API env, config files and claims', async () => {
    const { cp } = cluster();
    const ns = await namespace(cp, 'sts');
    await create(ns, [...appConfig(ns, 'web'), appStatefulSet(ns, 'web', 3)]);
    const pods = await readyPods(ns, 'web', 3);

    const nodes = await Promise.all(pods.map((p) => cp.request('GET', `/api/v1/nodes/${p.spec?.nodeName}`)));
    const zones = nodes.map((r) => (r.json as Node).metadata?.labels?.['topology.kubernetes.io/zone']);
    expect(new Set(zones).size).toBe(3);
    expect(new Set(pods.map((p) => p.status?.podIP)).size).toBe(3);

    const web0 = pods.find((p) => p.metadata?.name === 'web-0')!;
    const ip = web0.status?.podIP ?? '';
    expect(ip).toMatch(/^127\.0\.0\.\d+$/);
    expect(web0.status?.containerStatuses?.[0]).toMatchObject({
      ready: true,
      restartCount: 0,
      started: true,
    });
    expect(web0.status?.phase).toBe('Running');

    const env = (await appRequest<Record<string, string>>(web0, '/env'))!;
    expect(env).toMatchObject({
      POD_NAME: 'web-0',
      POD_NAMESPACE: ns,
      POD_IP: ip,
      HOST_IP: ip,
      NODE_NAME: web0.spec?.nodeName,
      POD_INDEX: '0',
      ZONE: web0.metadata?.labels?.['topology.kubernetes.io/zone'],
      GREETING: 'hello',
      ADDRESS: `web-0.web.${ns}:8080`,
      LITERAL: '$(POD_NAME) $(UNDEFINED)',
      SETTING: 'on',
      LISTEN: `${ip}:8080`,
      HOSTNAME: 'web-0',
    });
    expect(env.ZONE).toMatch(/^e2e-zone-/);

    // Mount paths point into the pod's volumes on this machine.
    const config = await appRequest<{ contents: string }>(
      web0,
      `/file?path=${encodeURIComponent(env.CONFIG_FILE)}`,
    );
    expect(config?.contents).toBe('colour=blue\n');
    const token = await appRequest<{ contents: string; mode: number }>(
      web0,
      `/file?path=${encodeURIComponent(env.TOKEN_FILE)}`,
    );
    expect(token).toEqual({ contents: 's3cret', mode: 0o400 });
    expect(env.SCRATCH_DIR).not.toBe('/scratch');

    // A file on the claim survives the pod: the StatefulSet's new web-0 gets the same volume.
    const dataFile = `${env.DATA_DIR}/marker`;
    expect(dataFile).not.toMatch(/^\/data\//);
    expect(await appRequest(web0, `/file?path=${encodeURIComponent(dataFile)}`, 'kept')).toEqual({
      written: dataFile,
    });
    await must(cp, 'DELETE', `/api/v1/namespaces/${ns}/pods/web-0`);
    const again = await eventually(cluster(), 'a new web-0, ready', async () => {
      const p = await getPod(cp, ns, 'web-0');
      return p && p.metadata?.uid !== web0.metadata?.uid && isReady(p) ? p : undefined;
    });
    expect(again.spec?.nodeName).toBe(web0.spec?.nodeName); // the local volume pins it there
    const marker = await appRequest<{ contents: string }>(
      again,
      `/file?path=${encodeURIComponent(dataFile)}`,
    );
    expect(marker?.contents).toBe('kept');
  }, 60_000);

  it('restarts a container that crashes, with its restart count growing', async () => {
    const { cp } = cluster();
    const ns = await namespace(cp, 'crash');
    await create(ns, [appPod(ns, 'crasher', { args: ['--crash-after', '200'] })]);
    const pod = await eventually(cluster(), 'two restarts of crasher', async () => {
      const p = await getPod(cp, ns, 'crasher');
      return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? p : undefined;
    });
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
    expect(pod.status?.phase).toBe('Running');
    const log = readFileSync(cluster().kubelet.logPath(ns, 'crasher', 'app'), 'utf8');
    expect(log.match(/crashing on purpose/g)?.length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('stops a deleted pod with SIGTERM and the StatefulSet makes it again', async () => {
    const { cp, kubelet } = cluster();
    const ns = await namespace(cp, 'term');
    await create(ns, [...appConfig(ns, 'term'), appStatefulSet(ns, 'term', 1)]);
    const [first] = await readyPods(ns, 'term', 1);
    const pid = kubelet.containerPid(ns, 'term-0');
    expect(pid).toBeDefined();

    await must(cp, 'DELETE', `/api/v1/namespaces/${ns}/pods/term-0`);
    await eventually(cluster(), 'term-0 made again', async () => {
      const p = await getPod(cp, ns, 'term-0');
      return p && p.metadata?.uid !== first.metadata?.uid && isReady(p);
    });
    expect(readFileSync(kubelet.logPath(ns, 'term-0', 'app'), 'utf8')).toMatch(
      /received SIGTERM[\s\S]*exited \(0\)/,
    );
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 30_000);

  it('fails a node: its processes die, it turns NotReady, and it comes back', async () => {
    const { cp, kubelet } = cluster();
    const ns = await namespace(cp, 'node');
    const node = 'e2e-node-c';
    await create(ns, [appPod(ns, 'pinned', { nodeName: node })]);
    await eventually(
      cluster(),
      'pinned running',
      async () => (await getPod(cp, ns, 'pinned'))?.status?.phase === 'Running',
    );
    const pid = kubelet.containerPid(ns, 'pinned');
    expect(pid).toBeDefined();

    kubelet.failNode(node, 'kill');
    await eventually(cluster(), 'the process killed', () => !existsSync(`/proc/${pid}`), 5_000);
    await eventually(
      cluster(),
      `${node} NotReady`,
      async () => (await readyCondition(node)) === 'Unknown',
      20_000,
    );
    // The node lifecycle controller marks its pods not ready too.
    await eventually(cluster(), 'pinned not ready', async () => !isReady(await getPod(cp, ns, 'pinned')));

    await kubelet.recoverNode(node);
    expect(await readyCondition(node)).toBe('True');
    const back = await eventually(cluster(), 'pinned running again', async () => {
      const p = await getPod(cp, ns, 'pinned');
      return p?.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
    });
    expect(back.status?.containerStatuses?.[0]?.restartCount).toBe(1);
  }, 40_000);

  it('restarts a container whose liveness probe fails', async () => {
    const { cp, kubelet } = cluster();
    const ns = await namespace(cp, 'live');
    const probe = { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1, failureThreshold: 2 };
    const args = ['--listen', '0.0.0.0:8080', '--unhealthy-after', '1000'];
    await create(ns, [
      appPod(ns, 'sick', { args, container: { livenessProbe: probe, startupProbe: probe } }),
    ]);
    const pod = await eventually(cluster(), 'sick restarted', async () => {
      const p = await getPod(cp, ns, 'sick');
      return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : undefined;
    });
    // Stopped with SIGTERM, as the kubelet stops a container that failed its liveness probe.
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(0);
    expect(readFileSync(kubelet.logPath(ns, 'sick', 'app'), 'utf8')).toMatch(
      /liveness probe failed[\s\S]*received SIGTERM/,
    );
  }, 30_000);

  it('freezes a node: its processes stop, it turns NotReady, and they resume on recovery', async () => {
    const { cp, kubelet } = cluster();
    const ns = await namespace(cp, 'freeze');
    const node = 'e2e-node-b';
    await create(ns, [appPod(ns, 'frozen', { nodeName: node })]);
    const before = await eventually(cluster(), 'frozen ready', async () => {
      const p = await getPod(cp, ns, 'frozen');
      return isReady(p) ? p : undefined;
    });
    const pid = kubelet.containerPid(ns, 'frozen')!;
    const state = (): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];

    kubelet.failNode(node, 'freeze');
    await eventually(cluster(), 'the process stopped', () => state() === 'T', 5_000);
    expect(await appRequest(before, '/healthz', undefined, 500)).toBeUndefined();
    await eventually(
      cluster(),
      `${node} NotReady`,
      async () => (await readyCondition(node)) === 'Unknown',
      20_000,
    );

    await kubelet.recoverNode(node);
    expect(state()).not.toBe('T');
    await eventually(
      cluster(),
      'frozen answering',
      async () => (await appRequest(before, '/healthz', undefined, 1000)) !== undefined,
      10_000,
      { namespace: ns, pod: 'frozen' },
    );
    const after = await eventually(cluster(), 'frozen ready again', async () => {
      const p = await getPod(cp, ns, 'frozen');
      return isReady(p) ? p : undefined;
    });
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(kubelet.containerPid(ns, 'frozen')).toBe(pid);
  }, 40_000);
});
