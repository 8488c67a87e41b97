/**
 * Where a follower cuts its log before it fetches from a new leader (KIP-101, KIP-279), as Kafka's
 * AbstractFetcherThread.getOffsetTruncationState decides it. The follower asks the leader where its
 * own latest epoch ends in the leader's log (OffsetsForLeaderEpoch); the leader answers with that
 * epoch or, when it never had it, the latest epoch it has below it:
 * - the same epoch: both logs agree up to the leader's end of that epoch, so cut at the lesser of
 *   that and the follower's own end of it — done;
 * - an older epoch the follower also has: cut at the follower's end of that epoch and ask again
 *   with the follower's new latest epoch (the logs may part earlier still);
 * - an older epoch the follower does not know: cut at the leader's end offset — done;
 * - no answer the leader can place (no epochs at all): keep what is below the high watermark.
 * Pure: the caller performs the cut and, when not done, asks again.
 */
import { UNDEFINED_EPOCH, UNDEFINED_OFFSET } from '../../storage/leader-epoch-cache.ts';

export interface TruncationStep {
  /** Cut the log to end here (no-op when it is at or past the log end). */
  truncateTo: number;
  /** false: ask the leader again with the log's new latest epoch. */
  done: boolean;
}

export function truncationStep(o: {
  leader: { epoch: number; endOffset: number };
  /** The follower's own end of an epoch, as its leader-epoch cache answers (-1s when unknown). */
  ownEndFor: (epoch: number) => { epoch: number; endOffset: number };
  logEndOffset: number;
  highWatermark: number;
}): TruncationStep {
  const { leader, logEndOffset } = o;
  if (leader.endOffset === UNDEFINED_OFFSET) {
    return { truncateTo: Math.min(o.highWatermark, logEndOffset), done: true };
  }
  if (leader.epoch === UNDEFINED_EPOCH) {
    return { truncateTo: Math.min(leader.endOffset, logEndOffset), done: true };
  }
  const own = o.ownEndFor(leader.epoch);
  if (own.epoch === UNDEFINED_EPOCH || own.endOffset === UNDEFINED_OFFSET) {
    return { truncateTo: Math.min(leader.endOffset, logEndOffset), done: true };
  }
  if (own.epoch === leader.epoch) {
    return { truncateTo: Math.min(leader.endOffset, own.endOffset, logEndOffset), done: true };
  }
  return { truncateTo: Math.min(own.endOffset, logEndOffset), done: false };
}
