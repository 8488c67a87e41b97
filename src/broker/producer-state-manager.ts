/**
 * Where each partition's producer state (./producer-state.ts) comes from and goes to.
 *
 * Loading, on the first produce to a partition after the broker starts: the newest snapshot at or
 * below the log end (./producer-state-snapshot.ts), then the batch headers of the log from the
 * snapshot's offset to its end. What that costs is the bytes since the snapshot: snapshots are
 * written every `snapshotIntervalBytes` appended (16 MiB by default) and when the log closes
 * cleanly, so a clean restart replays nothing and a crash replays at most about that much. With no
 * snapshot at all (a log written before this existed, or every snapshot damaged) the whole log is
 * read once.
 *
 * A snapshot's offset is the log end when it is taken, lowered to where any batch admitted but not
 * yet reflected could land: everything below it is in the snapshot, and the replay is idempotent, so
 * a low offset costs a little reading and never a lost or doubled batch.
 *
 * Producers silent for producer.id.expiration.ms are forgotten, checked at most every
 * `expirationCheckIntervalMs` (Kafka's producer.id.expiration.check.interval.ms, 10 minutes) as
 * appends come in, and at load.
 */
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import { walkBatches } from '../storage/batch.ts';
import { LogErrorCode, LogRequestError } from '../storage/errors.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import { PartitionProducerState } from './producer-state.ts';
import { readLatestSnapshot, writeSnapshot } from './producer-state-snapshot.ts';

const MiB = 1024 * 1024;
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000;

export interface ProducerStateManagerOptions {
  clock: Clock;
  logger: Logger;
  /** producer.id.expiration.ms */
  expirationMs?: number;
  expirationCheckIntervalMs?: number;
  snapshotIntervalBytes?: number;
  /** Bytes read at a time when replaying the log. */
  replayChunkBytes?: number;
}

interface Tracked {
  log: PartitionLog;
  state: PartitionProducerState;
  loadStats: LoadStats;
  bytesSinceSnapshot: number;
  /** The offset of the snapshot on disk, -1 when there is none. */
  snapshotOffset: number;
  lastExpiryCheck: number;
  /** Snapshot writes of one partition run one after another. */
  writing: Promise<void>;
  removeCloseHook: () => void;
}

/** What the load of a partition's state found and read. */
export interface LoadStats {
  snapshotOffset: number | null;
  replayedBytes: number;
  replayedBatches: number;
  producers: number;
}

