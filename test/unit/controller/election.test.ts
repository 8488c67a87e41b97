import { describe, expect, it } from '@jest/globals';
import { electLeader, livenessOf, settlePartition } from '../../../src/controller/election.ts';
import { NO_LEADER } from '../../../src/controller/image.ts';
import { broker, partition } from './fixtures.ts';

const live = (...ids: number[]) =>
  livenessOf([0, 1, 2, 3].map((id) => broker(id, { fenced: !ids.includes(id) })));

describe('controller > election', () => {
  it('elects the first replica, in replica order, that is in the ISR and live', () => {
    expect(electLeader([2, 0, 1], [0, 1, 2], live(0, 1, 2), false).leader).toBe(2);
    expect(electLeader([2, 0, 1], [0, 1], live(0, 1, 2), false).leader).toBe(0);
    expect(electLeader([2, 0, 1], [0, 1, 2], live(1), false).leader).toBe(1);
  });

  it('elects nobody when no ISR member is live and the topic does not allow unclean election', () => {
    expect(electLeader([0, 1], [0], live(1), false)).toEqual({ leader: NO_LEADER, isr: [0], unclean: false });
  });

  it('elects the first live replica outside the ISR when unclean election is allowed, making it the ISR', () => {
    expect(electLeader([0, 1, 2], [0], live(2, 1), true)).toEqual({ leader: 1, isr: [1], unclean: true });
  });

  it('never elects a shutting-down broker', () => {
    const l = livenessOf([broker(0, { shuttingDown: true }), broker(1)]);
    expect(electLeader([0, 1], [0, 1], l, false).leader).toBe(1);
  });
});

describe('controller > settling a partition', () => {
  it('keeps a partition whose leader and ISR are live as it is (the same object)', () => {
    const p = partition(0, [0, 1, 2]);
    expect(settlePartition(p, live(0, 1, 2), false)).toBe(p);
  });

  it('moves leadership off a fenced leader, bumping the leader epoch and partition epoch once', () => {
    const p = partition(0, [0, 1, 2], { leaderEpoch: 4, partitionEpoch: 7 });
    expect(settlePartition(p, live(1, 2), false)).toEqual({
      ...p,
      leader: 1,
      leaderEpoch: 5,
      partitionEpoch: 8,
      isr: [1, 2],
    });
  });

  it('takes a fenced follower out of the ISR, bumping only the partition epoch', () => {
    const p = partition(0, [0, 1, 2], { leaderEpoch: 4, partitionEpoch: 7 });
    expect(settlePartition(p, live(0, 1), false)).toEqual({
      ...p,
      leaderEpoch: 4,
      partitionEpoch: 8,
      isr: [0, 1],
    });
  });

  it('leaves the last ISR member in place and the partition leaderless when it is fenced', () => {
    const p = partition(0, [0, 1], { isr: [0], leaderEpoch: 2, partitionEpoch: 3 });
    expect(settlePartition(p, live(1), false)).toEqual({
      ...p,
      leader: NO_LEADER,
      leaderEpoch: 3,
      partitionEpoch: 4,
      isr: [0],
    });
  });

  it('elects the broker that came back when it is in the ISR of a leaderless partition', () => {
    const p = partition(0, [0, 1], { isr: [0], leader: NO_LEADER, leaderEpoch: 3, partitionEpoch: 4 });
    expect(settlePartition(p, live(0, 1), false)).toMatchObject({
      leader: 0,
      leaderEpoch: 4,
      partitionEpoch: 5,
    });
  });

  it('elects a live replica outside the ISR only where unclean election is allowed', () => {
    const p = partition(0, [0, 1], { isr: [0] });
    expect(settlePartition(p, live(1), false).leader).toBe(NO_LEADER);
    expect(settlePartition(p, live(1), true)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 1 });
  });
});
