import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import { writeEpochEntries, writeOffset, writeRecoveryPoint } from './checkpoints.ts';
import type { LogConfig } from './config.ts';
import type { Fs } from './fs.ts';
import type { LeaderEpochCache } from './leader-epoch-cache.ts';
import type { LogView } from './log-reader.ts';
import type { StorageMetrics } from './metrics.ts';
import { LEADER_EPOCH_FILE, LOG_START_OFFSET_FILE, RECOVERY_POINT_FILE } from './names.ts';
import type { DeletionReason } from './retention.ts';
import { Segment } from './segment.ts';

/** How many closed segments keep their indexes in memory for reads. */
const LOADED_INDEX_LIMIT = 4;

export interface LogStateInit {
  dir: string;
  config: LogConfig;
  fs: Fs;
  clock: Clock;
  logger: Logger;
  metrics: StorageMetrics | undefined;
  segments: Segment[];
  logStartOffset: number;
  logEndOffset: number;
  epochs: LeaderEpochCache;
}

/**
 * A partition log's state and the durable steps that change it (roll, flush, checkpoints, segment
 * deletion). Only the owning PartitionLog's serial queue calls the async methods; reads take a
 * `view()` snapshot instead.
 */
export class LogState {
  readonly dir: string;
  /** Replaced whole when the topic's configs change (PartitionLog.reconfigure). */
  config: LogConfig;
  readonly fs: Fs;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: StorageMetrics | undefined;
  segments: Segment[];
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  /** Every offset below it is on the device. Invariant: never below the active segment's base. */
  recoveryPoint: number;
  lastCheckpointAt: number;
  /** What segment.ms counts from. */
  activeCreatedAt: number;
  epochs: LeaderEpochCache;
  readonly loadedIndexes = new Set<Segment>();

  constructor(init: LogStateInit) {
    this.dir = init.dir;
    this.config = init.config;
    this.fs = init.fs;
    this.clock = init.clock;
    this.logger = init.logger;
    this.metrics = init.metrics;
    this.segments = init.segments;
    this.logStartOffset = init.logStartOffset;
    this.logEndOffset = init.logEndOffset;
    this.highWatermark = init.logStartOffset;
    this.recoveryPoint = init.logEndOffset;
    this.epochs = init.epochs;
    this.lastCheckpointAt = init.clock.now();
    const first = this.active.firstBatchTimestamp;
    const now = init.clock.now();
    this.activeCreatedAt = first !== null && first >= 0 && first <= now ? first : now;
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  view(): LogView {
    return {
      segments: this.segments.slice(),
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
      highWatermark: this.highWatermark,
    };
  }

  sizeInBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  newSegment(baseOffset: number): Promise<Segment> {
    return Segment.create({
      fs: this.fs,
      dir: this.dir,
      baseOffset,
      indexIntervalBytes: this.config.indexIntervalBytes,
    });
  }

  /** Seals the active segment (log and indexes synced) and starts a new one at `baseOffset`. */
  async roll(baseOffset: number): Promise<void> {
    const old = this.active;
    await old.sealAndPersist();
    this.segments.push(await this.newSegment(baseOffset));
    await this.fs.syncDir(this.dir);
    this.activeCreatedAt = this.clock.now();
    this.recoveryPoint = baseOffset;
    this.loadedIndexes.add(old);
    this.trimIndexCache();
    await this.checkpointRecoveryPoint();
    this.logger.debug(
      { segment: baseOffset, previous: old.baseOffset, previousBytes: old.size },
      'Rolled new log segment',
    );
  }

  /** fsyncs the active segment (earlier ones were synced when they rolled). */
  async flushNow(): Promise<void> {
    if (this.recoveryPoint >= this.logEndOffset) return;
    const end = this.logEndOffset;
    const stop = this.metrics?.flushSeconds.startTimer();
    await this.active.flush();
    stop?.();
    this.recoveryPoint = end;
  }

  /**
   * Records how far the log is known to be on the device, with the active segment's indexes, so
   * that recovery after a crash resumes from there instead of the segment's start.
   */
  async checkpointRecoveryPoint(): Promise<void> {
    const active = this.active;
    await active.persistIndexes();
    // The byte position is known only when everything is flushed; otherwise recover the segment.
    const position = this.recoveryPoint >= this.logEndOffset ? active.size : 0;
    await writeRecoveryPoint(this.fs, `${this.dir}/${RECOVERY_POINT_FILE}`, {
      offset: this.recoveryPoint,
      segmentBaseOffset: active.baseOffset,
      position,
    });
    this.lastCheckpointAt = this.clock.now();
  }

  async persistEpochs(): Promise<void> {
    await writeEpochEntries(this.fs, `${this.dir}/${LEADER_EPOCH_FILE}`, this.epochs.entries);
  }

  async setLogStartOffset(offset: number): Promise<void> {
    this.logStartOffset = offset;
    this.highWatermark = Math.max(this.highWatermark, offset);
    await writeOffset(this.fs, `${this.dir}/${LOG_START_OFFSET_FILE}`, offset);
    if (this.epochs.truncateFromStart(offset)) await this.persistEpochs();
  }

  async deleteSegment(seg: Segment, reason: DeletionReason | 'truncation'): Promise<void> {
    this.loadedIndexes.delete(seg);
    await seg.delete();
    this.metrics?.segmentsDeleted.inc({ reason });
  }

  /** Keeps the indexes of only the few closed segments read most recently in memory. */
  trimIndexCache(): void {
    const active = this.active;
    for (const seg of this.segments) {
      if (seg !== active && seg.indexesLoaded && !this.loadedIndexes.has(seg)) this.loadedIndexes.add(seg);
    }
    for (const seg of this.loadedIndexes) {
      if (this.loadedIndexes.size <= LOADED_INDEX_LIMIT) break;
      this.loadedIndexes.delete(seg);
      if (seg !== this.active) seg.unloadIndexes();
    }
  }
}
