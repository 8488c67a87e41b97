/**
 * The disk fault injector: faults aimed at one partition's log, through the storage engine's `Fs`
 * seam while a broker runs in-process (`DiskFaults.fs` is a FaultyFs over the real file system, given
 * to the broker), and damage done to the files of a stopped broker between runs (a flipped byte in a
 * closed segment, half a batch left at the end of the active one).
 *
 * Partition directories are `<data dir>/<topic>-<partition>/` with segments named by base offset
 * (`00000000000000000042.log`), as in Kafka; everything else under the data dir is left alone, so a
 * fault on topic A leaves topic B, the offsets topic and the metadata untouched.
 */
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaultyFs, type PathFilter } from '../../src/storage/faulty-fs.ts';
import { nodeFs } from '../../src/storage/fs.ts';

/** The segment files (`.log`) of one partition's log. */
const segmentsOf =
  (topic: string, partition: number): PathFilter =>
  (path) =>
    path.includes(`/${topic}-${partition}/`) && path.endsWith('.log');

/** Faults armed on one partition's segment files, for a broker started with `fs`. */
export class DiskFaults {
  readonly fs = new FaultyFs(nodeFs);

  /** The next fsync of the partition's active segment fails with EIO. */
  failNextSync(topic: string, partition: number): void {
    this.fs.failNextSync({ code: 'EIO', filter: segmentsOf(topic, partition) });
  }

  /** Writes to the partition's segments fail with ENOSPC until `freeDisk()`, as on a full volume. */
  fillDisk(topic: string, partition: number): void {
    this.fs.failAllWrites(true, segmentsOf(topic, partition));
  }

  freeDisk(): void {
    this.fs.failAllWrites(false);
  }

  /** The next write to the partition's segments puts `bytes` bytes on disk and then fails with EIO. */
  tearNextWrite(topic: string, partition: number, bytes: number): void {
    this.fs.failNextWrite({ code: 'EIO', tornAfter: bytes, filter: segmentsOf(topic, partition) });
  }
}

/** A batch as it lies in a segment file. */
export interface StoredBatch {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
}

/** The partition's segment files, in offset order (the last is the active one). */
export function segmentFiles(dataDir: string, topic: string, partition: number): string[] {
  const dir = join(dataDir, `${topic}-${partition}`);
  return readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** The batches of a segment file, read from their headers (offset 0, length 8, last offset delta 23). */
export function batchesIn(file: string): StoredBatch[] {
  const bytes = readFileSync(file);
  const out: StoredBatch[] = [];
  for (let at = 0; at + 61 <= bytes.length;) {
    const size = 12 + bytes.readInt32BE(at + 8);
    if (size < 61 || at + size > bytes.length) break;
    const baseOffset = Number(bytes.readBigInt64BE(at));
    out.push({ position: at, size, baseOffset, lastOffset: baseOffset + bytes.readInt32BE(at + 23) });
    at += size;
  }
  return out;
}

export interface Damage {
  file: string;
  /** The damaged batch. */
  batch: StoredBatch;
  /** Where bytes were flipped or appended. */
  position: number;
}

/**
 * Flips `count` bytes in the records of the batch in the middle of the partition's closed segment
 * number `index` (0 = the oldest), as bit rot or a stray write would. The batch's header is left
 * alone, so only its CRC-32C can tell.
 */
export function corruptClosedSegment(
  dataDir: string,
  topic: string,
  partition: number,
  o: { index?: number; count?: number } = {},
): Damage {
  const files = segmentFiles(dataDir, topic, partition);
  const closed = files.slice(0, -1);
  const file = closed[o.index ?? Math.floor(closed.length / 2)];
  if (!file) throw new Error(`${topic}-${partition} has ${closed.length} closed segments`);
  const batches = batchesIn(file);
  const batch = batches[Math.floor(batches.length / 2)];
  const bytes = readFileSync(file);
  const position = batch.position + 61 + Math.floor((batch.size - 61) / 2);
  for (let i = 0; i < (o.count ?? 4); i++) bytes[position + i] ^= 0xff;
  writeFileSync(file, bytes);
  return { file, batch, position };
}

/**
 * Leaves the first `bytes` bytes of a copy of the last batch at the end of the active segment: a
 * write that never finished before the process died. Recovery must cut exactly that.
 */
export function tearActiveSegmentTail(
  dataDir: string,
  topic: string,
  partition: number,
  bytes: number,
): Damage {
  const files = segmentFiles(dataDir, topic, partition);
  const file = files[files.length - 1];
  const batches = batchesIn(file);
  const last = batches[batches.length - 1];
  if (!last) throw new Error(`the active segment of ${topic}-${partition} is empty`);
  const copy = readFileSync(file).subarray(last.position, last.position + Math.min(bytes, last.size - 1));
  const position = last.position + last.size;
  appendFileSync(file, copy);
  return { file, batch: last, position };
}
