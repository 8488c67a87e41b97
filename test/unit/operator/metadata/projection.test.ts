/** Cluster.status, Topic.status and failover Events as projections of metadata images (src/operator/metadata/projection.ts). */
import { describe, expect, it } from '@jest/globals';
import {
  indexTopics,
  type BrokerRegistration,
  type MetadataImage,
  type PartitionState,
  type TopicState,
} from '../../../../src/controller/image.ts';
import type { Cluster, Topic } from '../../../../src/operator/api/index.ts';
import {
  brokerEvents,
  BrokersRegistered,
  PartitionsOffline,
  PartitionsUnderReplicated,
  projectCluster,
  projectTopic,
} from '../../../../src/operator/metadata/projection.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function broker(nodeId: number, o: Partial<BrokerRegistration> = {}): BrokerRegistration {
  return {
    nodeId,
    host: `orders-broker-${nodeId}.orders-brokers.shop.svc`,
    port: 9092,
    rack: `zone-${nodeId}`,
    incarnationId: `inc-${nodeId}`,
    brokerEpoch: 10 + nodeId,
    fenced: false,
    shuttingDown: false,
    ...o,
  };
}

function partition(p: number, leader: number, replicas: number[], isr = replicas): PartitionState {
  return { partition: p, leader, leaderEpoch: 1, partitionEpoch: 1, replicas, isr };
}

function topic(name: string, partitions: PartitionState[]): TopicState {
  return { name, topicId: `id-${name}`, internal: false, partitions, configs: {} };
}

function image(version: number, registrations: BrokerRegistration[], topics: TopicState[]): MetadataImage {
  return {
    version,
    controllerEpoch: 1,
    clusterId: 'cluster-id',
    controllerId: 0,
    brokers: [],
    registrations,
    ...indexTopics(topics),
  };
}

const cluster = (status?: Cluster['status']): Cluster => ({
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'orders', namespace: 'shop', generation: 4 },
  spec: { replicas: 3, storage: { size: '1Gi' } },
  status,
});

const topicResource = (name: string, o: { topicName?: string; status?: Topic['status'] } = {}): Topic => ({
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'Topic',
  metadata: { name, namespace: 'shop', generation: 2 },
  spec: {
    clusterRef: { name: 'orders' },
    partitions: 3,
    replicationFactor: 3,
    ...(o.topicName ? { topicName: o.topicName } : {}),
  },
  status: o.status,
});

const healthy = image(
  7,
  [broker(0), broker(1), broker(2)],
  [
    topic('orders', [partition(0, 0, [0, 1, 2]), partition(1, 1, [1, 2, 0]), partition(2, 2, [2, 0, 1])]),
    topic('payments', [partition(0, 2, [2, 0, 1])]),
  ],
);

/** Broker 2 fenced: its leaderships moved, it left every ISR. */
const broker2Fenced = image(
  8,
  [broker(0), broker(1), broker(2, { fenced: true })],
  [
    topic('orders', [
      partition(0, 0, [0, 1, 2], [0, 1]),
      partition(1, 1, [1, 2, 0], [1, 0]),
      partition(2, 0, [2, 0, 1], [0, 1]),
    ]),
    topic('payments', [partition(0, 0, [2, 0, 1], [0, 1])]),
  ],
);

