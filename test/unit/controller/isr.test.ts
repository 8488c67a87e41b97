import { describe, expect, it } from '@jest/globals';
import type { AlterPartitionRequest } from '../../../src/controller/api.ts';
import { alterPartition } from '../../../src/controller/isr.ts';
import type { ClusterState } from '../../../src/controller/state.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { broker, clusterState, partition, partitionOf, topic } from './fixtures.ts';

/** t-0: replicas [0,1,2], leader 0 at leader epoch 3, partition epoch 5, ISR [0,1]; broker 3 fenced, 4 shutting down. */
function state(): ClusterState {
  return clusterState({
    brokers: [
      broker(0),
      broker(1),
      broker(2),
      broker(3, { fenced: true }),
      broker(4, { shuttingDown: true }),
    ],
    topics: [
      topic('t', [
        partition(0, [0, 1, 2], { isr: [0, 1], leaderEpoch: 3, partitionEpoch: 5 }),
        partition(1, [0, 3, 4], { isr: [0], leaderEpoch: 0, partitionEpoch: 0 }),
      ]),
    ],
  });
}

function req(o: Partial<AlterPartitionRequest> = {}): AlterPartitionRequest {
  return {
    nodeId: 0,
    brokerEpoch: 10,
    topicId: topic('t', []).topicId,
    partition: 0,
    leaderEpoch: 3,
    partitionEpoch: 5,
    newIsr: [0, 1, 2],
    ...o,
  };
}

describe('controller > ISR changes (AlterPartition)', () => {
  it('expands the ISR, bumping the partition epoch only, in one version', () => {
    const s = state();
    const d = alterPartition(s, req());
    const expected = { ...partitionOf(s, 't'), isr: [0, 1, 2], partitionEpoch: 6 };
    expect(d.answer).toEqual({ ok: true, state: expected });
    expect(partitionOf(d.state, 't')).toEqual(expected);
    expect(d.state.version).toBe(s.version + 1);
    expect(d.log).toEqual(['Expanded the ISR of t-0 from [0, 1] to [0, 1, 2]']);
  });

  it('shrinks the ISR', () => {
    const d = alterPartition(state(), req({ newIsr: [0] }));
    expect(d.answer).toMatchObject({ ok: true, state: { isr: [0], partitionEpoch: 6, leaderEpoch: 3 } });
  });

  it('answers the current state, changing nothing, for the ISR it already has', () => {
    const s = state();
    const d = alterPartition(s, req({ newIsr: [1, 0] }));
    expect(d.state).toBe(s);
    expect(d.answer).toEqual({ ok: true, state: partitionOf(s, 't') });
  });

  it.each([
    ['a stale broker epoch', { brokerEpoch: 9 }, ErrorCode.STALE_BROKER_EPOCH],
    ['an unknown broker', { nodeId: 7 }, ErrorCode.STALE_BROKER_EPOCH],
    ['an unknown topic id', { topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }, ErrorCode.UNKNOWN_TOPIC_ID],
    ['an unknown partition', { partition: 9 }, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ['a sender that is not the leader', { nodeId: 1, brokerEpoch: 11 }, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ['an older leader epoch', { leaderEpoch: 2 }, ErrorCode.FENCED_LEADER_EPOCH],
    [
      'an older leader epoch from a broker that no longer leads',
      { nodeId: 1, brokerEpoch: 11, leaderEpoch: 2 },
      ErrorCode.FENCED_LEADER_EPOCH,
    ],
    ['a stale partition epoch', { partitionEpoch: 4 }, ErrorCode.INVALID_UPDATE_VERSION],
    ['a partition epoch from the future', { partitionEpoch: 6 }, ErrorCode.INVALID_UPDATE_VERSION],
    ['an ISR without the leader', { newIsr: [1, 2] }, ErrorCode.INVALID_REQUEST],
    ['an ISR with a broker that holds no replica', { newIsr: [0, 3] }, ErrorCode.INVALID_REQUEST],
    ['an ISR naming a broker twice', { newIsr: [0, 1, 1] }, ErrorCode.INVALID_REQUEST],
  ])('refuses %s', (_what, o, code) => {
    const s = state();
    const d = alterPartition(s, req(o));
    expect(d.answer).toMatchObject({ ok: false, errorCode: code });
    expect(d.state).toBe(s);
  });

  it.each([
    ['fenced', 3],
    ['shutting down', 4],
  ])('refuses to add a %s broker with INELIGIBLE_REPLICA', (_what, id) => {
    const s = state();
    const d = alterPartition(s, req({ partition: 1, leaderEpoch: 0, partitionEpoch: 0, newIsr: [0, id] }));
    expect(d.answer).toMatchObject({ ok: false, errorCode: ErrorCode.INELIGIBLE_REPLICA });
  });

  it('refuses the second of two changes made from the same partition epoch', () => {
    const first = alterPartition(state(), req({ newIsr: [0] }));
    const second = alterPartition(first.state, req({ newIsr: [0, 1, 2] }));
    expect(second.answer).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_UPDATE_VERSION });
  });
});
