import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { systemClock } from '../common/clock.ts';
import { StorageCorruptError, StorageOfflineError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { silentLogger } from '../common/logger.ts';
import { RecordBatchError, validateRecords } from './batch.ts';
import type { BatchHeader } from './batch.ts';
import { compactLog } from './cleaner.ts';
import type { CompactionResult } from './cleaner.ts';
import type { LogConfig } from './config.ts';
import { compacts, resolveLogConfig } from './config.ts';
import { LogErrorCode, LogRequestError } from './errors.ts';
import type { Fs } from './fs.ts';
import { nodeFs } from './fs.ts';
import type { EpochEntry } from './leader-epoch-cache.ts';
import { writeAppends } from './log-appender.ts';
import type { AppendRequest, AppendResult } from './log-appender.ts';
import { loadLog } from './log-loader.ts';
import { deleteOldSegments, truncateFullyAndStartAt, truncateTo } from './log-maintenance.ts';
import type { ReadOptions, TimestampMatch } from './log-reader.ts';
import { findMaxTimestamp, findOffsetByTimestamp, readRecords } from './log-reader.ts';
import { LogState } from './log-state.ts';
import type { StorageMetrics } from './metrics.ts';
import { CLEAN_SHUTDOWN_FILE, LOG_START_OFFSET_FILE } from './names.ts';
import { SerialQueue } from './serial-queue.ts';
import { writeOffset } from './checkpoints.ts';

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  config?: Partial<LogConfig>;
  fs?: Fs;
  clock?: Clock;
  logger?: Logger;
  metrics?: StorageMetrics;
  /** Told once when an I/O failure takes the log offline (the manager marks the partition failed). */
  onOffline?: (err: StorageOfflineError) => void;
}

export type { AppendResult } from './log-appender.ts';

export interface ReadResult {
  /** Whole batches, as stored. */
  records: Buffer;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
}

/** ListOffsets' special timestamps. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;

interface PendingAppend extends AppendRequest {
  resolve: (r: AppendResult) => void;
  reject: (err: unknown) => void;
}

/**
 * One partition's log: the single owner of its segments. Every mutation runs on the log's own serial
 * queue; appends that queue up behind one another are written together (one write, one fsync — a
 * group commit). Reads run beside the queue on a snapshot of the segment list and never see a batch
 * whose write has not completed. Any failed write or fsync takes the log offline for good: nothing
 * after the failure is acknowledged, and a restart's recovery decides what survived.
 */
