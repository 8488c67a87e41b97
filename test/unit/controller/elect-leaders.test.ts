import { describe, expect, it } from '@jest/globals';
import { electLeaders } from '../../../src/controller/elect-leaders.ts';
import { NO_LEADER, replicaKey } from '../../../src/controller/image.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { broker, clusterState, partition, partitionOf, topic } from './fixtures.ts';

/** Three live brokers; `orders` has partition 0 led off its preferred replica and 1 led by it. */
function drifted(o: { brokers?: ReturnType<typeof broker>[] } = {}) {
  return clusterState({
    brokers: o.brokers ?? [broker(0), broker(1), broker(2)],
    topics: [
      topic('orders', [
        partition(0, [0, 1, 2], { leader: 1, leaderEpoch: 4, partitionEpoch: 9 }),
        partition(1, [1, 2, 0], { leaderEpoch: 2, partitionEpoch: 3 }),
      ]),
    ],
  });
}

function answer(d: ReturnType<typeof electLeaders>) {
  if (!d.answer.ok) throw new Error(d.answer.errorMessage);
  return d.answer.results;
}

describe('controller > ElectLeaders > preferred', () => {
  it('moves leadership to the preferred replica, bumping the leader and partition epochs once, in one new version', () => {
    const state = drifted();
    const d = electLeaders(state, 'preferred', [{ topic: 'orders', partitions: [0] }]);
    expect(answer(d)).toEqual([
      { topic: 'orders', partitions: [{ partition: 0, errorCode: 0, errorMessage: null, leaderEpoch: 5 }] },
    ]);
    expect(partitionOf(d.state, 'orders', 0)).toEqual({
      ...partitionOf(state, 'orders', 0),
      leader: 0,
      leaderEpoch: 5,
      partitionEpoch: 10,
    });
    expect(partitionOf(d.state, 'orders', 1)).toBe(partitionOf(state, 'orders', 1));
    expect(d.state.version).toBe(state.version + 1);
    expect(d.log).toEqual(['Elected broker 0 leader of 1 partitions by preferred election']);
  });

  it('answers ELECTION_NOT_NEEDED when the preferred replica leads already, changing nothing', () => {
    const state = drifted();
    const d = electLeaders(state, 'preferred', [{ topic: 'orders', partitions: [1] }]);
    expect(answer(d)[0].partitions).toEqual([
      { partition: 1, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: expect.any(String) },
    ]);
    expect(d.state).toBe(state);
    expect(d.log).toEqual([]);
  });

  it('answers PREFERRED_LEADER_NOT_AVAILABLE when the preferred replica is out of the ISR', () => {
    const state = drifted();
    state.topics[0].partitions[0].isr = [1, 2];
    const d = electLeaders(state, 'preferred', [{ topic: 'orders', partitions: [0] }]);
    expect(answer(d)[0].partitions[0]).toMatchObject({
      errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      errorMessage: 'The preferred leader of orders-0, broker 0, is not in the ISR.',
    });
    expect(d.state).toBe(state);
  });

  it.each([
    ['fenced', { fenced: true }],
    ['shutting down', { shuttingDown: true }],
    [
      'holding the partition on an offline log',
      { offlineReplicas: [replicaKey('id-orders'.padEnd(22, 'A'), 0)] },
    ],
  ])('answers PREFERRED_LEADER_NOT_AVAILABLE when the preferred replica is %s', (_, o) => {
    const state = drifted({ brokers: [broker(0, o), broker(1), broker(2)] });
    const d = electLeaders(state, 'preferred', [{ topic: 'orders', partitions: [0] }]);
    expect(answer(d)[0].partitions[0]).toMatchObject({
      errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
      errorMessage: 'The preferred leader of orders-0, broker 0, is not available.',
    });
    expect(d.state).toBe(state);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic or partition, beside the others', () => {
    const state = drifted();
    const d = electLeaders(state, 'preferred', [
      { topic: 'orders', partitions: [7, 0] },
      { topic: 'nope', partitions: [0] },
    ]);
    expect(answer(d)).toEqual([
      {
        topic: 'orders',
        partitions: [
          {
            partition: 7,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: 'No such partition as orders-7.',
          },
          { partition: 0, errorCode: 0, errorMessage: null, leaderEpoch: 5 },
        ],
      },
      {
        topic: 'nope',
        partitions: [
          {
            partition: 0,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: 'No such topic as nope.',
          },
        ],
      },
    ]);
    expect(partitionOf(d.state, 'orders', 0).leader).toBe(0);
  });

  it('elects a partition named twice once: the second answer is ELECTION_NOT_NEEDED', () => {
    const d = electLeaders(drifted(), 'preferred', [{ topic: 'orders', partitions: [0, 0] }]);
    expect(answer(d)[0].partitions.map((p) => p.errorCode)).toEqual([0, ErrorCode.ELECTION_NOT_NEEDED]);
    expect(partitionOf(d.state, 'orders', 0).leaderEpoch).toBe(5);
  });

  it('with null targets elects every partition that needs it and leaves out those that need none', () => {
    const state = clusterState({
      brokers: [broker(0), broker(1), broker(2)],
      topics: [
        topic('a', [partition(0, [0, 1]), partition(1, [1, 0], { leader: 0 })]),
        topic('b', [partition(0, [2, 0])]),
        topic('c', [partition(0, [2, 1], { leader: 1, isr: [1] })]),
      ],
    });
    const d = electLeaders(state, 'preferred', null);
    expect(answer(d)).toEqual([
      { topic: 'a', partitions: [{ partition: 1, errorCode: 0, errorMessage: null, leaderEpoch: 1 }] },
      {
        topic: 'c',
        partitions: [
          {
            partition: 0,
            errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
            errorMessage: expect.any(String),
          },
        ],
      },
    ]);
    expect(d.state.topics[1]).toBe(state.topics[1]);
    expect(d.state.topics[2]).toBe(state.topics[2]);
  });

  it('with null targets and nothing to do answers no results and keeps the state', () => {
    const state = clusterState({ brokers: [broker(0)], topics: [topic('a', [partition(0, [0])])] });
    const d = electLeaders(state, 'preferred', null);
    expect(answer(d)).toEqual([]);
    expect(d.state).toBe(state);
  });
});

