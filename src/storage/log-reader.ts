import { StorageCorruptError } from '../common/errors.ts';
import { decodeBatch } from './batch.ts';
import { offsetOutOfRange } from './errors.ts';
import type { Segment } from './segment.ts';

/** A consistent view of the log taken at the start of a read; segments may change behind it. */
export interface LogView {
  segments: readonly Segment[];
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
}

export type Isolation = 'log-end' | 'high-watermark';

export interface ReadOptions {
  maxBytes: number;
  /** 'high-watermark' for consumers (only committed data); 'log-end' for followers. */
  isolation?: Isolation;
}

/** The index of the segment that would hold `offset`: the last whose base offset is ≤ it. */
export function floorSegment(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid].baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Whole batches from the one holding `offset` on, across segments, up to `maxBytes` (the first batch
 * whole even when larger). Each segment is held open while read, so retention deleting it meanwhile
 * does not pull the file away.
 */
export async function readRecords(view: LogView, offset: number, opts: ReadOptions): Promise<Buffer> {
  if (offset < view.logStartOffset || offset > view.logEndOffset) {
    throw offsetOutOfRange(offset, view.logStartOffset, view.logEndOffset);
  }
  const upper = opts.isolation === 'high-watermark' ? view.highWatermark : view.logEndOffset;
  const chunks: Buffer[] = [];
  let remaining = opts.maxBytes;
  let first = true;
  for (let i = floorSegment(view.segments, offset); i < view.segments.length; i++) {
    const seg = view.segments[i];
    if (seg.baseOffset >= upper || (!first && remaining <= 0)) break;
    if (!seg.acquire()) continue;
    try {
      const next = view.segments[i + 1];
      const maxPosition =
        next && next.baseOffset <= upper ? seg.size : ((await seg.locate(upper))?.position ?? seg.size);
      const start = first ? await seg.locate(offset, maxPosition) : { position: 0 };
      if (!start) continue;
      const bytes = await seg.read(start.position, { maxBytes: remaining, maxPosition, minOneBatch: first });
      if (bytes.length > 0) {
        chunks.push(bytes);
        remaining -= bytes.length;
        first = false;
      }
      if (start.position + bytes.length < maxPosition) break;
    } catch (err) {
      // A bad batch after some sound ones: serve those; the read that starts at it fails.
      if (err instanceof StorageCorruptError && chunks.length > 0) break;
      throw err;
    } finally {
      await seg.release();
    }
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

export interface TimestampMatch {
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}

/** The first record with timestamp ≥ `timestamp` (ListOffsets), or null when there is none. */
export async function findOffsetByTimestamp(
  view: LogView,
  timestamp: number,
): Promise<TimestampMatch | null> {
  for (let i = floorSegment(view.segments, view.logStartOffset); i < view.segments.length; i++) {
    const seg = view.segments[i];
    if (!seg.acquire()) continue;
    try {
      if ((await seg.largestTimestamp()) < timestamp) continue;
      const found = await seg.findByTimestamp(timestamp);
      if (!found) continue;
      const batch = decodeBatch(found.bytes, 0);
      for (const r of batch.records) {
        if (r.timestamp >= timestamp && r.offset >= view.logStartOffset && r.offset < view.logEndOffset) {
          return { offset: r.offset, timestamp: r.timestamp, leaderEpoch: batch.partitionLeaderEpoch };
        }
      }
    } finally {
      await seg.release();
    }
  }
  return null;
}

/** The record with the largest timestamp (ListOffsets MAX_TIMESTAMP, KIP-734), or null when empty. */
export async function findMaxTimestamp(view: LogView): Promise<TimestampMatch | null> {
  let best: { seg: Segment; ts: number } | null = null;
  for (const seg of view.segments) {
    const ts = await seg.largestTimestamp();
    if (ts >= 0 && (!best || ts > best.ts)) best = { seg, ts };
  }
  if (!best || !best.seg.acquire()) return null;
  try {
    const found = await best.seg.findByTimestamp(best.ts);
    if (!found) return null;
    const batch = decodeBatch(found.bytes, 0);
    const r =
      batch.records.find((rec) => rec.timestamp === best.ts) ?? batch.records[batch.records.length - 1];
    return r ? { offset: r.offset, timestamp: r.timestamp, leaderEpoch: batch.partitionLeaderEpoch } : null;
  } finally {
    await best.seg.release();
  }
}
