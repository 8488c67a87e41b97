/** The StatusProjector (src/operator/metadata/projector.ts): when and what it writes, on a fake clock and API. */
import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../../src/common/clock.ts';
import { silentLogger } from '../../../../src/common/logger.ts';
import {
  indexTopics,
  type BrokerRegistration,
  type MetadataImage,
  type TopicState,
} from '../../../../src/controller/image.ts';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { Cluster, Topic } from '../../../../src/operator/api/index.ts';
import { KubeApiError } from '../../../../src/operator/runtime/api-errors.ts';
import type { KubeRequest } from '../../../../src/operator/runtime/client.ts';
import type { EventSpec } from '../../../../src/operator/runtime/events.ts';
import { METADATA_FIELD_MANAGER, StatusProjector } from '../../../../src/operator/metadata/projector.ts';

const KEY = 'shop/orders';

const broker = (nodeId: number, fenced = false): BrokerRegistration => ({
  nodeId,
  host: `b${nodeId}`,
  port: 9092,
  rack: null,
  incarnationId: `inc-${nodeId}`,
  brokerEpoch: 1,
  fenced,
  shuttingDown: false,
});

function image(version: number, leader: number, fenced: number[] = []): MetadataImage {
  const topic: TopicState = {
    name: 'orders',
    topicId: 'id-orders',
    internal: false,
    partitions: [
      {
        partition: 0,
        leader,
        leaderEpoch: version,
        partitionEpoch: version,
        replicas: [0, 1],
        isr: fenced.length ? [leader] : [0, 1],
      },
    ],
    configs: {},
  };
  return {
    version,
    controllerEpoch: 1,
    clusterId: 'cid',
    controllerId: 0,
    brokers: [],
    registrations: [broker(0, fenced.includes(0)), broker(1, fenced.includes(1))],
    ...indexTopics([topic]),
  };
}

/** As the cache holds them: with uid and resourceVersion. */
type Stored<T> = T & { metadata: ObjectMeta };

const clusterObject: Stored<Cluster> = {
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'orders', namespace: 'shop', uid: 'u-cluster', resourceVersion: '1', generation: 1 },
  spec: { replicas: 2, storage: { size: '1Gi' } },
};

const topicObject = (name: string, cluster = 'orders'): Stored<Topic> => ({
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'Topic',
  metadata: { name, namespace: 'shop', uid: `u-${name}`, resourceVersion: '1', generation: 1 },
  spec: { clusterRef: { name: cluster }, partitions: 1, replicationFactor: 2 },
});

function lookup<T extends { metadata: { name: string; namespace?: string } }>(objects: T[]) {
  return {
    get: (key: string) => objects.find((o) => `${o.metadata.namespace}/${o.metadata.name}` === key),
    list: (ns?: string) => objects.filter((o) => ns === undefined || o.metadata.namespace === ns),
  };
}

function setup(o: { fail?: () => unknown; leading?: { value: boolean } } = {}) {
  const clock = new FakeClock(1_000_000);
  const requests: KubeRequest[] = [];
  const events: EventSpec[] = [];
  let rv = 100;
  const projector = new StatusProjector({
    client: {
      request: <T>(req: KubeRequest): Promise<T> => {
        requests.push(req);
        const err = o.fail?.();
        if (err) return Promise.reject(err as Error);
        return Promise.resolve({ metadata: { resourceVersion: String(++rv) } } as T);
      },
    },
    caches: {
      clusters: lookup([clusterObject]),
      topics: lookup([topicObject('orders'), topicObject('not-in-image'), topicObject('orders2', 'other')]),
    },
    events: {
      record: (_regarding, spec) => {
        events.push(spec);
        return Promise.resolve();
      },
    },
    clock,
    log: silentLogger,
    stillLeading: o.leading ? () => o.leading!.value : undefined,
  });
  const paths = () => requests.map((r) => r.path);
  return { clock, requests, events, projector, paths };
}