describe('controller > ElectLeaders > unclean', () => {
  it('answers ELECTION_NOT_NEEDED for a partition that has a leader, even off its preferred replica', () => {
    const state = drifted();
    const d = electLeaders(state, 'unclean', [{ topic: 'orders', partitions: [0, 1] }]);
    expect(answer(d)[0].partitions.map((p) => p.errorCode)).toEqual([
      ErrorCode.ELECTION_NOT_NEEDED,
      ErrorCode.ELECTION_NOT_NEEDED,
    ]);
    expect(d.state).toBe(state);
  });

  it('elects a live replica outside the ISR of a leaderless partition, which becomes the ISR, whatever the topic config says', () => {
    const state = clusterState({
      brokers: [broker(0, { fenced: true }), broker(1, { fenced: true }), broker(2)],
      topics: [
        topic(
          't',
          [partition(0, [0, 1, 2], { leader: NO_LEADER, isr: [0], leaderEpoch: 3, partitionEpoch: 6 })],
          {
            'unclean.leader.election.enable': 'false',
          },
        ),
      ],
    });
    const d = electLeaders(state, 'unclean', [{ topic: 't', partitions: [0] }]);
    expect(answer(d)[0].partitions).toEqual([
      { partition: 0, errorCode: 0, errorMessage: null, leaderEpoch: 4 },
    ]);
    expect(partitionOf(d.state, 't')).toEqual({
      partition: 0,
      replicas: [0, 1, 2],
      leader: 2,
      isr: [2],
      leaderEpoch: 4,
      partitionEpoch: 7,
    });
    expect(d.log).toEqual([
      'Elected broker 2 leader of 1 partitions by unclean election (records may be lost)',
    ]);
  });

  it('prefers an eligible ISR member of a leaderless partition over a replica outside it', () => {
    const state = clusterState({
      brokers: [broker(0), broker(1), broker(2)],
      topics: [topic('t', [partition(0, [0, 1, 2], { leader: NO_LEADER, isr: [1] })])],
    });
    const d = electLeaders(state, 'unclean', [{ topic: 't', partitions: [0] }]);
    expect(partitionOf(d.state, 't')).toMatchObject({ leader: 1, isr: [1] });
  });

  it('answers ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live', () => {
    const state = clusterState({
      brokers: [broker(0, { fenced: true }), broker(1, { shuttingDown: true })],
      topics: [topic('t', [partition(0, [0, 1], { leader: NO_LEADER, isr: [0] })])],
    });
    const d = electLeaders(state, 'unclean', [{ topic: 't', partitions: [0] }]);
    expect(answer(d)[0].partitions[0]).toMatchObject({
      errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
      errorMessage: 'No replica of t-0 is available to lead it.',
    });
    expect(d.state).toBe(state);
  });
});
