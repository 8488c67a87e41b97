import {
  RECORD_BATCH_HEADER_SIZE,
  peekBatchSize,
  lastOffsetOf,
  readBatchHeader,
  RecordBatchError,
  walkBatches,
} from './batch.ts';
import type { BatchHeader } from './batch.ts';
import type { Fs, StorageFile } from './fs.ts';
import { readFully, writeFully } from './fs.ts';
import { readIndexFiles, writeIndexTail } from './index-files.ts';
import { DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segmentPath } from './names.ts';
import { OFFSET_INDEX_ENTRY_SIZE } from './offset-index.ts';
import { scanSegment } from './segment-scan.ts';
import type { ScanResult } from './segment-scan.ts';
import { SegmentIndexes } from './segment-indexes.ts';
import type { BatchSummary } from './segment-indexes.ts';
import { TIME_INDEX_ENTRY_SIZE } from './time-index.ts';
import { StorageCorruptError } from '../common/errors.ts';
import { UncheckedRange, findCorruptBatch } from './read-check.ts';

export interface SegmentOptions {
  fs: Fs;
  dir: string;
  baseOffset: number;
  indexIntervalBytes: number;
}

/** Where a batch lies in a segment file. */
export interface BatchLocation {
  position: number;
  size: number;
  header: BatchHeader;
}

/**
 * One segment: a `.log` file of record batches exactly as stored on the wire, and its offset and time
 * indexes. Only the partition's queue mutates a segment; reads run beside it and see only bytes
 * whose write has completed (`size` moves after the write resolves).
 *
 * The indexes of a closed segment are read from disk on demand and may be dropped again (`unloadIndexes`),
 * so memory does not grow with the log; the active segment keeps its indexes in memory and writes them
 * out when it is sealed or the log closes.
 */
export class Segment {
  readonly baseOffset: number;
  readonly #fs: Fs;
  readonly #dir: string;
  readonly #interval: number;
  #file: StorageFile;
  #size: number;
  #indexes: SegmentIndexes | null = null;
  #largestTimestamp: number | null = null;
  #firstBatchTimestamp: number | null = null;
  #persistedOffsetEntries = 0;
  #persistedTimeEntries = 0;
  #readers = 0;
  #version = 0;
  /** Appends and truncations in progress: the in-memory indexes must not be dropped under them. */
  #mutating = 0;
  #deleted = false;
  #retired = false;
  #closed = false;
  /** Bytes read back from disk that no check has covered yet (read-check.ts). */
  readonly #unchecked: UncheckedRange;

  private constructor(opts: SegmentOptions, file: StorageFile, size: number) {
    this.baseOffset = opts.baseOffset;
    this.#fs = opts.fs;
    this.#dir = opts.dir;
    this.#interval = opts.indexIntervalBytes;
    this.#file = file;
    this.#size = size;
    this.#unchecked = new UncheckedRange(size);
  }

