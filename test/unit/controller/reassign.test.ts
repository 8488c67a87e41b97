import { describe, expect, it } from '@jest/globals';
import type { ReassignmentTarget } from '../../../src/controller/api.ts';
import { alterPartition } from '../../../src/controller/isr.ts';
import { alterPartitionReassignments, listPartitionReassignments } from '../../../src/controller/reassign.ts';
import type { ClusterState } from '../../../src/controller/state.ts';
import { createPartitions } from '../../../src/controller/topics.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { broker, clusterState, partition, partitionOf, topic } from './fixtures.ts';

/** Four live brokers; `orders`-0 on [0, 1] led by 0 (leader epoch 3, partition epoch 7), `orders`-1 on [1, 2]. */
function cluster(): ClusterState {
  return clusterState({
    brokers: [broker(0), broker(1), broker(2), broker(3)],
    topics: [
      topic('orders', [
        partition(0, [0, 1], { leaderEpoch: 3, partitionEpoch: 7 }),
        partition(1, [1, 2], { leaderEpoch: 1, partitionEpoch: 1 }),
      ]),
    ],
  });
}

function move(partition: number, replicas: number[] | null, name = 'orders'): ReassignmentTarget[] {
  return [{ topic: name, partitions: [{ partition, replicas }] }];
}

function reassign(state: ClusterState, targets: ReassignmentTarget[]) {
  const d = alterPartitionReassignments(state, targets);
  if (!d.answer.ok) throw new Error(d.answer.errorMessage);
  return { ...d, results: d.answer.results };
}

/** The leader of `orders`-`index` asks for `newIsr`, with the epochs it holds. */
function expandIsr(state: ClusterState, index: number, newIsr: number[]) {
  const p = partitionOf(state, 'orders', index);
  const leader = state.brokers.find((b) => b.nodeId === p.leader)!;
  return alterPartition(state, {
    nodeId: leader.nodeId,
    brokerEpoch: leader.brokerEpoch,
    topicId: topic('orders', []).topicId,
    partition: index,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
    newIsr,
  });
}

