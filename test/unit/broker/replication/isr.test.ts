import { describe, expect, it } from '@jest/globals';
import {
  afterFetch,
  type FollowerState,
  initialFollowerState,
  isrChange,
  type IsrInputs,
  nextHighWatermark,
} from '../../../../src/broker/replication/isr.ts';

const LAG = 30_000;

function follower(logEndOffset: number, lastCaughtUpMs: number): FollowerState {
  return { logEndOffset, lastCaughtUpMs, lastFetchLeaderLogEnd: logEndOffset, lastFetchMs: lastCaughtUpMs };
}

/** Leader 1 with followers 2 and 3, all in sync at offset 100, at t = 100 s. */
function inputs(over: Partial<IsrInputs> = {}): IsrInputs {
  return {
    self: 1,
    now: 100_000,
    isr: [1, 2, 3],
    replicas: [1, 2, 3],
    followers: new Map([
      [2, follower(100, 100_000)],
      [3, follower(100, 100_000)],
    ]),
    leaderLogEnd: 100,
    highWatermark: 100,
    epochStartOffset: 0,
    lagTimeMaxMs: LAG,
    ineligible: new Set(),
    ...over,
  };
}

describe('replication > a follower catching up', () => {
  it('is caught up when it fetches from the leader’s log end', () => {
    const s = afterFetch(initialFollowerState(false, 0), { fetchOffset: 50, leaderLogEnd: 50, now: 7 });
    expect(s).toMatchObject({ logEndOffset: 50, lastCaughtUpMs: 7 });
  });

  it('was caught up at its previous fetch when it now has what that fetch was answered', () => {
    let s = afterFetch(initialFollowerState(false, 0), { fetchOffset: 10, leaderLogEnd: 50, now: 5 });
    expect(s.lastCaughtUpMs).toBe(0);
    // The leader has moved on to 60, but the follower now holds everything up to 50.
    s = afterFetch(s, { fetchOffset: 50, leaderLogEnd: 60, now: 9 });
    expect(s).toMatchObject({ logEndOffset: 50, lastCaughtUpMs: 5 });
  });

  it('is not caught up while it stays behind what it was last answered', () => {
    let s = afterFetch(initialFollowerState(false, 0), { fetchOffset: 10, leaderLogEnd: 50, now: 5 });
    s = afterFetch(s, { fetchOffset: 40, leaderLogEnd: 60, now: 9 });
    expect(s.lastCaughtUpMs).toBe(0);
  });

  it('gives ISR members a full lag period from the leader’s election, others none', () => {
    expect(initialFollowerState(true, 1234).lastCaughtUpMs).toBe(1234);
    expect(initialFollowerState(false, 1234).lastCaughtUpMs).toBe(0);
  });
});

describe('replication > the high watermark over the ISR', () => {
  const followers = new Map([
    [2, follower(80, 0)],
    [3, follower(90, 0)],
  ]);

  it('is the least log end over the leader and its in-sync followers', () => {
    expect(nextHighWatermark({ self: 1, isr: [1, 2, 3], leaderLogEnd: 100, followers, current: 0 })).toBe(80);
  });

  it('ignores followers outside the ISR', () => {
    expect(nextHighWatermark({ self: 1, isr: [1, 3], leaderLogEnd: 100, followers, current: 0 })).toBe(90);
  });

  it('is the leader’s log end when the leader is alone in the ISR', () => {
    expect(nextHighWatermark({ self: 1, isr: [1], leaderLogEnd: 100, followers, current: 0 })).toBe(100);
  });

  it('never moves back', () => {
    expect(nextHighWatermark({ self: 1, isr: [1, 2], leaderLogEnd: 100, followers, current: 85 })).toBeNull();
  });

  it('waits until every in-sync follower has fetched from this leader', () => {
    const unknown = new Map([[2, initialFollowerState(true, 0)]]);
    expect(
      nextHighWatermark({ self: 1, isr: [1, 2], leaderLogEnd: 100, followers: unknown, current: 0 }),
    ).toBeNull();
  });
});

describe('replication > ISR changes', () => {
  it('keeps an ISR whose followers are all caught up', () => {
    expect(isrChange(inputs())).toBeNull();
  });

  it('keeps a follower that was caught up within replica.lag.time.max.ms', () => {
    const followers = new Map([
      [2, follower(90, 100_000 - LAG)],
      [3, follower(100, 100_000)],
    ]);
    expect(isrChange(inputs({ followers, leaderLogEnd: 120 }))).toBeNull();
  });

  it('drops a follower not caught up for longer than replica.lag.time.max.ms', () => {
    const followers = new Map([
      [2, follower(90, 100_000 - LAG - 1)],
      [3, follower(120, 100_000)],
    ]);
    expect(isrChange(inputs({ followers, leaderLogEnd: 120 }))).toEqual([1, 3]);
  });

  it('keeps a follower that has the whole log however long ago it fetched', () => {
    const followers = new Map([
      [2, follower(100, 0)],
      [3, follower(100, 100_000)],
    ]);
    expect(isrChange(inputs({ followers }))).toBeNull();
  });

  it('takes back a follower that reached the high watermark and the start of the leader’s epoch', () => {
    const followers = new Map([
      [2, follower(100, 100_000)],
      [3, follower(100, 100_000)],
    ]);
    expect(isrChange(inputs({ isr: [1, 2], followers, epochStartOffset: 95 }))).toEqual([1, 2, 3]);
  });

  it('does not take back a follower below the high watermark', () => {
    const followers = new Map([
      [2, follower(100, 100_000)],
      [3, follower(99, 100_000)],
    ]);
    expect(isrChange(inputs({ isr: [1, 2], followers }))).toBeNull();
  });

  it('does not take back a follower that has not reached the start of the leader’s epoch', () => {
    const followers = new Map([
      [2, follower(100, 100_000)],
      [3, follower(100, 100_000)],
    ]);
    expect(
      isrChange(inputs({ isr: [1, 2], followers, highWatermark: 90, epochStartOffset: 101 })),
    ).toBeNull();
  });

  it('does not take back a fenced or shutting-down broker', () => {
    const followers = new Map([
      [2, follower(100, 100_000)],
      [3, follower(100, 100_000)],
    ]);
    expect(isrChange(inputs({ isr: [1, 2], followers, ineligible: new Set([3]) }))).toBeNull();
  });

  it('shrinks before it expands', () => {
    const followers = new Map([
      [2, follower(10, 0)],
      [3, follower(100, 100_000)],
    ]);
    expect(isrChange(inputs({ isr: [1, 2], followers }))).toEqual([1]);
  });
});
