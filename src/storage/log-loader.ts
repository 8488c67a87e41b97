import { StorageCorruptError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { readEpochEntries, readOffset, readRecoveryPoint } from './checkpoints.ts';
import type { RecoveryPoint } from './checkpoints.ts';
import type { LogConfig } from './config.ts';
import type { Fs } from './fs.ts';
import { LeaderEpochCache } from './leader-epoch-cache.ts';
import type { StorageMetrics } from './metrics.ts';
import {
  CLEANED_SUFFIX,
  CLEAN_SHUTDOWN_FILE,
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LEADER_EPOCH_FILE,
  LOG_START_OFFSET_FILE,
  LOG_SUFFIX,
  RECOVERY_POINT_FILE,
  SWAP_SUFFIX,
  TIME_INDEX_SUFFIX,
  parseSegmentName,
  segmentPath,
} from './names.ts';
import { Segment } from './segment.ts';

export interface LoadOptions {
  fs: Fs;
  dir: string;
  config: LogConfig;
  logger: Logger;
  metrics?: StorageMetrics;
}

export interface LoadedLog {
  segments: Segment[];
  logStartOffset: number;
  logEndOffset: number;
  epochs: LeaderEpochCache;
  cleanShutdown: boolean;
  /** Bytes cut off by recovery (0 after a clean shutdown). */
  truncatedBytes: number;
  /**
   * A bad batch in a closed segment, which recovery does not cut (the records after it were
   * acknowledged): the log must open offline, its files left as they are.
   */
  corrupt: StorageCorruptError | null;
}

/**
 * Opens a partition directory. After a clean shutdown everything on disk is trusted (no scan). After
 * a crash, every segment from the recovery point on is re-validated batch by batch and its indexes
 * rebuilt; the active segment is cut at the first invalid byte (a torn or corrupt tail, as Kafka
 * does). A bad batch in a closed segment is not cut: that would delete acknowledged records after it
 * (and every later segment), so the log is reported corrupt and left whole for an operator or a
 * replica to repair. Leftovers of an interrupted compaction are completed (`.swap`) or discarded
 * (`.cleaned`).
 */
export async function loadLog(opts: LoadOptions): Promise<LoadedLog> {
  const { fs, dir } = opts;
  await fs.mkdir(dir);
  const markerPath = `${dir}/${CLEAN_SHUTDOWN_FILE}`;
  const clean = (await fs.stat(markerPath)) !== null;
  const mustRecover = new Set<number>();
  const bases = await tidyDirectory(fs, dir, mustRecover);

  const segOpts = { fs, dir, indexIntervalBytes: opts.config.indexIntervalBytes };
  const segments: Segment[] = [];
  for (const base of bases) segments.push(await Segment.open({ ...segOpts, baseOffset: base }));
  const checkpointedStart = await readOffset(fs, `${dir}/${LOG_START_OFFSET_FILE}`);
  if (segments.length === 0)
    segments.push(await Segment.create({ ...segOpts, baseOffset: checkpointedStart ?? 0 }));

  const rp = clean ? await readRecoveryPoint(fs, `${dir}/${RECOVERY_POINT_FILE}`) : null;
  const active = segments[segments.length - 1];
  let logEndOffset: number;
  let truncatedBytes = 0;
  let corrupt: StorageCorruptError | null = null;
  if (clean && mustRecover.size === 0) {
    await active.resumeClean();
    logEndOffset =
      rp && rp.segmentBaseOffset === active.baseOffset && rp.position === active.size
        ? rp.offset
        : ((await active.readNextOffset()) ?? active.baseOffset);
  } else {
    const unclean = clean ? null : await readRecoveryPoint(fs, `${dir}/${RECOVERY_POINT_FILE}`);
    const recovered = await recoverSegments({ ...opts, segments, rp: unclean, mustRecover });
    logEndOffset = recovered.logEndOffset;
    truncatedBytes = recovered.truncatedBytes;
    corrupt = recovered.corrupt;
  }

  const first = segments[0];
  const logStartOffset = Math.min(
    Math.max(checkpointedStart ?? first.baseOffset, first.baseOffset),
    logEndOffset,
  );
  const epochs = new LeaderEpochCache(await readEpochEntries(fs, `${dir}/${LEADER_EPOCH_FILE}`));
  epochs.truncateFromEnd(logEndOffset);
  epochs.truncateFromStart(logStartOffset);
  if (clean && !corrupt) {
    // From the first write on, this run's shutdown is unclean until it proves otherwise.
    await fs.unlink(markerPath);
    await fs.syncDir(dir);
  }
  return { segments, logStartOffset, logEndOffset, epochs, cleanShutdown: clean, truncatedBytes, corrupt };
}

/** Removes what a crash can leave behind and returns the segments' base offsets in order. */
async function tidyDirectory(fs: Fs, dir: string, mustRecover: Set<number>): Promise<number[]> {
  const names = await fs.readdir(dir);
  for (const name of names) {
    if (name.endsWith(CLEANED_SUFFIX) || name.endsWith(DELETED_SUFFIX) || name.endsWith('.tmp')) {
      await fs.unlink(`${dir}/${name}`);
    }
  }
  for (const name of names) {
    const base = parseSegmentName(name, LOG_SUFFIX + SWAP_SUFFIX);
    if (base === null) continue;
    // A complete rewrite from compaction: finish the swap; its indexes may be the old ones.
    await fs.rename(`${dir}/${name}`, segmentPath(dir, base, LOG_SUFFIX));
    mustRecover.add(base);
  }
  const current = await fs.readdir(dir);
  const bases = current
    .map((n) => parseSegmentName(n, LOG_SUFFIX))
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);
  const known = new Set(bases);
  for (const name of current) {
    const base = parseSegmentName(name, INDEX_SUFFIX) ?? parseSegmentName(name, TIME_INDEX_SUFFIX);
    if (base !== null && !known.has(base)) await fs.unlink(`${dir}/${name}`);
  }
  if (mustRecover.size > 0) await fs.syncDir(dir);
  return bases;
}

