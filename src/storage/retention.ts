import type { LogConfig } from './config.ts';
import { retainsByDeletion } from './config.ts';

/** What retention needs to know of a segment. */
export interface SegmentFacts {
  baseOffset: number;
  size: number;
  largestTimestamp: number;
  /** The base offset of the next segment: every offset in this one is below it. */
  nextOffset: number;
}

export type DeletionReason = 'log-start-offset' | 'retention-time' | 'retention-size';

/**
 * How many segments to delete from the front, and why: segments wholly below the log start offset
 * (DeleteRecords) always; then, under cleanup.policy delete, those older than retention.ms by their
 * largest timestamp and those that take the log past retention.bytes. Only closed segments are
 * passed in — the active one is never deleted — and deletion stops at the first segment kept, so
 * the log stays one contiguous run.
 */
export function segmentsToDelete(
  closed: readonly SegmentFacts[],
  opts: { config: LogConfig; logStartOffset: number; totalBytes: number; now: number },
): { count: number; reasons: DeletionReason[] } {
  const reasons: DeletionReason[] = [];
  let remainingBytes = opts.totalBytes;
  const deletes = retainsByDeletion(opts.config);
  for (const seg of closed) {
    let reason: DeletionReason | null = null;
    if (seg.nextOffset <= opts.logStartOffset) reason = 'log-start-offset';
    else if (deletes && opts.now - seg.largestTimestamp > opts.config.retentionMs) reason = 'retention-time';
    else if (deletes && remainingBytes - seg.size >= opts.config.retentionBytes) reason = 'retention-size';
    if (!reason) break;
    reasons.push(reason);
    remainingBytes -= seg.size;
  }
  return { count: reasons.length, reasons };
}