describe('StatusProjector', () => {
  it('writes the Cluster and its Topics that the image has, by server-side apply under its own manager', async () => {
    const { clock, requests, paths, projector } = setup();
    projector.project(KEY, image(1, 0));
    expect(requests).toHaveLength(0); // never within project()
    await clock.advanceAsync(0);
    expect(paths()).toEqual([
      '/apis/tributary.dev/v1alpha1/namespaces/shop/clusters/orders/status',
      '/apis/tributary.dev/v1alpha1/namespaces/shop/topics/orders/status',
    ]);
    expect(requests[0]).toMatchObject({
      method: 'PATCH',
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: METADATA_FIELD_MANAGER, force: true },
      body: { apiVersion: 'tributary.dev/v1alpha1', kind: 'Cluster', status: { metadataVersion: 1 } },
    });
    await projector.close();
  });

  it('coalesces a burst of images into one more round, of the latest image', async () => {
    const { clock, requests, projector } = setup();
    projector.project(KEY, image(1, 0));
    await clock.advanceAsync(0);
    requests.length = 0;
    for (let v = 2; v <= 6; v++) {
      projector.project(KEY, image(v, v % 2));
      await clock.advanceAsync(30);
    }
    expect(requests).toHaveLength(0);
    await clock.advanceAsync(100);
    expect(requests).toHaveLength(2);
    expect(requests[0]?.body).toMatchObject({ status: { metadataVersion: 6 } });
    expect(requests[1]?.body).toMatchObject({ status: { partitions: [{ leader: 0, leaderEpoch: 6 }] } });
    await clock.advanceAsync(1000);
    expect(requests).toHaveLength(2);
    await projector.close();
  });

  it('does not write again what it wrote while the cache has not caught up, nor an older image', async () => {
    const { clock, requests, projector } = setup();
    projector.project(KEY, image(2, 0));
    await clock.advanceAsync(0);
    projector.refresh(KEY);
    projector.project(KEY, image(1, 1));
    await clock.advanceAsync(500);
    expect(requests).toHaveLength(2);
    await projector.close();
  });

  it('writes nothing, and records no Event, once the replica is no longer leading', async () => {
    const leading = { value: false };
    const { clock, requests, events, projector } = setup({ leading });
    projector.project(KEY, image(1, 0));
    projector.project(KEY, image(2, 1, [0]));
    await clock.advanceAsync(1000);
    expect(requests).toHaveLength(0);
    expect(events).toHaveLength(0);
    leading.value = true;
    projector.refresh(KEY);
    await clock.advanceAsync(0);
    expect(requests).toHaveLength(2);
    await projector.close();
  });

  it('records the failover and the return of a broker on the Cluster, with the reason it was told', async () => {
    const { clock, events, projector } = setup();
    projector.project(KEY, image(1, 0));
    projector.noteFenceReason(KEY, 0, 'pod orders-broker-0 deleted');
    projector.project(KEY, image(2, 1, [0]));
    projector.project(KEY, image(3, 1));
    await clock.advanceAsync(0);
    expect(events).toEqual([
      {
        type: 'Warning',
        reason: 'BrokerFenced',
        action: 'MoveLeadership',
        note: 'Moved leadership of 1 partition from broker 0 (pod orders-broker-0 deleted)',
      },
      { type: 'Normal', reason: 'BrokerBack', action: 'Register', note: 'Broker 0 is back' },
    ]);
    // The reason was for that fencing only.
    projector.project(KEY, image(4, 0, [1]));
    expect(events[2]?.note).toBe('Moved leadership of 1 partition from broker 1');
    await projector.close();
  });

  it('logs a failed write and retries it with backoff, never throwing', async () => {
    let failing = true;
    const { clock, requests, projector } = setup({
      fail: () =>
        failing
          ? new KubeApiError({ status: 500, method: 'PATCH', path: '/status', text: 'etcd is away' })
          : undefined,
    });
    projector.project(KEY, image(1, 0));
    await clock.advanceAsync(0);
    expect(requests).toHaveLength(2);
    await clock.advanceAsync(999);
    expect(requests).toHaveLength(2);
    await clock.advanceAsync(1);
    expect(requests).toHaveLength(4);
    failing = false;
    await clock.advanceAsync(2000);
    expect(requests).toHaveLength(6);
    await clock.advanceAsync(60_000);
    expect(requests).toHaveLength(6);
    await projector.close();
  });

  it('stops on close: nothing is written after it', async () => {
    const { clock, requests, projector } = setup();
    projector.project(KEY, image(1, 0));
    await projector.close();
    projector.project(KEY, image(2, 1));
    await clock.advanceAsync(1000);
    expect(requests).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });
});