export class ProducerStateManager {
  readonly #o: Required<Omit<ProducerStateManagerOptions, 'logger' | 'clock'>> & {
    clock: Clock;
    logger: Logger;
  };
  readonly #loaded = new WeakMap<PartitionLog, Tracked>();
  readonly #loading = new WeakMap<PartitionLog, Promise<Tracked>>();

  constructor(o: ProducerStateManagerOptions) {
    this.#o = {
      clock: o.clock,
      logger: o.logger,
      expirationMs: o.expirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS,
      expirationCheckIntervalMs: o.expirationCheckIntervalMs ?? 10 * 60 * 1000,
      snapshotIntervalBytes: o.snapshotIntervalBytes ?? 16 * MiB,
      replayChunkBytes: o.replayChunkBytes ?? MiB,
    };
  }

  /** The partition's state when it is loaded already (the produce path's synchronous fast path). */
  loaded(log: PartitionLog): PartitionProducerState | null {
    return this.#loaded.get(log)?.state ?? null;
  }

  /** The partition's state, loaded once from its snapshot and log; concurrent callers share the load. */
  async load(log: PartitionLog): Promise<PartitionProducerState> {
    const done = this.#loaded.get(log);
    if (done) return done.state;
    let loading = this.#loading.get(log);
    if (!loading) {
      loading = this.#load(log).finally(() => this.#loading.delete(log));
      this.#loading.set(log, loading);
    }
    return (await loading).state;
  }

  /** What loading the partition's state cost, once it is loaded. */
  loadStats(log: PartitionLog): LoadStats | null {
    return this.#loaded.get(log)?.loadStats ?? null;
  }

  /**
   * Told of every append the produce path made (idempotent or not: both lengthen the replay), so
   * that snapshots follow the bytes written, and expiry runs when due.
   */
  afterAppend(log: PartitionLog, bytes: number): void {
    const t = this.#loaded.get(log);
    if (!t) return;
    const now = this.#o.clock.now();
    if (now - t.lastExpiryCheck >= this.#o.expirationCheckIntervalMs) {
      t.lastExpiryCheck = now;
      const expired = t.state.expire(now, this.#o.expirationMs);
      if (expired > 0) this.#logger(log).debug({ expired }, 'Expired idle producers');
    }
    t.bytesSinceSnapshot += bytes;
    if (t.bytesSinceSnapshot >= this.#o.snapshotIntervalBytes) void this.snapshot(log);
  }

  /**
   * A follower appended the leader's batches: they enter its producers' state as they are, so that
   * should this replica lead, a retried batch is still answered as a duplicate with the offsets the
   * old leader gave it. Does nothing when the state is not loaded (its load will read them).
   */
  replicated(log: PartitionLog, records: Buffer): void {
    const t = this.#loaded.get(log);
    if (!t) return;
    const now = this.#o.clock.now();
    walkBatches(records, (h) => t.state.replay(h, now));
    this.afterAppend(log, records.length);
  }

  /**
   * The log was truncated (a follower cutting a diverged tail): the state is dropped, and the next
   * load rebuilds it from a snapshot at or below the new log end (newer snapshots are deleted then).
   */
  async truncated(log: PartitionLog): Promise<void> {
    const t = this.#loaded.get(log);
    const loading = this.#loading.get(log);
    if (loading) await loading.catch(() => undefined);
    const held = t ?? this.#loaded.get(log);
    if (!held) return;
    this.#loaded.delete(log);
    held.removeCloseHook();
    await held.writing;
  }

  /** Writes a snapshot of the partition's state now (when loaded). Failures are logged, not thrown. */
  snapshot(log: PartitionLog): Promise<void> {
    const t = this.#loaded.get(log);
    if (!t) return Promise.resolve();
    t.bytesSinceSnapshot = 0;
    t.writing = t.writing.then(() => this.#write(t));
    return t.writing;
  }

  async #write(t: Tracked): Promise<void> {
    const { log, state } = t;
    const offset = Math.min(log.logEndOffset, state.inFlightFloor());
    const entries = state.snapshotEntries();
    // Nothing to say and nothing on disk to supersede.
    if (entries.length === 0 && t.snapshotOffset < 0) return;
    try {
      await writeSnapshot(log.fs, log.dir, { offset, entries });
      t.snapshotOffset = offset;
    } catch (err) {
      this.#logger(log).warn({ err, offset }, 'Failed to write a producer-state snapshot');
    }
  }

  async #load(log: PartitionLog): Promise<Tracked> {
    const started = performance.now();
    const now = this.#o.clock.now();
    const logEnd = log.logEndOffset;
    const { snapshot, skipped } = await readLatestSnapshot(log.fs, log.dir, logEnd);
    if (skipped.length > 0) {
      this.#logger(log).warn({ snapshots: skipped }, 'Skipped damaged producer-state snapshots');
    }
    const state = new PartitionProducerState(`${log.topic}-${log.partition}`, snapshot?.entries ?? []);
    const replayed = await this.#replay(log, state, snapshot?.offset ?? 0, logEnd, now);
    state.expire(now, this.#o.expirationMs);
    const loadStats: LoadStats = {
      snapshotOffset: snapshot?.offset ?? null,
      replayedBytes: replayed.bytes,
      replayedBatches: replayed.batches,
      producers: state.producerCount,
    };
    const t: Tracked = {
      log,
      state,
      loadStats,
      bytesSinceSnapshot: replayed.bytes,
      snapshotOffset: snapshot?.offset ?? -1,
      lastExpiryCheck: now,
      writing: Promise.resolve(),
      removeCloseHook: () => undefined,
    };
    this.#loaded.set(log, t);
    t.removeCloseHook = log.onClose(async () => {
      await t.writing;
      if (Math.min(log.logEndOffset, state.inFlightFloor()) !== t.snapshotOffset) await this.#write(t);
    });
    this.#logger(log).debug(
      { ...loadStats, seconds: (performance.now() - started) / 1000 },
      'Loaded producer state',
    );
    if (replayed.bytes >= this.#o.snapshotIntervalBytes) void this.snapshot(log);
    return t;
  }

  /** Feeds the headers of the log's batches in [from, to) to `state`. */
  async #replay(
    log: PartitionLog,
    state: PartitionProducerState,
    from: number,
    to: number,
    now: number,
  ): Promise<{ bytes: number; batches: number }> {
    let offset = Math.max(from, log.logStartOffset);
    let bytes = 0;
    let batches = 0;
    while (offset < to) {
      let records: Buffer;
      try {
        ({ records } = await log.read(offset, { maxBytes: this.#o.replayChunkBytes, isolation: 'log-end' }));
      } catch (err) {
        // Retention moved the log start past us meanwhile: carry on from there.
        if (err instanceof LogRequestError && err.errorCode === LogErrorCode.OFFSET_OUT_OF_RANGE) {
          if (log.logStartOffset > offset) {
            offset = log.logStartOffset;
            continue;
          }
        }
        throw err;
      }
      let next = offset;
      walkBatches(records, (h) => {
        state.replay(h, now);
        batches++;
        next = Math.max(next, h.baseOffset + h.lastOffsetDelta + 1);
      });
      bytes += records.length;
      if (next <= offset) break;
      offset = next;
    }
    return { bytes, batches };
  }

  #logger(log: PartitionLog): Logger {
    return this.#o.logger.child({ topic: log.topic, partition: log.partition });
  }
}