describe('controller > partition reassignment > starting', () => {
  it('grows the replicas to the target then the leaving ones, leader and ISR unchanged, in one new version', () => {
    const state = cluster();
    const d = reassign(state, move(0, [1, 2]));
    expect(d.results).toEqual([
      {
        topic: 'orders',
        partitions: [{ partition: 0, errorCode: 0, errorMessage: null, partitionEpoch: 8 }],
      },
    ]);
    expect(partitionOf(d.state, 'orders', 0)).toEqual({
      partition: 0,
      leader: 0,
      leaderEpoch: 3,
      partitionEpoch: 8,
      replicas: [1, 2, 0],
      isr: [0, 1],
      addingReplicas: [2],
      removingReplicas: [0],
    });
    expect(partitionOf(d.state, 'orders', 1)).toBe(partitionOf(state, 'orders', 1));
    expect(d.state.version).toBe(state.version + 1);
    expect(d.log).toEqual(['Started reassigning orders-0 from [0, 1] to [1, 2]']);
  });

  it('completes at once a reassignment that adds no replica, moving the leader into the target', () => {
    const d = reassign(cluster(), move(0, [1]));
    expect(partitionOf(d.state, 'orders', 0)).toEqual({
      partition: 0,
      leader: 1,
      leaderEpoch: 4,
      partitionEpoch: 8,
      replicas: [1],
      isr: [1],
    });
    expect(d.log).toEqual(['Reassigned orders-0 from [0, 1] to [1]']);
  });

  it('reorders the replicas without moving the leader or its epoch', () => {
    const d = reassign(cluster(), move(0, [1, 0]));
    expect(partitionOf(d.state, 'orders', 0)).toMatchObject({
      leader: 0,
      leaderEpoch: 3,
      partitionEpoch: 8,
      replicas: [1, 0],
      isr: [1, 0],
    });
    expect(partitionOf(d.state, 'orders', 0).addingReplicas).toBeUndefined();
  });

  it('changes nothing when the target is the current replica set', () => {
    const state = cluster();
    const d = reassign(state, move(0, [0, 1]));
    expect(d.results[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE });
    expect(d.state).toBe(state);
  });

  it('refuses empty targets, duplicates and unregistered brokers with INVALID_REPLICA_ASSIGNMENT', () => {
    const state = cluster();
    const d = reassign(state, [
      {
        topic: 'orders',
        partitions: [
          { partition: 0, replicas: [] },
          { partition: 0, replicas: [1, 1] },
          { partition: 1, replicas: [1, 7] },
        ],
      },
    ]);
    expect(d.results[0].partitions.map((p) => [p.partition, p.errorCode, p.errorMessage])).toEqual([
      [0, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The replica assignment of orders-0 is empty.'],
      [
        0,
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        'Duplicate brokers not allowed in the replica assignment of orders-0: 1, 1.',
      ],
      [
        1,
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        'The replica assignment of orders-1 includes unregistered broker(s) 7.',
      ],
    ]);
    expect(d.state).toBe(state);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for unknown topics and partitions, and still moves the rest', () => {
    const d = reassign(cluster(), [
      { topic: 'nope', partitions: [{ partition: 0, replicas: [1] }] },
      {
        topic: 'orders',
        partitions: [
          { partition: 5, replicas: [1] },
          { partition: 1, replicas: [2, 3] },
        ],
      },
    ]);
    expect(d.results.flatMap((t) => t.partitions.map((p) => [t.topic, p.partition, p.errorCode]))).toEqual([
      ['nope', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['orders', 5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['orders', 1, ErrorCode.NONE],
    ]);
    expect(partitionOf(d.state, 'orders', 1)).toMatchObject({ replicas: [2, 3, 1], addingReplicas: [3] });
  });
});

describe('controller > partition reassignment > completing', () => {
  it('completes when the last adding replica joins the ISR: replicas become the target, the leader moves into it', () => {
    const started = reassign(cluster(), move(0, [1, 2])).state;
    const d = expandIsr(started, 0, [0, 1, 2]);
    expect(d.answer).toMatchObject({ ok: true });
    expect(partitionOf(d.state, 'orders', 0)).toEqual({
      partition: 0,
      leader: 1,
      leaderEpoch: 4,
      partitionEpoch: 9,
      replicas: [1, 2],
      isr: [1, 2],
    });
    expect(d.state.version).toBe(started.version + 1);
    expect(d.log).toEqual([
      'Expanded the ISR of orders-0 from [0, 1] to [1, 2]',
      'Completed the reassignment of orders-0: its replicas are [1, 2]',
      'Moved leadership of orders-0 from broker 0 to 1',
    ]);
  });

  it('waits for every adding replica: one joining of two only expands the ISR', () => {
    const started = reassign(cluster(), move(0, [2, 3])).state;
    const one = expandIsr(started, 0, [0, 1, 2]);
    expect(partitionOf(one.state, 'orders', 0)).toMatchObject({
      leader: 0,
      replicas: [2, 3, 0, 1],
      isr: [2, 0, 1],
      addingReplicas: [2, 3],
      removingReplicas: [0, 1],
      partitionEpoch: 9,
    });
    const both = expandIsr(one.state, 0, [2, 0, 1, 3]);
    expect(partitionOf(both.state, 'orders', 0)).toEqual({
      partition: 0,
      leader: 2,
      leaderEpoch: 4,
      partitionEpoch: 10,
      replicas: [2, 3],
      isr: [2, 3],
    });
  });

  it('keeps the leader when it stays in the target, bumping only the partition epoch', () => {
    const started = reassign(cluster(), move(0, [0, 2])).state;
    const d = expandIsr(started, 0, [0, 1, 2]);
    expect(partitionOf(d.state, 'orders', 0)).toEqual({
      partition: 0,
      leader: 0,
      leaderEpoch: 3,
      partitionEpoch: 9,
      replicas: [0, 2],
      isr: [0, 2],
    });
  });

  it('grows the replication factor when only adding', () => {
    const started = reassign(cluster(), move(0, [0, 1, 2])).state;
    expect(partitionOf(started, 'orders', 0)).toMatchObject({ addingReplicas: [2], removingReplicas: [] });
    const d = expandIsr(started, 0, [0, 1, 2]);
    expect(partitionOf(d.state, 'orders', 0)).toEqual({
      partition: 0,
      leader: 0,
      leaderEpoch: 3,
      partitionEpoch: 9,
      replicas: [0, 1, 2],
      isr: [0, 1, 2],
    });
  });
});

describe('controller > partition reassignment > elsewhere', () => {
  it('gives partitions added during a move the target’s replication factor, not the grown set’s', () => {
    const started = reassign(cluster(), move(0, [2, 3])).state;
    const d = createPartitions(started, { name: 'orders', count: 3, assignments: null });
    expect(d.answer.ok).toBe(true);
    expect(partitionOf(d.state, 'orders', 2).replicas).toHaveLength(2);
  });
});

describe('controller > partition reassignment > cancelling and listing', () => {
  it('cancels an ongoing reassignment back to the original replicas', () => {
    const started = reassign(cluster(), move(0, [1, 2])).state;
    const d = reassign(started, move(0, null));
    expect(d.results[0].partitions[0]).toEqual({
      partition: 0,
      errorCode: 0,
      errorMessage: null,
      partitionEpoch: 9,
    });
    expect(partitionOf(d.state, 'orders', 0)).toEqual({
      partition: 0,
      leader: 0,
      leaderEpoch: 3,
      partitionEpoch: 9,
      replicas: [1, 0],
      isr: [1, 0],
    });
    expect(d.log).toEqual(['Cancelled the reassignment of orders-0: its replicas are [1, 0] again']);
  });

  it('answers NO_REASSIGNMENT_IN_PROGRESS for a cancel of a partition that is not moving', () => {
    const state = cluster();
    const d = reassign(state, move(1, null));
    expect(d.results[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS });
    expect(d.state).toBe(state);
  });

  it('refuses a cancel when no original replica is left in the ISR', () => {
    const started = reassign(cluster(), move(0, [2, 3])).state;
    started.topics[0].partitions[0] = { ...partitionOf(started, 'orders', 0), leader: 2, isr: [2] };
    const d = reassign(started, move(0, null));
    expect(d.results[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
    expect(d.state).toBe(started);
  });

  it('lists the reassignments in progress, all or those named, leaving out the rest', () => {
    const started = reassign(cluster(), move(0, [1, 2])).state;
    const ongoing = {
      topic: 'orders',
      partitions: [{ partition: 0, replicas: [1, 2, 0], addingReplicas: [2], removingReplicas: [0] }],
    };
    expect(listPartitionReassignments(started, null)).toEqual({ ok: true, topics: [ongoing] });
    expect(
      listPartitionReassignments(started, [
        { topic: 'orders', partitions: [0, 1] },
        { topic: 'nope', partitions: [0] },
      ]),
    ).toEqual({ ok: true, topics: [ongoing] });
    expect(listPartitionReassignments(started, [{ topic: 'orders', partitions: [1] }])).toEqual({
      ok: true,
      topics: [],
    });
    expect(listPartitionReassignments(cluster(), null)).toEqual({ ok: true, topics: [] });
  });
});