const condition = (conditions: { type: string }[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type);

describe('metadata projection > Cluster.status', () => {
  it('holds the cluster id, the image version and every registration', () => {
    const { status, changed } = projectCluster(cluster(), broker2Fenced, { nowMs: NOW });
    expect(changed).toBe(true);
    expect(status.clusterId).toBe('cluster-id');
    expect(status.metadataVersion).toBe(8);
    expect(status.brokers).toEqual([
      {
        id: 0,
        address: 'orders-broker-0.orders-brokers.shop.svc:9092',
        rack: 'zone-0',
        incarnation: 'inc-0',
        epoch: 10,
        state: 'Active',
      },
      expect.objectContaining({ id: 1, state: 'Active' }),
      expect.objectContaining({ id: 2, state: 'Fenced' }),
    ]);
  });

  it('says all brokers are registered, and no partition is under-replicated or offline, when so', () => {
    const { status } = projectCluster(cluster(), healthy, { nowMs: NOW });
    expect(status.conditions).toEqual([
      {
        type: BrokersRegistered,
        status: 'True',
        reason: 'AllBrokersRegistered',
        message: '3 of 3 brokers registered',
        observedGeneration: 4,
        lastTransitionTime: '2026-03-01T12:00:00Z',
      },
      expect.objectContaining({
        type: PartitionsUnderReplicated,
        status: 'False',
        reason: 'AllPartitionsInSync',
      }),
      expect.objectContaining({ type: PartitionsOffline, status: 'False', reason: 'AllPartitionsLed' }),
    ]);
  });

  it('counts fenced and missing brokers, and under-replicated partitions by topic', () => {
    const { status } = projectCluster(cluster(), broker2Fenced, { nowMs: NOW });
    expect(condition(status.conditions, BrokersRegistered)).toMatchObject({
      status: 'False',
      reason: 'BrokersFenced',
      message: '2 of 3 brokers registered; broker 2 fenced',
    });
    expect(condition(status.conditions, PartitionsUnderReplicated)).toMatchObject({
      status: 'True',
      reason: 'UnderReplicated',
      message: '4 of 4 partitions under-replicated (orders: 3, payments: 1)',
    });
    expect(condition(status.conditions, PartitionsOffline)).toMatchObject({ status: 'False' });

    const scaledUp = { ...cluster(), spec: { replicas: 5, storage: { size: '1Gi' } } };
    expect(
      condition(projectCluster(scaledUp, broker2Fenced, { nowMs: NOW }).status.conditions, BrokersRegistered),
    ).toMatchObject({
      reason: 'BrokersFenced',
      message: '2 of 5 brokers registered; broker 2 fenced; brokers 3, 4 not registered',
    });
  });

  it('counts partitions without a leader', () => {
    const offline = image(
      9,
      [broker(0, { fenced: true }), broker(1), broker(2)],
      [topic('orders', [partition(0, -1, [0], [0]), partition(1, 1, [1])])],
    );
    const { status } = projectCluster(cluster(), offline, { nowMs: NOW });
    expect(condition(status.conditions, PartitionsOffline)).toMatchObject({
      status: 'True',
      reason: 'NoLeader',
      message: '1 of 2 partitions without a leader (orders: 1)',
    });
  });

  it('is unchanged against a status that holds it, and keeps lastTransitionTime across messages', () => {
    const first = projectCluster(cluster(), broker2Fenced, { nowMs: NOW });
    const same = projectCluster(cluster(first.status), broker2Fenced, { nowMs: NOW + 60_000 });
    expect(same.changed).toBe(false);

    // Another partition falls behind: a new message, the same status, the same transition time.
    const later = image(10, broker2Fenced.registrations, [
      ...broker2Fenced.topics.values(),
      topic('refunds', [partition(0, 0, [0, 2], [0])]),
    ]);
    const next = projectCluster(cluster(first.status), later, { nowMs: NOW + 60_000 });
    expect(next.changed).toBe(true);
    expect(condition(next.status.conditions, PartitionsUnderReplicated)).toMatchObject({
      message: '5 of 5 partitions under-replicated (orders: 3, payments: 1, refunds: 1)',
      lastTransitionTime: '2026-03-01T12:00:00Z',
    });
  });

  it('leaves the conditions of other field managers out of what it writes', () => {
    const reconcilers = {
      conditions: [
        {
          type: 'Ready',
          status: 'True' as const,
          reason: 'AllBrokersReady',
          message: '',
          lastTransitionTime: '2026-03-01T11:00:00Z',
        },
      ],
    };
    const { status } = projectCluster(cluster(reconcilers), healthy, { nowMs: NOW });
    expect(status.conditions.map((c) => c.type)).toEqual([
      BrokersRegistered,
      PartitionsUnderReplicated,
      PartitionsOffline,
    ]);
  });
});

describe('metadata projection > Topic.status', () => {
  it("holds the topic's id and partitions, found by spec.topicName or the resource's name", () => {
    const p = projectTopic(topicResource('payments-topic', { topicName: 'payments' }), healthy, {
      nowMs: NOW,
    });
    expect(p?.status).toMatchObject({
      topicName: 'payments',
      topicId: 'id-payments',
      partitions: [
        { partition: 0, leader: 2, leaderEpoch: 1, partitionEpoch: 1, replicas: [2, 0, 1], isr: [2, 0, 1] },
      ],
    });
    expect(projectTopic(topicResource('orders'), healthy, { nowMs: NOW })?.status.topicId).toBe('id-orders');
  });

  it('is nothing for a topic the image does not have', () => {
    expect(projectTopic(topicResource('not-yet'), healthy, { nowMs: NOW })).toBeUndefined();
  });

  it('names the under-replicated and offline partitions', () => {
    const degraded = image(
      9,
      [broker(0), broker(1), broker(2, { fenced: true })],
      [
        topic('orders', [
          partition(0, 0, [0, 1, 2], [0, 1]),
          partition(1, -1, [2], [2]),
          partition(2, 1, [1, 0]),
        ]),
      ],
    );
    const p = projectTopic(topicResource('orders'), degraded, { nowMs: NOW })!;
    expect(condition(p.status.conditions, PartitionsUnderReplicated)).toMatchObject({
      status: 'True',
      message: '1 of 3 partitions under-replicated (partition 0)',
      observedGeneration: 2,
    });
    expect(condition(p.status.conditions, PartitionsOffline)).toMatchObject({
      status: 'True',
      message: '1 of 3 partitions without a leader (partition 1)',
    });
  });

  it('is unchanged against a status that holds it', () => {
    const first = projectTopic(topicResource('orders'), broker2Fenced, { nowMs: NOW })!;
    const again = projectTopic(topicResource('orders', { status: first.status }), broker2Fenced, {
      nowMs: NOW + 1000,
    })!;
    expect(again.changed).toBe(false);
    const moved = projectTopic(topicResource('orders', { status: first.status }), healthy, { nowMs: NOW })!;
    expect(moved.changed).toBe(true);
  });
});

describe('metadata projection > failover Events', () => {
  it('says how many leaderships moved from a fenced broker, and why when told', () => {
    expect(
      brokerEvents(healthy, broker2Fenced, { reasons: new Map([[2, 'pod orders-broker-2 deleted']]) }),
    ).toEqual([
      {
        type: 'Warning',
        reason: 'BrokerFenced',
        action: 'MoveLeadership',
        note: 'Moved leadership of 2 partitions from broker 2 (pod orders-broker-2 deleted)',
        brokerId: 2,
      },
    ]);
    expect(brokerEvents(healthy, broker2Fenced)[0]?.note).toBe(
      'Moved leadership of 2 partitions from broker 2',
    );
  });

  it('counts partitions left without a leader apart', () => {
    const before = image(
      1,
      [broker(0), broker(1)],
      [topic('t', [partition(0, 0, [0], [0]), partition(1, 0, [0, 1])])],
    );
    const after = image(
      2,
      [broker(0, { fenced: true }), broker(1)],
      [topic('t', [partition(0, -1, [0], [0]), partition(1, 1, [0, 1], [1])])],
    );
    expect(brokerEvents(before, after)[0]?.note).toBe(
      'Moved leadership of 1 partition from broker 0; 1 partition left without a leader',
    );
  });

  it('says when a broker is back, or joined for the first time', () => {
    expect(brokerEvents(broker2Fenced, healthy, { seenActive: new Set([0, 1, 2]) })).toEqual([
      { type: 'Normal', reason: 'BrokerBack', action: 'Register', note: 'Broker 2 is back', brokerId: 2 },
    ]);
    const twoBrokers = image(1, [broker(0), broker(1)], []);
    const third = image(2, [broker(0), broker(1), broker(2)], []);
    expect(brokerEvents(twoBrokers, third, { seenActive: new Set([0, 1]) })).toEqual([
      expect.objectContaining({ reason: 'BrokerJoined', note: 'Broker 2 joined the cluster' }),
    ]);
  });

  it('tells a controlled shutdown from a failure', () => {
    const leaving = image(
      8,
      [broker(0), broker(1), broker(2, { shuttingDown: true })],
      [...broker2Fenced.topics.values()],
    );
    expect(brokerEvents(healthy, leaving)).toEqual([
      expect.objectContaining({
        type: 'Normal',
        reason: 'BrokerShuttingDown',
        note: 'Moved leadership of 2 partitions from broker 2, which is shutting down',
      }),
    ]);
    const gone = image(
      9,
      [broker(0), broker(1), broker(2, { fenced: true })],
      [...broker2Fenced.topics.values()],
    );
    expect(brokerEvents(leaving, gone)).toEqual([
      expect.objectContaining({ type: 'Normal', reason: 'BrokerStopped', note: 'Broker 2 shut down' }),
    ]);
  });

  it('has nothing to say without a previous image, or when no broker changed', () => {
    expect(brokerEvents(undefined, broker2Fenced)).toEqual([]);
    expect(brokerEvents(broker2Fenced, image(9, broker2Fenced.registrations, []))).toEqual([]);
  });
});
