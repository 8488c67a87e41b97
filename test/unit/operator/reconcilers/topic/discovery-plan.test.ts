/** Which Topic resources discovery creates, updates, deletes or hands over (src/operator/reconcilers/topic/discovery-plan.ts). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { TopicState } from '../../../../../src/controller/image.ts';
import type { ClusterSpec, TopicSpec } from '../../../../../src/operator/api/index.ts';
import {
  discoveredSpec,
  planDiscovery,
  type DiscoveryStep,
} from '../../../../../src/operator/reconcilers/topic/discovery-plan.ts';
import {
  isDiscovered,
  specDigest,
  untouchedSinceDiscovery,
  type TopicObject,
} from '../../../../../src/operator/reconcilers/topic/names.ts';
import { storedCluster, UID } from '../cluster/fixtures.ts';
import { CLUSTER, discoveredResource, image, NAMESPACE, topicResource, topicState } from './fixtures.ts';

function plan(
  topics: TopicState[],
  resources: TopicObject[] = [],
  discovery?: ClusterSpec['discovery'],
): DiscoveryStep[] {
  return planDiscovery({
    cluster: storedCluster(discovery ? { discovery } : {}, CLUSTER, NAMESPACE),
    image: image(...topics),
    resources,
  });
}

/** `kind resource-name` of each step, in order. */
const summary = (steps: DiscoveryStep[]) =>
  steps.map((s) => `${s.kind} ${s.kind === 'create' ? s.topic.metadata.name : s.resource.metadata.name}`);

const created = (steps: DiscoveryStep[]) => steps.flatMap((s) => (s.kind === 'create' ? [s.topic] : []));

const hash8 = (topic: string) => createHash('sha256').update(topic).digest('hex').slice(0, 8);

const offsets = topicState('__consumer_offsets', { internal: true, partitions: 50 });

