import { describe, expect, it } from '@jest/globals';
import { truncationStep } from '../../../../src/broker/replication/truncation.ts';
import { LeaderEpochCache } from '../../../../src/storage/leader-epoch-cache.ts';

/** A follower whose log holds epoch 1 from 0, epoch 2 from 10 and epoch 4 from 20, ending at 30. */
function follower(
  entries = [
    { epoch: 1, startOffset: 0 },
    { epoch: 2, startOffset: 10 },
    { epoch: 4, startOffset: 20 },
  ],
) {
  const cache = new LeaderEpochCache(entries);
  return { ownEndFor: (e: number) => cache.endOffsetFor(e, 30), logEndOffset: 30, highWatermark: 12 };
}

describe('replication > truncation before fetching from a new leader', () => {
  it('keeps everything when the leader has the follower’s latest epoch to at least its log end', () => {
    expect(truncationStep({ ...follower(), leader: { epoch: 4, endOffset: 35 } })).toEqual({
      truncateTo: 30,
      done: true,
    });
  });

  it('cuts at the lesser end when the leader answers an older epoch both logs have', () => {
    expect(truncationStep({ ...follower(), leader: { epoch: 2, endOffset: 18 } })).toEqual({
      truncateTo: 18,
      done: true,
    });
  });

  it('cuts where the leader’s copy of the same epoch ends', () => {
    expect(truncationStep({ ...follower(), leader: { epoch: 4, endOffset: 25 } })).toEqual({
      truncateTo: 25,
      done: true,
    });
  });

  it('cuts at its own end of an older epoch the leader answers with, and asks again', () => {
    // The leader never had epoch 4: its latest epoch below it is 3, which we never had; our
    // latest below 3 is epoch 2, ending at 20.
    expect(truncationStep({ ...follower(), leader: { epoch: 3, endOffset: 19 } })).toEqual({
      truncateTo: 20,
      done: false,
    });
    // Asked again with epoch 2, now our latest, the leader ends it at 18: the cut is there.
    const after = follower([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 10 },
    ]);
    const cache = new LeaderEpochCache([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 10 },
    ]);
    expect(
      truncationStep({
        ...after,
        ownEndFor: (e) => cache.endOffsetFor(e, 20),
        logEndOffset: 20,
        leader: { epoch: 2, endOffset: 18 },
      }),
    ).toEqual({ truncateTo: 18, done: true });
  });

  it('cuts at the leader’s end offset for an epoch older than any it knows', () => {
    const f = follower([{ epoch: 3, startOffset: 5 }]);
    expect(truncationStep({ ...f, leader: { epoch: 1, endOffset: 4 } })).toEqual({
      truncateTo: 4,
      done: true,
    });
  });

  it('keeps only the committed part when the leader cannot place the epoch', () => {
    expect(truncationStep({ ...follower(), leader: { epoch: -1, endOffset: -1 } })).toEqual({
      truncateTo: 12,
      done: true,
    });
  });
});
