/**
 * The metadata controller's store on a real kube-apiserver (src/operator/metadata/kube-store.ts):
 * the whole cluster state in one ConfigMap, each save a compare-and-swap on resourceVersion. Two
 * operator replicas' controllers on one cluster: the later one deposes the earlier, whose next
 * decision is refused; a hand edit does not depose anyone; a replica that lost its Lease writes
 * nothing; the failover of a broker leading 1,000 partitions is one write.
 */
import { describe, expect, it } from '@jest/globals';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import {
  ANNOTATION_EPOCH,
  decodeState,
  KubeMetadataStore,
  metadataConfigMapName,
  STATE_KEY,
} from '../../src/operator/metadata/kube-store.ts';
import { KubeClient, loadKubeConfig } from '../../src/operator/runtime/client.ts';
import { openController } from '../unit/controller/harness.ts';
import { must, namespace, read } from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

const plane = useControlPlane();

const configMapPath = (ns: string, cluster: string): string =>
  `/api/v1/namespaces/${ns}/configmaps/${metadataConfigMapName(cluster)}`;

/** A store as one operator replica has it, counting the writes it sends. */
function replica(ns: string, identity: string, leading = { value: true }) {
  const client = new KubeClient(loadKubeConfig({ kubeconfigPath: plane().kubeconfigPath }));
  const writes = { count: 0 };
  const counting: Pick<KubeClient, 'request'> = {
    request: (req) => {
      if (req.method === 'PUT' || req.method === 'POST') writes.count++;
      return client.request(req);
    },
  };
  const store = new KubeMetadataStore({
    client: counting,
    namespace: ns,
    cluster: 'orders',
    labels: { 'tributary.dev/cluster': 'orders' },
    owner: {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'Cluster',
      name: 'orders',
      uid: '00000000-0000-0000-0000-000000000001',
      controller: true,
    },
    identity,
    stillLeading: () => leading.value,
  });
  return { store, writes, leading, close: () => client.close() };
}