async function recoverSegments(
  opts: LoadOptions & { segments: Segment[]; rp: RecoveryPoint | null; mustRecover: Set<number> },
): Promise<{ logEndOffset: number; truncatedBytes: number; corrupt: StorageCorruptError | null }> {
  const { segments, rp } = opts;
  let truncatedBytes = 0;
  let logEndOffset = segments[0].baseOffset;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const isLast = i === segments.length - 1;
    const next = segments[i + 1];
    if (rp && next && next.baseOffset <= rp.offset && !opts.mustRecover.has(seg.baseOffset)) {
      // Wholly below the recovery point: flushed, with indexes written and synced when it rolled.
      logEndOffset = next.baseOffset;
      continue;
    }
    const from =
      rp && rp.segmentBaseOffset === seg.baseOffset && !opts.mustRecover.has(seg.baseOffset)
        ? { position: rp.position, offset: rp.offset }
        : undefined;
    const result = await seg.recover(from, { keepCorrupt: !isLast });
    logEndOffset = result.nextOffset ?? seg.baseOffset;
    if (result.cut && !isLast) {
      // Later segments stay on disk, closed here: the log opens offline.
      for (const later of segments.splice(i + 1)) await later.close();
      const corrupt = new StorageCorruptError({
        path: seg.path(LOG_SUFFIX),
        position: result.cut.position,
        reason: `the batch at offset ${logEndOffset}, in a closed segment: ${result.cut.reason}`,
      });
      return { logEndOffset, truncatedBytes, corrupt };
    }
    await seg.flush();
    if (!result.cut) continue;
    const cut = result.cut;
    const kind = cut.kind;
    let bytes = result.fileBytes - result.validBytes;
    const dropped = segments.splice(i + 1);
    for (const later of dropped) {
      bytes += later.size;
      await later.delete();
    }
    truncatedBytes += bytes;
    opts.metrics?.recoveryTruncatedBytes.inc({ kind }, bytes);
    const details = {
      file: seg.path(LOG_SUFFIX),
      offset: logEndOffset,
      position: cut.position,
      reason: cut.reason,
      truncatedBytes: bytes,
      segmentsDeleted: dropped.length,
    };
    const where = `${details.file} at byte ${cut.position} (offset ${logEndOffset})`;
    if (kind === 'corrupt')
      opts.logger.warn(
        details,
        `Cut partition log at a corrupt batch during recovery: ${where}: ${cut.reason}`,
      );
    else
      opts.logger.info(details, `Cut a torn write from the end of partition log during recovery: ${where}`);
    break;
  }
  return { logEndOffset, truncatedBytes, corrupt: null };
}
