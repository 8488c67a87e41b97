/**
 * The high watermark survives a restart (Kafka's replication-offset-checkpoint): without it a
 * restarted broker would start every partition at its log start, so as a leader it would hide
 * committed records from consumers until every follower fetched again, and as a follower it would
 * serve nothing it could vouch for. One small file per partition directory, beside the log's other
 * checkpoints; written when the high watermark moved, every few seconds and at a clean close, and
 * read once when the partition is first hosted, clamped to the log end (a crash may have cut the tail).
 */
import { readOffset, writeOffset } from '../../storage/checkpoints.ts';
import type { PartitionLog } from '../../storage/partition-log.ts';

export const HIGH_WATERMARK_FILE = 'replication-offset-checkpoint';

/** Sets the log's high watermark from its checkpoint, if there is one. */
export async function restoreHighWatermark(log: PartitionLog): Promise<void> {
  const offset = await readOffset(log.fs, `${log.dir}/${HIGH_WATERMARK_FILE}`);
  if (offset !== null && offset > log.highWatermark) log.updateHighWatermark(offset);
}

export function writeHighWatermark(log: PartitionLog, offset: number): Promise<void> {
  return writeOffset(log.fs, `${log.dir}/${HIGH_WATERMARK_FILE}`, offset);
}