describe('KubeMetadataStore', () => {
  it('keeps the whole state in one ConfigMap, gzipped, and a new controller takes over from it', async () => {
    const ns = await namespace(plane(), 'meta');
    const a = replica(ns, 'operator-a');
    const first = await openController({ store: a.store });
    await first.join(0);
    await first.join(1);
    const created = await first.controller.createTopic(
      { name: 'orders', numPartitions: 4, replicationFactor: 2, assignments: [], configs: {} },
      false,
    );
    expect(created.ok).toBe(true);

    const cm = (await read<ConfigMap>(plane(), configMapPath(ns, 'orders')))!;
    expect(cm.metadata?.annotations?.[ANNOTATION_EPOCH]).toBe('1');
    expect(cm.metadata?.ownerReferences?.[0]?.kind).toBe('Cluster');
    const stored = decodeState(cm, 'test');
    expect(stored.topics.map((t) => t.name)).toEqual(['orders']);
    expect(stored.brokers.map((b) => b.nodeId)).toEqual([0, 1]);

    // Another replica takes over: the same cluster and topic, a newer controller epoch.
    const b = replica(ns, 'operator-b');
    const second = await openController({ store: b.store });
    expect(second.controller.image().clusterId).toBe(first.controller.image().clusterId);
    expect(second.controller.image().controllerEpoch).toBe(2);
    expect(second.controller.image().topics.get('orders')?.partitions).toHaveLength(4);

    // The first one's next decision is refused, and it stops acting as controller.
    const late = await first.controller.createTopic(
      { name: 'late', numPartitions: 1, replicationFactor: 1, assignments: [], configs: {} },
      false,
    );
    expect(late).toMatchObject({ ok: false, errorCode: ErrorCode.NOT_CONTROLLER });
    expect(first.controller.deposed).toBe(true);
    const after = decodeState((await read<ConfigMap>(plane(), configMapPath(ns, 'orders')))!, 'test');
    expect(after.controllerEpoch).toBe(2);
    expect(after.topics.map((t) => t.name)).toEqual(['orders']);

    for (const h of [first, second]) await h.controller.close();
    a.close();
    b.close();
  });

  it('is not deposed by a hand edit of the ConfigMap, only by another controller', async () => {
    const ns = await namespace(plane(), 'meta');
    const a = replica(ns, 'operator-a');
    const h = await openController({ store: a.store });
    await h.join(0);
    const cm = (await read<ConfigMap>(plane(), configMapPath(ns, 'orders')))!;
    await must(plane(), 'PUT', configMapPath(ns, 'orders'), {
      ...cm,
      metadata: { ...cm.metadata, labels: { ...cm.metadata?.labels, 'team.example/owner': 'payments' } },
    });

    await h.join(1);
    expect(h.controller.deposed).toBe(false);
    const stored = decodeState((await read<ConfigMap>(plane(), configMapPath(ns, 'orders')))!, 'test');
    expect(stored.brokers.map((b) => b.nodeId)).toEqual([0, 1]);
    await h.controller.close();
    a.close();
  });

  it('writes nothing once its replica knows it lost the Lease', async () => {
    const ns = await namespace(plane(), 'meta');
    const a = replica(ns, 'operator-a');
    const h = await openController({ store: a.store });
    await h.join(0);
    const before = (await read<ConfigMap>(plane(), configMapPath(ns, 'orders')))!.metadata?.resourceVersion;

    a.leading.value = false;
    const r = await h.controller.createTopic(
      { name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: {} },
      false,
    );
    expect(r).toMatchObject({ ok: false, errorCode: ErrorCode.NOT_CONTROLLER });
    expect(h.controller.deposed).toBe(true);
    const after = (await read<ConfigMap>(plane(), configMapPath(ns, 'orders')))!.metadata?.resourceVersion;
    expect(after).toBe(before);
    await h.controller.close();
    a.close();
  });

  it('fails over a broker leading 1,000 partitions in one write', async () => {
    const ns = await namespace(plane(), 'meta');
    const a = replica(ns, 'operator-a');
    const h = await openController({ store: a.store });
    for (const id of [0, 1, 2]) await h.join(id);
    for (let t = 0; t < 10; t++) {
      const r = await h.controller.createTopic(
        { name: `topic-${t}`, numPartitions: 100, replicationFactor: 3, assignments: [], configs: {} },
        false,
      );
      expect(r.ok).toBe(true);
    }
    const led = [...h.controller.image().topics.values()]
      .flatMap((t) => t.partitions)
      .filter((p) => p.leader === 0).length;
    expect(led).toBeGreaterThan(300);

    const before = a.writes.count;
    expect(await h.controller.fenceBroker(0, 'pod deleted')).toBe(true);
    expect(a.writes.count - before).toBe(1);
    const stored = decodeState((await read<ConfigMap>(plane(), configMapPath(ns, 'orders')))!, 'test');
    const partitions = stored.topics.flatMap((t) => t.partitions);
    expect(partitions).toHaveLength(1000);
    expect(partitions.filter((p) => p.leader === 0)).toHaveLength(0);
    expect(partitions.every((p) => p.leader === 1 || p.leader === 2)).toBe(true);
    const size = Buffer.from(
      (await read<ConfigMap>(plane(), configMapPath(ns, 'orders')))!.binaryData![STATE_KEY],
      'base64',
    ).length;
    expect(size).toBeLessThan(100_000);
    await h.controller.close();
    a.close();
  });

  it('refuses to load a ConfigMap that is not Tributary metadata, naming it', async () => {
    const ns = await namespace(plane(), 'meta');
    await must(plane(), 'POST', `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: metadataConfigMapName('orders') },
      binaryData: { [STATE_KEY]: Buffer.from('not gzip').toString('base64') },
    });
    const a = replica(ns, 'operator-a');
    await expect(a.store.load()).rejects.toThrow(`ConfigMap ${ns}/orders-metadata: ${STATE_KEY} is not gzip`);
    a.close();
  });
});
