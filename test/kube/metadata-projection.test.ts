/**
 * Cluster.status and Topic.status as projections of the metadata controller's images
 * (src/operator/metadata/projector.ts) on a real kube-apiserver: a controller's images become the
 * statuses the CRDs accept, under the field manager `tributary-metadata` beside the reconciler's
 * `tributary-operator`; a broker's failover becomes one Event on the Cluster, its return another.
 */
import { describe, expect, it } from '@jest/globals';
import type { Event } from 'kubernetes-types/events/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { systemClock } from '../../src/common/clock.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { API_VERSION, type Cluster, type Topic } from '../../src/operator/api/index.ts';
import { METADATA_FIELD_MANAGER, StatusProjector } from '../../src/operator/metadata/projector.ts';
import { APPLY_PATCH, FIELD_MANAGER } from '../../src/operator/runtime/apply.ts';
import { KubeClient, loadKubeConfig } from '../../src/operator/runtime/client.ts';
import { EventRecorder } from '../../src/operator/runtime/events.ts';
import { openController } from '../unit/controller/harness.ts';
import {
  clusterObject,
  clustersPath,
  eventually,
  installCrds,
  must,
  namespace,
  read,
} from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

const plane = useControlPlane({}, { setup: (cp) => installCrds(cp) });

type Stored<T> = T & { metadata: ObjectMeta };
const topicsPath = (ns: string, name = ''): string =>
  `/apis/${API_VERSION}/namespaces/${ns}/topics${name ? `/${name}` : ''}`;

function topicObject(ns: string, name: string, topicName?: string): Topic {
  return {
    apiVersion: API_VERSION,
    kind: 'Topic',
    metadata: { name, namespace: ns },
    spec: {
      clusterRef: { name: 'orders' },
      partitions: 6,
      replicationFactor: 2,
      ...(topicName ? { topicName } : {}),
    },
  };
}

/**
 * Caches as the operator's informers would hold them, filled from the API server on demand
 * (`sync()`), so the test decides when the projector sees a newer object.
 */
function apiCaches(ns: string) {
  const clusters = new Map<string, Stored<Cluster>>();
  const topics = new Map<string, Stored<Topic>>();
  const lookup = <T extends { metadata: ObjectMeta }>(m: Map<string, T>) => ({
    get: (key: string) => m.get(key),
    list: (namespace?: string) =>
      [...m.values()].filter((o) => !namespace || o.metadata.namespace === namespace),
  });
  return {
    caches: { clusters: lookup(clusters), topics: lookup(topics) },
    async sync(): Promise<void> {
      const c = (await read<{ items: Stored<Cluster>[] }>(plane(), clustersPath(ns)))!.items;
      const t = (await read<{ items: Stored<Topic>[] }>(plane(), topicsPath(ns)))!.items;
      clusters.clear();
      topics.clear();
      for (const o of c)
        clusters.set(`${ns}/${o.metadata.name}`, { ...o, apiVersion: API_VERSION, kind: 'Cluster' });
      for (const o of t)
        topics.set(`${ns}/${o.metadata.name}`, { ...o, apiVersion: API_VERSION, kind: 'Topic' });
    },
  };
}

