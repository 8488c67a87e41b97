import { describe, expect, it } from '@jest/globals';
import { appliedAdmin } from '../../../../src/broker/metadata/applied-admin.ts';
import { FakeClock } from '../../../../src/common/clock.ts';
import type { CreateTopicRequest, TopicAdmin } from '../../../../src/controller/api.ts';
import { indexTopics, type MetadataImage, type TopicState } from '../../../../src/controller/image.ts';

const topic: TopicState = {
  name: 'orders',
  topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
  internal: false,
  partitions: [{ partition: 0, leader: 0, leaderEpoch: 0, partitionEpoch: 0, replicas: [0], isr: [0] }],
  configs: {},
};

function imageWith(topics: TopicState[], version: number): MetadataImage {
  return {
    version,
    controllerEpoch: 1,
    clusterId: 'c',
    controllerId: 0,
    brokers: [],
    registrations: [],
    ...indexTopics(topics),
  };
}

/** A controller that answers at once, and a broker whose image arrives when the test says. */
function setup() {
  const clock = new FakeClock();
  let image = imageWith([], 1);
  const listeners = new Set<() => void>();
  const requests: CreateTopicRequest[] = [];
  const controller = {
    createTopic: (req: CreateTopicRequest) => {
      requests.push(req);
      return Promise.resolve({ ok: true as const, topic });
    },
    electLeaders: () =>
      Promise.resolve({
        ok: true as const,
        results: [
          {
            topic: 'orders',
            partitions: [
              { partition: 0, errorCode: 0, errorMessage: null, leaderEpoch: 1 },
              { partition: 1, errorCode: 84, errorMessage: 'not needed' },
            ],
          },
        ],
      }),
    alterPartitionReassignments: () =>
      Promise.resolve({
        ok: true as const,
        results: [
          {
            topic: 'orders',
            partitions: [
              { partition: 0, errorCode: 0, errorMessage: null, partitionEpoch: 1 },
              { partition: 1, errorCode: 3, errorMessage: 'no such partition' },
            ],
          },
        ],
      }),
  } as unknown as TopicAdmin;
  const admin = appliedAdmin({
    admin: controller,
    clock,
    image: () => image,
    onApplied: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    defaults: { numPartitions: 6, replicationFactor: 3 },
  });
  const apply = (next: MetadataImage): void => {
    image = next;
    for (const l of [...listeners]) l();
  };
  return { clock, admin, apply, requests, listeners };
}

const create = (over: Partial<CreateTopicRequest> = {}): CreateTopicRequest => ({
  name: 'orders',
  numPartitions: -1,
  replicationFactor: -1,
  assignments: [],
  configs: {},
  ...over,
});

describe('broker admin > answers once the change is in this broker’s image', () => {
  it('holds a created topic’s answer until an image with the topic is applied', async () => {
    const { admin, apply, listeners } = setup();
    let answered = false;
    const pending = admin.createTopic(create(), false).then((r) => {
      answered = true;
      return r;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(answered).toBe(false);
    apply(imageWith([], 2));
    await Promise.resolve();
    expect(answered).toBe(false);
    apply(imageWith([topic], 3));
    expect((await pending).ok).toBe(true);
    expect(listeners.size).toBe(0);
  });

  it('holds an election’s answer until an image shows the new leader epoch', async () => {
    const { admin, apply, listeners } = setup();
    apply(imageWith([topic], 2));
    let answered = false;
    const pending = admin.electLeaders('preferred', null).then((r) => {
      answered = true;
      return r;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(answered).toBe(false);
    const elected = { ...topic, partitions: [{ ...topic.partitions[0], leaderEpoch: 1 }] };
    apply(imageWith([elected], 3));
    expect((await pending).ok).toBe(true);
    expect(listeners.size).toBe(0);
  });

  it('holds a reassignment’s answer until an image shows the new partition epoch', async () => {
    const { admin, apply, listeners } = setup();
    apply(imageWith([topic], 2));
    let answered = false;
    const pending = admin
      .alterPartitionReassignments([{ topic: 'orders', partitions: [{ partition: 0, replicas: [1] }] }])
      .then((r) => {
        answered = true;
        return r;
      });
    await Promise.resolve();
    await Promise.resolve();
    expect(answered).toBe(false);
    const moving = {
      ...topic,
      partitions: [{ ...topic.partitions[0], partitionEpoch: 1, replicas: [1, 0], addingReplicas: [1] }],
    };
    apply(imageWith([moving], 3));
    expect((await pending).ok).toBe(true);
    expect(listeners.size).toBe(0);
  });

  it('answers after the timeout when no image shows the change', async () => {
    const { admin, clock } = setup();
    const pending = admin.createTopic(create(), false);
    await Promise.resolve();
    await Promise.resolve();
    clock.advance(5000);
    expect((await pending).ok).toBe(true);
  });

  it('does not wait for a validate-only request', async () => {
    const { admin } = setup();
    expect((await admin.createTopic(create(), true)).ok).toBe(true);
  });

  it('resolves -1 partitions and replication factor with the broker’s defaults', async () => {
    const { admin, apply, requests } = setup();
    apply(imageWith([topic], 2));
    await admin.createTopic(create(), false);
    await admin.createTopic(create({ numPartitions: 2, replicationFactor: 1 }), false);
    expect(requests.map((r) => [r.numPartitions, r.replicationFactor])).toEqual([
      [6, 3],
      [2, 1],
    ]);
  });
});