  /** A new, empty segment; any stale files of the same name are emptied. */
  static async create(opts: SegmentOptions): Promise<Segment> {
    const file = await opts.fs.open(segmentPath(opts.dir, opts.baseOffset, LOG_SUFFIX), 'write');
    await file.truncate(0);
    const seg = new Segment(opts, file, 0);
    seg.#indexes = new SegmentIndexes({
      baseOffset: opts.baseOffset,
      intervalBytes: opts.indexIntervalBytes,
    });
    for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      const f = await opts.fs.open(segmentPath(opts.dir, opts.baseOffset, suffix), 'write');
      await f.truncate(0);
      await f.close();
    }
    return seg;
  }

  /** An existing segment, trusted as it is (its indexes load when first needed). */
  static async open(opts: SegmentOptions): Promise<Segment> {
    const file = await opts.fs.open(segmentPath(opts.dir, opts.baseOffset, LOG_SUFFIX), 'write');
    return new Segment(opts, file, await file.size());
  }

  /** Changes with every append and truncation: the cleaner checks it before swapping in a rewrite. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#size;
  }

  path(suffix: string): string {
    return segmentPath(this.#dir, this.baseOffset, suffix);
  }

  /**
   * Re-validates the log and cuts the file at the first invalid byte, rebuilding the indexes from
   * it. With `from` (a checkpointed recovery point in this segment) the prefix before it is trusted,
   * with the index entries persisted alongside it. With `keepCorrupt` a cut leaves the file whole.
   */
  async recover(
    from?: { position: number; offset: number },
    opts: { keepCorrupt?: boolean } = {},
  ): Promise<ScanResult> {
    let indexes = new SegmentIndexes({ baseOffset: this.baseOffset, intervalBytes: this.#interval });
    let resume = from && from.position > 0 && from.position <= (await this.#file.size()) ? from : undefined;
    if (resume) {
      const persisted = await readIndexFiles({
        fs: this.#fs,
        pathOf: (suffix) => this.path(suffix),
        baseOffset: this.baseOffset,
        intervalBytes: this.#interval,
      });
      persisted.truncateTo(resume.offset, resume.position);
      if (persisted.offsets.isSane(resume.position)) indexes = persisted;
      else resume = undefined;
    }
    const result = await scanSegment(this.#file, { baseOffset: this.baseOffset, indexes, from: resume });
    if (result.cut && opts.keepCorrupt) {
      // A closed segment: the caller takes the log offline rather than cut acknowledged records.
      this.#size = result.fileBytes;
      return result;
    }
    if (result.validBytes < result.fileBytes) await this.#file.truncate(result.validBytes);
    this.#size = result.validBytes;
    this.#unchecked.truncate(resume ? resume.position : 0);
    this.#indexes = indexes;
    this.#persistedOffsetEntries = 0;
    this.#persistedTimeEntries = 0;
    this.#largestTimestamp = null;
    this.#firstBatchTimestamp = result.firstBatchTimestamp ?? (await this.#readFirstBatchTimestamp());
    return result;
  }

  /** After a clean shutdown: the indexes on disk are complete; nothing is re-read. */
  async resumeClean(): Promise<void> {
    await this.#loadIndexes();
    this.#persistedOffsetEntries = this.#indexes?.offsets.entries ?? 0;
    this.#persistedTimeEntries = this.#indexes?.times.entries ?? 0;
    this.#firstBatchTimestamp = await this.#readFirstBatchTimestamp();
  }

  /** One past the last offset stored, found from the last index entry on; null when empty. */
  async readNextOffset(): Promise<number | null> {
    const indexes = await this.#loadIndexes();
    const last = indexes.offsets.last();
    let next: number | null = null;
    await this.#scanHeaders(last ? last.position : 0, this.#size, (h) => {
      next = lastOffsetOf(h) + 1;
      return true;
    });
    return next;
  }

  /** Appends batches already laid out back to back in `buffers`; indexes move only once written. */
  async append(buffers: Buffer[], batches: BatchSummary[]): Promise<void> {
    this.#mutating++;
    try {
      await this.#append(buffers, batches);
    } finally {
      this.#mutating--;
    }
  }

  async #append(buffers: Buffer[], batches: BatchSummary[]): Promise<void> {
    this.#version++;
    const indexes = await this.#loadIndexes();
    const start = this.#size;
    const written = await writeFully(this.#file, buffers, start);
    let position = start;
    for (const b of batches) {
      indexes.add(b, position);
      position += b.size;
      if (this.#firstBatchTimestamp === null) this.#firstBatchTimestamp = b.maxTimestamp;
    }
    this.#largestTimestamp = null;
    this.#size = start + written;
  }

  /** The first batch whose last offset is ≥ `target`, from `minPosition` on, below `maxPosition`. */
  async locate(target: number, maxPosition = this.#size): Promise<BatchLocation | null> {
    const indexes = await this.#loadIndexes();
    const start = indexes.offsets.lookup(target).position;
    let found: BatchLocation | null = null;
    await this.#scanHeaders(start, maxPosition, (header, position, size) => {
      if (lastOffsetOf(header) >= target) {
        found = { header, position, size };
        return false;
      }
      return true;
    });
    return found;
  }

  /**
   * Whole batches from `position`, at most `maxBytes` of them, except that with `minOneBatch` the
   * first batch is returned whole even when it alone is larger (as Kafka does, so a consumer can
   * always progress).
   */
  async read(
    position: number,
    opts: { maxBytes: number; maxPosition?: number; minOneBatch: boolean },
  ): Promise<Buffer> {
    const limit = Math.min(opts.maxPosition ?? this.#size, this.#size);
    if (position >= limit) return Buffer.alloc(0);
    let want = Math.min(limit - position, opts.maxBytes);
    if (opts.minOneBatch) {
      const head = await readFully(
        this.#file,
        position,
        Math.min(RECORD_BATCH_HEADER_SIZE, limit - position),
      );
      want = Math.min(limit - position, Math.max(want, peekBatchSize(head, 0)));
    }
    if (want <= 0) return Buffer.alloc(0);
    const bytes = await readFully(this.#file, position, want);
    let sound = bytes;
    const unchecked = this.#unchecked.overlaps(position, position + bytes.length);
    if (unchecked) {
      const bad = findCorruptBatch(bytes, position, this.#unchecked, limit);
      // The batches before a bad one are served; a read that starts at it fails.
      if (bad && bad.position === position) {
        const at = bad.offset === null ? '' : `the batch at offset ${bad.offset}: `;
        throw new StorageCorruptError({
          path: this.path(LOG_SUFFIX),
          position: bad.position,
          reason: `${at}${bad.reason}`,
        });
      }
      if (bad) sound = bytes.subarray(0, bad.position - position);
    }
    const whole = this.#walk(sound, position);
    if (unchecked) this.#unchecked.checked(position, position + whole);
    return sound.subarray(0, whole);
  }

  /** walkBatches over bytes read at `position`; a header that cannot be read is corruption. */
  #walk(bytes: Buffer, position: number, visit: Parameters<typeof walkBatches>[1] = () => true): number {
    try {
      return walkBatches(bytes, visit);
    } catch (err) {
      if (!(err instanceof RecordBatchError)) throw err;
      throw new StorageCorruptError(
        { path: this.path(LOG_SUFFIX), position: position + err.position, reason: err.message },
        { cause: err },
      );
    }
  }

  /** The first batch at or after `position` whose max timestamp is ≥ `timestamp`. */
  async findByTimestamp(timestamp: number): Promise<{ location: BatchLocation; bytes: Buffer } | null> {
    const indexes = await this.#loadIndexes();
    const from = await this.locate(indexes.times.lookup(timestamp));
    if (!from) return null;
    let found: BatchLocation | null = null;
    await this.#scanHeaders(from.position, this.#size, (header, position, size) => {
      if (header.maxTimestamp >= timestamp) {
        found = { header, position, size };
        return false;
      }
      return true;
    });
    if (!found) return null;
    const location: BatchLocation = found;
    return { location, bytes: await readFully(this.#file, location.position, location.size) };
  }

  /** The largest timestamp in the segment (−1 when no batch carries one). */
  async largestTimestamp(): Promise<number> {
    if (this.#indexes) return this.#indexes.maxTimestamp;
    if (this.#largestTimestamp !== null) return this.#largestTimestamp;
    const indexes = await this.#loadIndexes();
    this.#largestTimestamp = indexes.maxTimestamp;
    return this.#largestTimestamp;
  }

  /** The timestamp a `segment.ms` roll counts from: the first batch's, when known. */
  get firstBatchTimestamp(): number | null {
    return this.#firstBatchTimestamp;
  }

  /**
   * Cuts the segment before the batch holding `offset`. Returns the first offset removed (the
   * batch's base offset when `offset` fell inside it) or null when nothing was at or after `offset`.
   */
  async truncateTo(offset: number): Promise<number | null> {
    this.#mutating++;
    try {
      return await this.#truncateTo(offset);
    } finally {
      this.#mutating--;
    }
  }

  async #truncateTo(offset: number): Promise<number | null> {
    this.#version++;
    const at = await this.locate(offset);
    if (!at) return null;
    const indexes = await this.#loadIndexes();
    await this.#file.truncate(at.position);
    this.#size = at.position;
    this.#unchecked.truncate(at.position);
    const removedFrom = Math.min(offset, at.header.baseOffset);
    indexes.truncateTo(removedFrom, at.position);
    this.#largestTimestamp = null;
    if (at.position === 0) this.#firstBatchTimestamp = null;
    return removedFrom;
  }

  /** fdatasync of the log file. */
  async flush(): Promise<void> {
    await this.#file.sync();
  }

  /**
   * Writes both indexes in full and syncs them with the log: done when the segment closes to
   * appends, so that a segment below the recovery point has indexes that can be trusted.
   */
  async sealAndPersist(): Promise<void> {
    const indexes = await this.#loadIndexes();
    indexes.seal();
    await this.#file.sync();
    await this.persistIndexes();
  }

  /**
   * Writes the index entries added since the last call and syncs them: done at each recovery-point
   * checkpoint so that recovery can resume from the checkpoint instead of the segment's start.
   */
  async persistIndexes(): Promise<void> {
    const indexes = this.#indexes;
    if (!indexes) return;
    this.#persistedOffsetEntries = await writeIndexTail(
      this.#fs,
      this.path(INDEX_SUFFIX),
      indexes.offsets.toBuffer(),
      {
        entrySize: OFFSET_INDEX_ENTRY_SIZE,
        from: Math.min(this.#persistedOffsetEntries, indexes.offsets.entries),
      },
    );
    // The last time entry may have been replaced in place, so it is always rewritten.
    this.#persistedTimeEntries = await writeIndexTail(
      this.#fs,
      this.path(TIME_INDEX_SUFFIX),
      indexes.times.toBuffer(),
      {
        entrySize: TIME_INDEX_ENTRY_SIZE,
        from: Math.max(0, Math.min(this.#persistedTimeEntries, indexes.times.entries) - 1),
      },
    );
  }

  /** Drops the in-memory indexes of a closed segment; they are read again when next needed. */
  unloadIndexes(): void {
    if (this.#mutating > 0) return;
    if (this.#indexes) this.#largestTimestamp = this.#indexes.maxTimestamp;
    this.#indexes = null;
  }

  get indexesLoaded(): boolean {
    return this.#indexes !== null;
  }

  /** Holds the file open across a read that runs outside the partition's queue. */
  acquire(): boolean {
    if (this.#deleted || this.#closed || this.#retired) return false;
    this.#readers++;
    return true;
  }

  async release(): Promise<void> {
    this.#readers--;
    if (this.#readers > 0) return;
    if (this.#deleted) await this.#unlinkNow();
    else if (this.#retired) await this.close();
  }

  /**
   * Removes the segment from disk: renamed to `.deleted` at once, unlinked once no read holds it
   * (a fetch may still be reading a segment that retention just removed).
   */
  async delete(): Promise<void> {
    if (this.#deleted) return;
    this.#deleted = true;
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      if (await this.#fs.stat(this.path(suffix)))
        await this.#fs.rename(this.path(suffix), this.path(suffix) + DELETED_SUFFIX);
    }
    if (this.#readers === 0) await this.#unlinkNow();
  }

  /**
   * Lets go of a segment whose files now belong to a replacement (compaction swapped one in under
   * the same names): closed once no read holds it, its files left alone.
   */
  async retire(): Promise<void> {
    this.#retired = true;
    if (this.#readers === 0) await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#file.close();
  }

  async #unlinkNow(): Promise<void> {
    await this.close();
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      const p = this.path(suffix) + DELETED_SUFFIX;
      if (await this.#fs.stat(p)) await this.#fs.unlink(p);
    }
  }

  async #readFirstBatchTimestamp(): Promise<number | null> {
    if (this.#size < RECORD_BATCH_HEADER_SIZE) return null;
    return readBatchHeader(await readFully(this.#file, 0, RECORD_BATCH_HEADER_SIZE), 0).maxTimestamp;
  }

  async #loadIndexes(): Promise<SegmentIndexes> {
    if (this.#indexes) return this.#indexes;
    const persisted = await readIndexFiles({
      fs: this.#fs,
      pathOf: (suffix) => this.path(suffix),
      baseOffset: this.baseOffset,
      intervalBytes: this.#interval,
    });
    // A read may have loaded them while this one waited on the disk: keep the first.
    if (this.#indexes) return this.#indexes;
    if (!persisted.offsets.isSane(this.#size)) {
      // A flush and checkpoint wrote these; if they disagree with the log anyway, the log wins.
      await this.recover();
      return this.#indexes as unknown as SegmentIndexes;
    }
    this.#indexes = persisted;
    return persisted;
  }

  /** Visits batch headers in [from, to); `visit` returns false to stop. */
  async #scanHeaders(
    from: number,
    to: number,
    visit: (h: BatchHeader, position: number, size: number) => boolean,
  ): Promise<void> {
    const chunkBytes = Math.max(16384, this.#interval * 2);
    let pos = from;
    while (pos + RECORD_BATCH_HEADER_SIZE <= to) {
      const chunk = await readFully(this.#file, pos, Math.min(chunkBytes, to - pos));
      let stopped = false;
      const walked = this.#walk(chunk, pos, (h, at, size) => {
        if (!visit(h, pos + at, size)) {
          stopped = true;
          return false;
        }
      });
      if (stopped) return;
      if (walked > 0) {
        pos += walked;
        continue;
      }
      // A batch larger than the chunk: its header alone says where the next one starts.
      const size = peekBatchSize(chunk, 0);
      if (size < RECORD_BATCH_HEADER_SIZE || pos + size > to) {
        // `to` is a batch boundary or the end of the file: no real batch is cut by it.
        throw new StorageCorruptError({
          path: this.path(LOG_SUFFIX),
          position: pos,
          reason: `a batch length of ${size} bytes does not fit between ${pos} and ${to}`,
        });
      }
      if (!visit(readBatchHeader(chunk, 0), pos, size)) return;
      pos += size;
    }
  }
}
