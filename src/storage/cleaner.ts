import {
  batchCompression,
  batchTimestampType,
  decodeBatch,
  encodeBatch,
  isControlBatch,
  isTransactionalBatch,
  lastOffsetOf,
  walkBatches,
} from './batch.ts';
import type { BatchHeader } from './batch.ts';
import type { LogConfig } from './config.ts';
import type { Fs } from './fs.ts';
import { writeFully } from './fs.ts';
import {
  CLEANED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  SWAP_SUFFIX,
  TIME_INDEX_SUFFIX,
  segmentPath,
} from './names.ts';
import { Segment } from './segment.ts';
import { SegmentIndexes } from './segment-indexes.ts';

export interface CompactionResult {
  segmentsRewritten: number;
  recordsRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
}

export interface CompactOptions {
  fs: Fs;
  dir: string;
  config: LogConfig;
  now: number;
  /** The log's closed segments now (the active segment is never cleaned). */
  closedSegments: () => Segment[];
  /** Runs `replace` on the log's queue with its live segment list. */
  swap: (replace: (segments: Segment[]) => Promise<void>) => Promise<void>;
}

const READ_CHUNK = 1 << 20;

/** Calls `visit` with every batch of a segment, in order, as stored. */
async function forEachBatch(seg: Segment, visit: (bytes: Buffer, h: BatchHeader) => void): Promise<void> {
  let position = 0;
  while (position < seg.size) {
    const chunk = await seg.read(position, { maxBytes: READ_CHUNK, minOneBatch: true });
    if (chunk.length === 0) break;
    walkBatches(chunk, (h, at, size) => visit(chunk.subarray(at, at + size), h));
    position += chunk.length;
  }
}

/**
 * Log compaction (cleanup.policy compact): in the closed segments keep only the latest record of
 * each key. Offsets never change — a rewritten batch keeps its base offset and last offset delta,
 * so a consumer's position stays valid. Tombstones (null values) survive until their segment is
 * older than delete.retention.ms, giving consumers that long to see the delete. Control batches are
 * kept as they are.
 *
 * Each segment is rewritten beside the log to `<base>.log.cleaned` with fresh indexes, then swapped
 * in on the log's queue: renamed to `.swap`, its indexes put in place, renamed over the original.
 * A crash part-way leaves either the original (a `.cleaned` leftover is deleted at start-up) or a
 * complete `.swap` that start-up finishes installing.
 */