const condition = <C extends { type: string }>(conditions: C[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type);

describe('metadata projection on the API server', () => {
  it('projects the images into Cluster.status and Topic.status, and a failover into Events', async () => {
    const ns = await namespace(plane(), 'projection');
    const key = `${ns}/orders`;
    await must(plane(), 'POST', clustersPath(ns), clusterObject(ns, 'orders', { replicas: 2 }));
    await must(plane(), 'POST', topicsPath(ns), topicObject(ns, 'orders-topic', 'orders'));
    await must(plane(), 'POST', topicsPath(ns), topicObject(ns, 'not-created-yet'));
    const client = new KubeClient(loadKubeConfig({ kubeconfigPath: plane().kubeconfigPath }));
    // The Cluster reconciler's part of the status, under its own field manager.
    await client.request({
      method: 'PATCH',
      path: `${clustersPath(ns, 'orders')}/status`,
      query: { fieldManager: FIELD_MANAGER, force: true },
      contentType: APPLY_PATCH,
      body: {
        apiVersion: API_VERSION,
        kind: 'Cluster',
        metadata: { name: 'orders', namespace: ns },
        status: {
          readyReplicas: 2,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'AllBrokersReady',
              message: '2 of 2 brokers ready',
              lastTransitionTime: '2026-03-01T12:00:00Z',
            },
          ],
        },
      },
    });

    const { caches, sync } = apiCaches(ns);
    await sync();
    const projector = new StatusProjector({
      client,
      caches,
      events: new EventRecorder({ client, reportingInstance: 'operator-test' }),
      clock: systemClock,
      log: silentLogger,
      intervalMs: 50,
    });

    const h = await openController();
    h.controller.onImage((image) => projector.project(key, image));
    await h.join(0);
    await h.join(1);
    const created = await h.controller.createTopic(
      { name: 'orders', numPartitions: 6, replicationFactor: 2, assignments: [], configs: {} },
      false,
    );
    expect(created.ok).toBe(true);
    const image = h.controller.image();

    const readCluster = () => read<Stored<Cluster>>(plane(), clustersPath(ns, 'orders'));
    const cluster = await eventually('Cluster.status to show the latest image', async () => {
      const c = await readCluster();
      return c?.status?.metadataVersion === image.version && c;
    });
    expect(cluster.status).toMatchObject({
      clusterId: image.clusterId,
      readyReplicas: 2,
      brokers: [
        { id: 0, address: 'localhost:9092', incarnation: 'inc-0', state: 'Active' },
        { id: 1, address: 'localhost:9093', incarnation: 'inc-1', state: 'Active' },
      ],
    });
    expect(condition(cluster.status?.conditions, 'Ready')).toMatchObject({ status: 'True' });
    expect(condition(cluster.status?.conditions, 'BrokersRegistered')).toMatchObject({
      status: 'True',
      message: '2 of 2 brokers registered',
      observedGeneration: 1,
    });
    expect(condition(cluster.status?.conditions, 'PartitionsUnderReplicated')).toMatchObject({
      status: 'False',
    });
    expect(condition(cluster.status?.conditions, 'PartitionsOffline')).toMatchObject({ status: 'False' });
    const managers = (cluster.metadata.managedFields ?? [])
      .filter((f) => f.subresource === 'status')
      .map((f) => f.manager)
      .sort();
    expect(managers).toEqual([METADATA_FIELD_MANAGER, FIELD_MANAGER].sort());

    const topic = await eventually('Topic.status', async () => {
      const t = await read<Stored<Topic>>(plane(), topicsPath(ns, 'orders-topic'));
      return t?.status?.partitions?.length === 6 && t;
    });
    const state = image.topics.get('orders')!;
    expect(topic.status).toMatchObject({ topicName: 'orders', topicId: state.topicId });
    expect(topic.status?.partitions).toEqual(state.partitions);
    expect(condition(topic.status?.conditions, 'PartitionsUnderReplicated')).toMatchObject({
      status: 'False',
    });
    expect((await read<Topic>(plane(), topicsPath(ns, 'not-created-yet')))?.status).toBeUndefined();

    // Broker 1's pod is deleted: one Event for the leaderships that moved, the statuses follow.
    const led = state.partitions.filter((p) => p.leader === 1).length;
    expect(led).toBeGreaterThan(0);
    await sync();
    projector.noteFenceReason(key, 1, `pod orders-broker-1 deleted`);
    expect(await h.controller.fenceBroker(1, 'pod orders-broker-1 deleted')).toBe(true);
    const events = async () =>
      (await read<{ items: Event[] }>(
        plane(),
        `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      ))!.items.filter((e) => e.regarding?.kind === 'Cluster' && e.regarding.name === 'orders');
    const fenced = await eventually('the failover Event', async () =>
      (await events()).find((e) => e.reason === 'BrokerFenced'),
    );
    expect(fenced).toMatchObject({
      type: 'Warning',
      action: 'MoveLeadership',
      note: `Moved leadership of ${led} partition${led === 1 ? '' : 's'} from broker 1 (pod orders-broker-1 deleted)`,
      regarding: { uid: cluster.metadata.uid },
    });
    const degraded = await eventually('Cluster.status to show the fenced broker', async () => {
      const c = await readCluster();
      return c?.status?.metadataVersion === h.controller.image().version && c;
    });
    expect(degraded.status?.brokers?.[1]).toMatchObject({ id: 1, state: 'Fenced' });
    expect(condition(degraded.status?.conditions, 'BrokersRegistered')).toMatchObject({
      status: 'False',
      reason: 'BrokersFenced',
      message: '1 of 2 brokers registered; broker 1 fenced',
    });
    expect(condition(degraded.status?.conditions, 'PartitionsUnderReplicated')).toMatchObject({
      status: 'True',
      message: '6 of 6 partitions under-replicated (orders: 6)',
    });
    // The reconciler's fields are untouched.
    expect(condition(degraded.status?.conditions, 'Ready')).toMatchObject({ status: 'True' });
    expect(degraded.status?.readyReplicas).toBe(2);
    const moved = await eventually('Topic.status to show the new leaders', async () => {
      const t = await read<Stored<Topic>>(plane(), topicsPath(ns, 'orders-topic'));
      return t?.status?.partitions?.every((p) => p.leader === 0) && t;
    });
    expect(condition(moved.status?.conditions, 'PartitionsUnderReplicated')).toMatchObject({
      status: 'True',
      message: '6 of 6 partitions under-replicated (partitions 0, 1, 2, 3, 4, … 1 more)',
    });

    // It comes back.
    await sync();
    await h.beat(1);
    await eventually('the Event of its return', async () =>
      (await events()).find((e) => e.reason === 'BrokerBack' && e.note === 'Broker 1 is back'),
    );
    await eventually('BrokersRegistered to be True again', async () => {
      const c = await readCluster();
      return condition(c?.status?.conditions, 'BrokersRegistered')?.status === 'True';
    });

    await h.controller.close();
    await projector.close();
    client.close();
  });
});