export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly #s: LogState;
  readonly #onOffline: ((err: StorageOfflineError) => void) | undefined;
  readonly #queue = new SerialQueue();
  #group: PendingAppend[] | null = null;
  #flushTimer: TimerHandle | null = null;
  #offline: StorageOfflineError | null = null;
  #closed = false;
  readonly #closeHooks = new Set<() => Promise<void>>();

  private constructor(opts: {
    topic: string;
    partition: number;
    state: LogState;
    onOffline?: (err: StorageOfflineError) => void;
  }) {
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.#s = opts.state;
    this.dir = opts.state.dir;
    this.#onOffline = opts.onOffline;
  }

  /** Opens (recovering if need be) or creates the log in `dir`. */
  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    const started = performance.now();
    const config = resolveLogConfig(options.config);
    const fs = options.fs ?? nodeFs;
    const clock = options.clock ?? systemClock;
    const logger = (options.logger ?? silentLogger).child({
      topic: options.topic,
      partition: options.partition,
    });
    const loaded = await loadLog({ fs, dir: options.dir, config, logger, metrics: options.metrics });
    const state = new LogState({
      dir: options.dir,
      config,
      fs,
      clock,
      logger,
      metrics: options.metrics,
      ...loaded,
    });
    const log = new PartitionLog({ ...options, state });
    if (loaded.corrupt) {
      // Opened offline, its files as they were: the next start finds the same damage.
      log.#goOffline(loaded.corrupt);
      return log;
    }
    // Recovery synced everything it kept; record that so the next crash starts from here.
    if (!loaded.cleanShutdown) await state.checkpointRecoveryPoint();
    const seconds = (performance.now() - started) / 1000;
    options.metrics?.recoverySeconds.observe(
      { shutdown: loaded.cleanShutdown ? 'clean' : 'unclean' },
      seconds,
    );
    logger.info(
      {
        logStartOffset: state.logStartOffset,
        logEndOffset: state.logEndOffset,
        segments: state.segments.length,
        clean: loaded.cleanShutdown,
        seconds,
      },
      'Loaded partition log',
    );
    return log;
  }

  /** The settings in force; replaced whole by `reconfigure`. */
  get config(): LogConfig {
    return this.#s.config;
  }

  /**
   * Applies changed topic configs (AlterConfigs). Takes effect from the next append, roll, flush or
   * retention pass; nothing already written is rewritten.
   */
  reconfigure(overrides: Partial<LogConfig>): void {
    this.#s.config = resolveLogConfig(overrides);
  }

  get logStartOffset(): number {
    return this.#s.logStartOffset;
  }
  get logEndOffset(): number {
    return this.#s.logEndOffset;
  }
  get highWatermark(): number {
    return this.#s.highWatermark;
  }
  /** Every offset below this is on the device (fsynced). */
  get recoveryPoint(): number {
    return this.#s.recoveryPoint;
  }
  get offline(): boolean {
    return this.#offline !== null;
  }
  /** The file system the log lives on, for companions that keep files in its directory. */
  get fs(): Fs {
    return this.#s.fs;
  }

  /**
   * Work for a clean close (the produce path's producer-state snapshot): run after every queued
   * append, before the clean-shutdown marker; a failing hook is logged and does not fail the close.
   * Returns a function that removes the hook.
   */
  onClose(hook: () => Promise<void>): () => void {
    this.#closeHooks.add(hook);
    return () => this.#closeHooks.delete(hook);
  }

  get segmentCount(): number {
    return this.#s.segments.length;
  }
  get leaderEpochs(): readonly EpochEntry[] {
    return this.#s.epochs.entries;
  }
  latestEpoch(): number {
    return this.#s.epochs.latestEpoch();
  }
  /** For OffsetsForLeaderEpoch. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.#s.epochs.endOffsetFor(epoch, this.#s.logEndOffset);
  }

  /** Bytes on disk in segment files. */
  sizeInBytes(): number {
    return this.#s.sizeInBytes();
  }

  /**
   * Validates `records` (CRC, lengths, magic), gives its batches consecutive offsets from the log end
   * and stamps `leaderEpoch`, writes them, and resolves once the flush policy is satisfied.
   */
  async append(records: Buffer, opts: { leaderEpoch: number }): Promise<AppendResult> {
    return this.appendValidated(records, this.validate(records), opts);
  }

  /**
   * Checks a producer's batches (CRC, lengths, magic, the client rules, max.message.bytes) without
   * appending them, so the produce path can inspect their headers (producer ids, sequences) first.
   * Throws RecordBatchError or LogRequestError.
   */
  validate(records: Buffer): BatchHeader[] {
    return this.#validate(records, true);
  }

  /**
   * Appends batches `validate` accepted, with `headers` as it returned them. Appends are written in
   * the order of these calls.
   */
  async appendValidated(
    records: Buffer,
    headers: BatchHeader[],
    opts: { leaderEpoch: number },
  ): Promise<AppendResult> {
    return this.#enqueueAppend({ records, headers, leaderEpoch: opts.leaderEpoch });
  }

  /** A follower's append: the leader's offsets and epochs are kept; they must follow the log end. */
  async appendAsFollower(records: Buffer): Promise<AppendResult> {
    const headers = this.#validate(records, false);
    return this.#enqueueAppend({ records, headers, leaderEpoch: null });
  }

  async read(offset: number, opts: ReadOptions): Promise<ReadResult> {
    this.#throwIfOffline();
    const view = this.#s.view();
    let records: Buffer;
    try {
      records = await readRecords(view, offset, opts);
    } catch (err) {
      // A batch on disk failed its checks: serve none of this log rather than bad or missing data.
      if (err instanceof StorageCorruptError) throw this.#goOffline(err);
      throw err;
    }
    this.#s.trimIndexCache();
    return {
      records,
      logStartOffset: view.logStartOffset,
      logEndOffset: view.logEndOffset,
      highWatermark: view.highWatermark,
    };
  }

  /** ListOffsets: the special timestamps −1 (latest), −2 (earliest), −3 (max timestamp) included. */
  async offsetForTimestamp(timestamp: number): Promise<TimestampMatch | null> {
    this.#throwIfOffline();
    const view = this.#s.view();
    const epoch = this.#s.epochs.latestEpoch();
    if (timestamp === LATEST_TIMESTAMP)
      return { offset: view.logEndOffset, timestamp: -1, leaderEpoch: epoch };
    if (timestamp === EARLIEST_TIMESTAMP)
      return { offset: view.logStartOffset, timestamp: -1, leaderEpoch: epoch };
    let found: TimestampMatch | null;
    try {
      found =
        timestamp === MAX_TIMESTAMP
          ? await findMaxTimestamp(view)
          : await findOffsetByTimestamp(view, timestamp);
    } catch (err) {
      if (err instanceof StorageCorruptError) throw this.#goOffline(err);
      if (err instanceof RecordBatchError) {
        const corrupt = new StorageCorruptError({ path: this.dir, reason: err.message }, { cause: err });
        throw this.#goOffline(corrupt);
      }
      throw err;
    }
    this.#s.trimIndexCache();
    return found;
  }

  /**
   * Replication's hook: the leader sets the high watermark as followers catch up; a follower takes
   * the leader's. Clamped to [log start, log end]. Returns the value now in force.
   */
  updateHighWatermark(offset: number): number {
    this.#s.highWatermark = Math.min(Math.max(offset, this.#s.logStartOffset), this.#s.logEndOffset);
    return this.#s.highWatermark;
  }

  /** Removes every offset ≥ `offset` (a follower diverged from its new leader). */
  truncateTo(offset: number): Promise<void> {
    return this.#mutate(() => truncateTo(this.#s, offset));
  }

  /** Empties the log and starts it again at `offset` (a follower too far behind its leader). */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.#mutate(() => truncateFullyAndStartAt(this.#s, offset));
  }

  /** DeleteRecords: offsets below `offset` are no longer served; whole segments below it go. */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.#mutate(async () => {
      if (offset > this.#s.highWatermark || offset < 0) {
        throw new LogRequestError(
          LogErrorCode.OFFSET_OUT_OF_RANGE,
          `cannot delete records before ${offset}: the high watermark is ${this.#s.highWatermark}`,
        );
      }
      if (offset > this.#s.logStartOffset) await this.#s.setLogStartOffset(offset);
      await deleteOldSegments(this.#s);
      return this.#s.logStartOffset;
    });
  }

  /** Applies retention (time, size, log start offset). Returns how many segments were deleted. */
  applyRetention(): Promise<number> {
    return this.#mutate(() => deleteOldSegments(this.#s));
  }

  /**
   * Compacts the closed segments (cleanup.policy compact). The rewriting runs beside the queue; only
   * the swap of finished segments goes through it, so appends carry on meanwhile.
   */
  async compact(): Promise<CompactionResult> {
    this.#throwIfOffline();
    if (!compacts(this.config))
      return { segmentsRewritten: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
    const result = await compactLog({
      fs: this.#s.fs,
      dir: this.dir,
      config: this.config,
      now: this.#s.clock.now(),
      closedSegments: () => this.#s.segments.slice(0, -1),
      swap: (replace) => this.#mutate(() => replace(this.#s.segments)),
    });
    this.#s.metrics?.compactionRemovedRecords.inc(result.recordsRemoved);
    return result;
  }

  /** Flushes everything written so far and checkpoints the recovery point. */
  flush(): Promise<void> {
    return this.#mutate(async () => {
      await this.#flushNow();
      await this.#s.checkpointRecoveryPoint();
    });
  }

  /**
   * Clean shutdown: waits for queued work, flushes, writes indexes and checkpoints, then the marker
   * that lets the next start skip recovery.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#run(async () => {
      this.#closed = true;
      this.#cancelFlushTimer();
      if (!this.#offline) {
        for (const hook of this.#closeHooks) {
          try {
            await hook();
          } catch (err) {
            this.#s.logger.warn({ err }, 'A close hook of a partition log failed');
          }
        }
        try {
          await this.#flushNow();
          await this.#s.active.sealAndPersist();
          await this.#s.checkpointRecoveryPoint();
          await writeOffset(this.#s.fs, `${this.dir}/${LOG_START_OFFSET_FILE}`, this.#s.logStartOffset);
          await this.#s.persistEpochs();
          const marker = await this.#s.fs.open(`${this.dir}/${CLEAN_SHUTDOWN_FILE}`, 'write');
          await marker.sync();
          await marker.close();
          await this.#s.fs.syncDir(this.dir);
        } catch (err) {
          this.#goOffline(err);
        }
      }
      for (const s of this.#s.segments) await s.close();
    });
  }

  // ---- internals ----

  #validate(records: Buffer, fromClient: boolean): BatchHeader[] {
    this.#throwIfOffline();
    const headers = validateRecords(records, { maxBatchBytes: this.config.maxMessageBytes, fromClient });
    if (headers.length === 0)
      throw new LogRequestError(LogErrorCode.INVALID_RECORD, 'no record batches to append');
    if (records.length > this.config.segmentBytes) {
      throw new LogRequestError(
        LogErrorCode.RECORD_LIST_TOO_LARGE,
        `${records.length} bytes of batches do not fit in a segment of ${this.config.segmentBytes}`,
      );
    }
    return headers;
  }

  #throwIfOffline(): void {
    if (this.#offline) throw this.#offline;
    if (this.#closed) throw new StorageOfflineError({ topic: this.topic, partition: this.partition });
  }

  /** Queues a non-append task; an append queued after it must not join an earlier append group. */
  #run<T>(task: () => Promise<T>): Promise<T> {
    this.#group = null;
    return this.#queue.run(task);
  }

  /** Runs a mutation on the queue; an I/O failure in it takes the log offline. */
  #mutate<T>(task: () => Promise<T>): Promise<T> {
    return this.#run(async () => {
      this.#throwIfOffline();
      try {
        return await task();
      } catch (err) {
        if (err instanceof LogRequestError) throw err;
        throw this.#goOffline(err);
      }
    });
  }

  #enqueueAppend(req: Omit<PendingAppend, 'resolve' | 'reject'>): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const item: PendingAppend = { ...req, resolve, reject };
      if (this.#group) {
        this.#group.push(item);
        return;
      }
      const group = [item];
      this.#group = group;
      void this.#queue.run(async () => {
        if (this.#group === group) this.#group = null;
        await this.#appendGroup(group);
      });
    });
  }

  async #appendGroup(group: PendingAppend[]): Promise<void> {
    if (this.#offline || this.#closed) {
      const err = this.#offline ?? new StorageOfflineError({ topic: this.topic, partition: this.partition });
      for (const item of group) item.reject(err);
      return;
    }
    let outcomes: Array<AppendResult | LogRequestError>;
    try {
      outcomes = await writeAppends(this.#s, group);
      await this.#maybeFlush();
    } catch (err) {
      const offline = this.#goOffline(err);
      for (const item of group) item.reject(offline);
      return;
    }
    group.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome instanceof LogRequestError) item.reject(outcome);
      else item.resolve(outcome);
    });
  }

  async #maybeFlush(): Promise<void> {
    const unflushed = this.#s.logEndOffset - this.#s.recoveryPoint;
    if (unflushed <= 0) return;
    if (unflushed >= this.config.flush.messages) {
      await this.#flushNow();
      if (this.#s.clock.now() - this.#s.lastCheckpointAt >= this.config.checkpointIntervalMs) {
        await this.#s.checkpointRecoveryPoint();
      }
      return;
    }
    if (Number.isFinite(this.config.flush.ms) && this.#flushTimer === null) {
      this.#flushTimer = this.#s.clock.setTimeout(() => {
        this.#flushTimer = null;
        this.flush().catch(() => undefined);
      }, this.config.flush.ms);
    }
  }

  async #flushNow(): Promise<void> {
    await this.#s.flushNow();
    this.#cancelFlushTimer();
  }

  #cancelFlushTimer(): void {
    if (this.#flushTimer !== null) this.#s.clock.clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
  }

  #goOffline(err: unknown): StorageOfflineError {
    if (this.#offline) return this.#offline;
    const offline = new StorageOfflineError({ topic: this.topic, partition: this.partition }, { cause: err });
    this.#offline = offline;
    this.#cancelFlushTimer();
    this.#s.metrics?.offlinePartitions.inc();
    if (err instanceof StorageCorruptError) {
      const { path, position } = err.params;
      this.#s.logger.error({ err, file: path, position }, `Took partition log offline: ${err.message}`);
    } else {
      this.#s.logger.error({ err }, 'Took partition log offline after an I/O failure');
    }
    this.#onOffline?.(offline);
    return offline;
  }
}