export async function compactLog(opts: CompactOptions): Promise<CompactionResult> {
  const result: CompactionResult = { segmentsRewritten: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
  const segments = opts.closedSegments().filter((s) => s.acquire());
  try {
    const latest = new Map<string, number>();
    for (const seg of segments) {
      await forEachBatch(seg, (bytes, h) => {
        if (isControlBatch(h.attributes)) return;
        for (const r of decodeBatch(bytes).records) if (r.key) latest.set(r.key.toString('latin1'), r.offset);
      });
    }
    for (const seg of segments) {
      const version = seg.version;
      const tombstonesExpire = (await seg.largestTimestamp()) < opts.now - opts.config.deleteRetentionMs;
      const rewritten = await rewriteSegment(seg, { latest, tombstonesExpire });
      if (rewritten.removed === 0) continue;
      await writeCleaned(opts, seg, rewritten);
      let swapped = false;
      await opts.swap(async (live) => {
        const i = live.indexOf(seg);
        // Truncated, deleted or written since it was read: the rewrite no longer describes it.
        if (i < 0 || i === live.length - 1 || seg.version !== version) return;
        live[i] = await installCleaned(opts, seg);
        swapped = true;
      });
      if (!swapped) {
        await discardCleaned(opts, seg.baseOffset);
        continue;
      }
      await seg.retire();
      result.segmentsRewritten++;
      result.recordsRemoved += rewritten.removed;
      result.bytesBefore += seg.size;
      result.bytesAfter += rewritten.bytes;
    }
  } finally {
    for (const seg of segments) await seg.release();
  }
  return result;
}

interface Rewritten {
  batches: Buffer[];
  bytes: number;
  removed: number;
}

async function rewriteSegment(
  seg: Segment,
  rule: { latest: Map<string, number>; tombstonesExpire: boolean },
): Promise<Rewritten> {
  const out: Rewritten = { batches: [], bytes: 0, removed: 0 };
  await forEachBatch(seg, (bytes, h) => {
    if (isControlBatch(h.attributes)) {
      out.batches.push(bytes);
      return;
    }
    const batch = decodeBatch(bytes);
    const kept = batch.records.filter((r) => {
      if (!r.key) return true;
      if (rule.latest.get(r.key.toString('latin1')) !== r.offset) return false;
      return !(r.value === null && rule.tombstonesExpire);
    });
    out.removed += batch.records.length - kept.length;
    if (kept.length === batch.records.length) {
      out.batches.push(bytes);
      return;
    }
    if (kept.length === 0) return;
    out.batches.push(
      encodeBatch({
        baseOffset: h.baseOffset,
        partitionLeaderEpoch: h.partitionLeaderEpoch,
        compression: batchCompression(h.attributes) ?? 'none',
        timestampType: batchTimestampType(h.attributes),
        transactional: isTransactionalBatch(h.attributes),
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        baseSequence: h.baseSequence,
        lastOffsetDelta: lastOffsetOf(h) - h.baseOffset,
        maxTimestamp: batchTimestampType(h.attributes) === 'log-append' ? h.maxTimestamp : undefined,
        records: kept.map((r) => ({
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestamp: r.timestamp,
          offsetDelta: r.offset - h.baseOffset,
        })),
      }),
    );
  });
  for (const b of out.batches) out.bytes += b.length;
  return out;
}

async function writeFile(fs: Fs, path: string, data: Buffer[]): Promise<void> {
  const f = await fs.open(path, 'write');
  try {
    await f.truncate(0);
    if (data.length > 0) await writeFully(f, data, 0);
    await f.sync();
  } finally {
    await f.close();
  }
}

async function writeCleaned(opts: CompactOptions, seg: Segment, rewritten: Rewritten): Promise<void> {
  const indexes = new SegmentIndexes({
    baseOffset: seg.baseOffset,
    intervalBytes: opts.config.indexIntervalBytes,
  });
  let position = 0;
  for (const b of rewritten.batches) {
    walkBatches(b, (h, _at, size) => {
      indexes.add(
        { baseOffset: h.baseOffset, lastOffset: lastOffsetOf(h), maxTimestamp: h.maxTimestamp, size },
        position,
      );
    });
    position += b.length;
  }
  indexes.seal();
  const path = (suffix: string): string => segmentPath(opts.dir, seg.baseOffset, suffix) + CLEANED_SUFFIX;
  await writeFile(opts.fs, path(LOG_SUFFIX), rewritten.batches);
  await writeFile(opts.fs, path(INDEX_SUFFIX), [indexes.offsets.toBuffer()]);
  await writeFile(opts.fs, path(TIME_INDEX_SUFFIX), [indexes.times.toBuffer()]);
}

async function installCleaned(opts: CompactOptions, seg: Segment): Promise<Segment> {
  const { fs, dir } = opts;
  const base = seg.baseOffset;
  const logPath = segmentPath(dir, base, LOG_SUFFIX);
  // From here a crash finishes the swap at start-up (which rebuilds the indexes of a .swap segment).
  await fs.rename(logPath + CLEANED_SUFFIX, logPath + SWAP_SUFFIX);
  await fs.syncDir(dir);
  for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
    const p = segmentPath(dir, base, suffix);
    await fs.rename(p + CLEANED_SUFFIX, p);
  }
  await fs.rename(logPath + SWAP_SUFFIX, logPath);
  await fs.syncDir(dir);
  return Segment.open({ fs, dir, baseOffset: base, indexIntervalBytes: opts.config.indexIntervalBytes });
}

async function discardCleaned(opts: CompactOptions, base: number): Promise<void> {
  for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
    const p = segmentPath(opts.dir, base, suffix) + CLEANED_SUFFIX;
    if (await opts.fs.stat(p)) await opts.fs.unlink(p);
  }
}