describe('topic discovery > new topics', () => {
  it('creates a resource for each topic without one, in name order', () => {
    expect(summary(plan([topicState('payments'), topicState('orders')]))).toEqual([
      'create orders',
      'create payments',
    ]);
  });

  it('makes a labelled resource owned by the Cluster, its spec the topic with deletionPolicy Retain', () => {
    const state = topicState('orders', {
      partitions: 6,
      replicationFactor: 2,
      configs: { 'retention.ms': '1000' },
    });
    const [topic] = created(plan([state]));
    const spec: TopicSpec = {
      clusterRef: { name: CLUSTER },
      partitions: 6,
      replicationFactor: 2,
      config: { 'retention.ms': '1000' },
      deletionPolicy: 'Retain',
    };
    expect(topic).toEqual({
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'Topic',
      metadata: {
        name: 'orders',
        namespace: NAMESPACE,
        labels: { 'tributary.dev/cluster': CLUSTER, 'tributary.dev/discovered': 'true' },
        annotations: { 'tributary.dev/discovered-spec': specDigest(spec) },
        ownerReferences: [
          {
            apiVersion: 'tributary.dev/v1alpha1',
            kind: 'Cluster',
            name: CLUSTER,
            uid: UID,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec,
    });
    expect(isDiscovered(topic!)).toBe(true);
    expect(untouchedSinceDiscovery(topic!)).toBe(true);
  });

  it('gives a topic whose name is not a resource name a hashed name and spec.topicName', () => {
    const [topic] = created(plan([topicState('Client_Orders')]));
    expect(topic!.metadata.name).toBe(`client-orders-${hash8('Client_Orders')}`);
    expect(topic!.spec.topicName).toBe('Client_Orders');
  });

  it('plans nothing more once the resources it created exist', () => {
    const topics = [topicState('orders'), topicState('Client_Orders')];
    const first = created(plan(topics));
    expect(first).toHaveLength(2);
    expect(plan(topics, first)).toEqual([]);
  });

  it('creates nothing for a topic a managed resource names, even through spec.topicName', () => {
    const managed = topicResource('orders-topic', { spec: { topicName: 'Orders' } });
    expect(plan([topicState('Orders')], [managed])).toEqual([]);
  });

  it('creates nothing for a topic a resource being deleted still names', () => {
    expect(plan([topicState('orders')], [topicResource('orders', { deleting: true })])).toEqual([]);
    const discovered = discoveredResource(topicState('orders'), 'orders', { deleting: true });
    expect(plan([topicState('orders')], [discovered])).toEqual([]);
  });

  it('leaves out internal topics unless the Cluster shows them', () => {
    expect(plan([offsets])).toEqual([]);
    const [topic] = created(plan([offsets], [], { internalTopics: true }));
    expect(topic!.metadata.name).toBe(`consumer-offsets-${hash8('__consumer_offsets')}`);
    expect(topic!.spec).toMatchObject({ topicName: '__consumer_offsets', partitions: 50 });
  });

  it('creates nothing when the Cluster does not show topics', () => {
    expect(plan([topicState('orders'), offsets], [], { topics: false, internalTopics: true })).toEqual([]);
  });

  it('gives each of two topics a distinct name when the first took the other’s name', () => {
    // "orders-<hash of Orders>" is free for "Orders", then taken for a topic of that very name.
    const hashed = `orders-${hash8('Orders')}`;
    const steps = plan([topicState('Orders'), topicState(hashed)]);
    const names = created(steps).map((t) => t.metadata.name);
    expect(names[0]).toBe(hashed);
    expect(names[1]).not.toBe(hashed);
    expect(created(steps)[1]!.spec.topicName).toBe(hashed);
  });
});

describe('topic discovery > discovered resources follow their topic', () => {
  it('updates a resource whose topic gained partitions or changed configs', () => {
    const before = topicState('orders');
    const after = topicState('orders', { partitions: 6, configs: { 'cleanup.policy': 'compact' } });
    const r = discoveredResource(before);
    expect(plan([after], [r])).toEqual([
      { kind: 'update', resource: r, spec: discoveredSpec(after, 'orders', CLUSTER) },
    ]);
  });

  it('keeps spec.topicName in the update of a resource with a hashed name', () => {
    const name = `client-orders-${hash8('Client_Orders')}`;
    const r = discoveredResource(topicState('Client_Orders'), name);
    const [step] = plan([topicState('Client_Orders', { partitions: 4 })], [r]);
    expect(step).toMatchObject({ kind: 'update', spec: { topicName: 'Client_Orders', partitions: 4 } });
  });

  it('deletes a resource whose topic is gone', () => {
    const r = discoveredResource(topicState('orders'));
    expect(plan([], [r])).toEqual([
      { kind: 'delete', resource: r, why: 'topic orders is no longer in the cluster' },
    ]);
  });

  it('deletes discovered resources, and only those, when the Cluster stops showing topics', () => {
    const discovered = discoveredResource(topicState('orders'));
    const managed = topicResource('payments');
    const steps = plan([topicState('orders'), topicState('payments')], [discovered, managed], {
      topics: false,
    });
    expect(steps).toEqual([
      { kind: 'delete', resource: discovered, why: `Cluster ${CLUSTER} does not show discovered topics` },
    ]);
  });

  it('deletes the resource of an internal topic when the Cluster stops showing internal topics', () => {
    const r = discoveredResource(offsets, `consumer-offsets-${hash8('__consumer_offsets')}`);
    expect(plan([offsets], [r])).toEqual([
      { kind: 'delete', resource: r, why: `Cluster ${CLUSTER} does not show internal topics` },
    ]);
    expect(plan([offsets], [r], { internalTopics: true })).toEqual([]);
  });

  it('deletes a discovered duplicate when a managed resource names the same topic', () => {
    const discovered = discoveredResource(topicState('orders'), 'orders', {
      created: '2024-01-01T00:00:00Z',
    });
    const managed = topicResource('orders-topic', {
      spec: { topicName: 'orders' },
      created: '2024-06-01T00:00:00Z',
    });
    expect(plan([topicState('orders')], [discovered, managed])).toEqual([
      { kind: 'delete', resource: discovered, why: 'another Topic resource manages topic orders' },
    ]);
  });

  it('deletes the younger of two discovered resources for one topic', () => {
    const state = topicState('orders');
    const older = discoveredResource(state, 'orders', { created: '2024-01-01T00:00:00Z' });
    const younger = discoveredResource(state, 'orders-copy', { created: '2024-02-01T00:00:00Z' });
    expect(summary(plan([state], [younger, older]))).toEqual(['delete orders-copy']);
  });

  it('leaves alone a discovered resource being deleted', () => {
    const r = discoveredResource(topicState('orders'), 'orders', { deleting: true });
    expect(plan([], [r])).toEqual([]);
  });
});

describe('topic discovery > adoption', () => {
  it('adopts a discovered resource whose spec someone edited', () => {
    const r = discoveredResource(topicState('orders'));
    r.spec = { ...r.spec, partitions: 12 };
    expect(plan([topicState('orders')], [r])).toEqual([{ kind: 'adopt', resource: r }]);
  });

  it('adopts an edited resource even when its topic is gone', () => {
    const r = discoveredResource(topicState('orders'));
    r.spec = { ...r.spec, deletionPolicy: 'Delete' };
    expect(plan([], [r])).toEqual([{ kind: 'adopt', resource: r }]);
  });

  it('never adopts the resource of an internal topic: it is set back to the topic', () => {
    const name = `consumer-offsets-${hash8('__consumer_offsets')}`;
    const r = discoveredResource(offsets, name);
    r.spec = { ...r.spec, config: { 'retention.ms': '1000' } };
    expect(plan([offsets], [r], { internalTopics: true })).toEqual([
      { kind: 'update', resource: r, spec: discoveredSpec(offsets, name, CLUSTER) },
    ]);
  });

  it('does not adopt a managed resource (it has no discovered label)', () => {
    const managed = topicResource('orders', { spec: { partitions: 12 } });
    expect(plan([topicState('orders')], [managed])).toEqual([]);
  });
});

describe('topic discovery > other Clusters', () => {
  it('ignores resources of other Clusters, even discovered ones whose topic is gone', () => {
    const theirs = discoveredResource(topicState('ledger'), 'ledger', { cluster: 'other' });
    expect(plan([], [theirs])).toEqual([]);
  });

  it('creates a resource for a topic another Cluster’s resource names, under a name that is free', () => {
    const theirs = topicResource('orders', { cluster: 'other' });
    const [topic] = created(plan([topicState('orders')], [theirs]));
    expect(topic!.metadata.name).toBe(`orders-${hash8('orders')}`);
    expect(topic!.spec).toMatchObject({ clusterRef: { name: CLUSTER }, topicName: 'orders' });
  });
});

describe('topic discovery > discoveredSpec', () => {
  it('is the topic as a spec, without topicName when the resource has the topic’s name', () => {
    const state = topicState('orders', {
      partitions: 4,
      replicationFactor: 2,
      configs: { 'retention.ms': '1000' },
    });
    expect(discoveredSpec(state, 'orders', CLUSTER)).toEqual({
      clusterRef: { name: CLUSTER },
      partitions: 4,
      replicationFactor: 2,
      config: { 'retention.ms': '1000' },
      deletionPolicy: 'Retain',
    });
  });

  it('carries topicName when the resource name differs', () => {
    expect(discoveredSpec(topicState('Orders'), 'orders-0a1b2c3d', CLUSTER).topicName).toBe('Orders');
  });

  it('copies the configs rather than sharing them with the image', () => {
    const state = topicState('orders', { configs: { 'retention.ms': '1000' } });
    expect(discoveredSpec(state, 'orders', CLUSTER).config).not.toBe(state.configs);
  });

  it('has a replication factor of 1 for a topic with no partitions', () => {
    expect(discoveredSpec(topicState('orders', { partitions: 0 }), 'orders', CLUSTER).replicationFactor).toBe(
      1,
    );
  });
});
