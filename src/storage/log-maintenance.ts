import { LOG_SUFFIX } from './names.ts';
import type { LogState } from './log-state.ts';
import { segmentsToDelete } from './retention.ts';
import type { Segment } from './segment.ts';

/**
 * The operations that remove data from a log: truncation (replication), DeleteRecords and
 * retention. Each runs on the log's queue.
 */

/** Removes every offset ≥ `offset`; a batch that straddles it goes whole. */
export async function truncateTo(s: LogState, offset: number): Promise<void> {
  if (offset >= s.logEndOffset) return;
  if (offset <= s.logStartOffset) return truncateFullyAndStartAt(s, s.logStartOffset);
  // Later segments leave the list before any await, so no read or index trim sees a half state.
  const doomed: Segment[] = [];
  while (s.segments.length > 1 && s.active.baseOffset >= offset) doomed.push(s.segments.pop()!);
  const removedFrom = (await s.active.truncateTo(offset)) ?? offset;
  for (const seg of doomed) await s.deleteSegment(seg, 'truncation');
  s.logEndOffset = Math.min(offset, removedFrom, s.logEndOffset);
  await afterTruncation(s);
}

/** Empties the log and starts it again at `offset`. */
export async function truncateFullyAndStartAt(s: LogState, offset: number): Promise<void> {
  const doomed = s.segments;
  // Retire the old files first: the new segment may take the same name.
  for (const seg of doomed) await s.deleteSegment(seg, 'truncation');
  s.segments = [await s.newSegment(offset)];
  s.logEndOffset = offset;
  s.activeCreatedAt = s.clock.now();
  await s.setLogStartOffset(offset);
  s.highWatermark = offset;
  await afterTruncation(s);
}

async function afterTruncation(s: LogState): Promise<void> {
  // A truncation that did not reach the device would let the removed batches come back.
  await s.active.flush();
  await s.fs.syncDir(s.dir);
  s.highWatermark = Math.min(s.highWatermark, s.logEndOffset);
  if (s.epochs.truncateFromEnd(s.logEndOffset)) await s.persistEpochs();
  s.recoveryPoint = s.logEndOffset;
  await s.checkpointRecoveryPoint();
}

/** Deletes closed segments below the log start offset or past retention. Returns how many. */
export async function deleteOldSegments(s: LogState): Promise<number> {
  const closed = s.segments.slice(0, -1);
  const facts = [];
  for (let i = 0; i < closed.length; i++) {
    let largestTimestamp = await closed[i].largestTimestamp();
    // Kafka's fallback for batches without timestamps: the file's modification time.
    if (largestTimestamp < 0) {
      largestTimestamp = (await s.fs.stat(closed[i].path(LOG_SUFFIX)))?.mtimeMs ?? s.clock.now();
    }
    facts.push({
      baseOffset: closed[i].baseOffset,
      size: closed[i].size,
      largestTimestamp,
      nextOffset: s.segments[i + 1].baseOffset,
    });
  }
  const { count, reasons } = segmentsToDelete(facts, {
    config: s.config,
    logStartOffset: s.logStartOffset,
    totalBytes: s.sizeInBytes(),
    now: s.clock.now(),
  });
  if (count === 0) return 0;
  const doomed = s.segments.splice(0, count);
  const newStart = s.segments[0].baseOffset;
  if (newStart > s.logStartOffset) await s.setLogStartOffset(newStart);
  for (let i = 0; i < doomed.length; i++) await s.deleteSegment(doomed[i], reasons[i]);
  await s.fs.syncDir(s.dir);
  s.logger.info(
    { segments: count, reasons: [...new Set(reasons)], logStartOffset: s.logStartOffset },
    'Deleted old log segments',
  );
  return count;
}
