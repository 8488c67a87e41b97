import type { Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { systemClock } from '../common/clock.ts';
import type { StorageOfflineError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { silentLogger } from '../common/logger.ts';
import type { LogConfig } from './config.ts';
import { compacts } from './config.ts';
import type { Fs } from './fs.ts';
import { nodeFs } from './fs.ts';
import type { StorageMetrics } from './metrics.ts';
import { storageMetrics } from './metrics.ts';
import { parsePartitionDirName, partitionDirName } from './names.ts';
import { PartitionLog } from './partition-log.ts';

export interface LogManagerOptions {
  dataDir: string;
  /** Settings for every log; `configFor` overrides them per topic. */
  defaults?: Partial<LogConfig>;
  configFor?: (topic: string) => Partial<LogConfig>;
  fs?: Fs;
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
  /** Logs loaded at once at start-up (Kafka: num.recovery.threads.per.data.dir). */
  loadConcurrency?: number;
  /** How often retention runs (log.retention.check.interval.ms) and compaction (log.cleaner.backoff.ms). */
  retentionCheckIntervalMs?: number;
  compactionIntervalMs?: number;
  /** A log went offline (an I/O failure, or corruption found while loading or reading it). */
  onOffline?: (topic: string, partition: number, err: StorageOfflineError) => void;
}

export interface PartitionUsage {
  topic: string;
  partition: number;
  bytes: number;
  segments: number;
  offline: boolean;
}

/**
 * Every partition log on this broker's volume, one directory each: `<dataDir>/<topic>-<partition>/`.
 * Loads them all at start-up, a bounded number at a time; runs retention and compaction in the
 * background on its clock.
 */
export class LogManager {
  readonly dataDir: string;
  readonly #fs: Fs;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: StorageMetrics | undefined;
  readonly #opts: LogManagerOptions;
  readonly #logs = new Map<string, PartitionLog>();
  readonly #creating = new Map<string, Promise<PartitionLog>>();
  #retentionTimer: TimerHandle | null = null;
  #compactionTimer: TimerHandle | null = null;
  #compacting = false;
  #closed = false;

  constructor(opts: LogManagerOptions) {
    this.dataDir = opts.dataDir;
    this.#fs = opts.fs ?? nodeFs;
    this.#clock = opts.clock ?? systemClock;
    this.#logger = opts.logger ?? silentLogger;
    this.#metrics = opts.registry ? storageMetrics(opts.registry) : undefined;
    this.#opts = opts;
  }

  /** Loads every partition directory under the data dir. */
  async loadAll(): Promise<void> {
    await this.#fs.mkdir(this.dataDir);
    const names = (await this.#fs.readdir(this.dataDir)).filter((n) => parsePartitionDirName(n) !== null);
    const started = this.#clock.now();
    const queue = [...names];
    const worker = async (): Promise<void> => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const stat = await this.#fs.stat(`${this.dataDir}/${name}`);
        if (!stat?.isDirectory) continue;
        const tp = parsePartitionDirName(name)!;
        await this.getOrCreate(tp.topic, tp.partition);
      }
    };
    const workers = Math.max(1, Math.min(this.#opts.loadConcurrency ?? 8, names.length));
    await Promise.all(Array.from({ length: workers }, worker));
    this.#logger.info(
      { partitions: this.#logs.size, ms: this.#clock.now() - started },
      'Loaded partition logs',
    );
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.#logs.get(partitionDirName(topic, partition));
  }

  /** The partition's log, created (empty) if it does not exist yet. */
  getOrCreate(topic: string, partition: number): Promise<PartitionLog> {
    const key = partitionDirName(topic, partition);
    const existing = this.#logs.get(key);
    if (existing) return Promise.resolve(existing);
    const pending = this.#creating.get(key);
    if (pending) return pending;
    const opening = PartitionLog.open({
      dir: `${this.dataDir}/${key}`,
      topic,
      partition,
      config: { ...this.#opts.defaults, ...this.#opts.configFor?.(topic) },
      fs: this.#fs,
      clock: this.#clock,
      logger: this.#logger,
      metrics: this.#metrics,
      onOffline: (err) => this.#opts.onOffline?.(topic, partition, err),
    }).then(
      (log) => {
        this.#creating.delete(key);
        this.#logs.set(key, log);
        return log;
      },
      (err: unknown) => {
        this.#creating.delete(key);
        throw err;
      },
    );
    this.#creating.set(key, opening);
    return opening;
  }

  /** Re-reads a topic's settings (`configFor`) into each of its open logs. */
  reconfigure(topic: string): void {
    const config = { ...this.#opts.defaults, ...this.#opts.configFor?.(topic) };
    for (const log of this.#logs.values()) if (log.topic === topic) log.reconfigure(config);
  }

  logs(): PartitionLog[] {
    return [...this.#logs.values()];
  }

  /** Closes the partition's log and removes its directory (the partition left this broker). */
  async delete(topic: string, partition: number): Promise<void> {
    const key = partitionDirName(topic, partition);
    const log = this.#logs.get(key);
    if (!log) return;
    this.#logs.delete(key);
    await log.close();
    await this.#fs.removeTree(log.dir);
    await this.#fs.syncDir(this.dataDir);
  }

  /** Bytes in segment files, per partition. */
  diskUsage(): PartitionUsage[] {
    return this.logs().map((log) => ({
      topic: log.topic,
      partition: log.partition,
      bytes: log.sizeInBytes(),
      segments: log.segmentCount,
      offline: log.offline,
    }));
  }

  /** Starts the periodic retention and compaction passes. */
  startBackgroundTasks(): void {
    const retentionEvery = this.#opts.retentionCheckIntervalMs ?? 5 * 60 * 1000;
    const compactionEvery = this.#opts.compactionIntervalMs ?? 15 * 1000;
    const retention = (): void => {
      this.#retentionTimer = null;
      void this.runRetention().finally(() => {
        if (!this.#closed) this.#retentionTimer = this.#clock.setTimeout(retention, retentionEvery);
      });
    };
    const compaction = (): void => {
      this.#compactionTimer = null;
      void this.runCompaction().finally(() => {
        if (!this.#closed) this.#compactionTimer = this.#clock.setTimeout(compaction, compactionEvery);
      });
    };
    this.#retentionTimer = this.#clock.setTimeout(retention, retentionEvery);
    this.#compactionTimer = this.#clock.setTimeout(compaction, compactionEvery);
  }

  /** One retention pass over every online log; returns the segments deleted. */
  async runRetention(): Promise<number> {
    let deleted = 0;
    for (const log of this.logs()) {
      if (log.offline) continue;
      try {
        deleted += await log.applyRetention();
      } catch (err) {
        this.#logger.warn(
          { err, topic: log.topic, partition: log.partition },
          'Skipped retention of an offline log',
        );
      }
    }
    return deleted;
  }

  /** One compaction pass, one log at a time so the cleaner never competes with itself for the disk. */
  async runCompaction(): Promise<number> {
    if (this.#compacting) return 0;
    this.#compacting = true;
    let removed = 0;
    try {
      for (const log of this.logs()) {
        if (log.offline || !compacts(log.config)) continue;
        try {
          removed += (await log.compact()).recordsRemoved;
        } catch (err) {
          this.#logger.warn(
            { err, topic: log.topic, partition: log.partition },
            'Compaction of a log failed',
          );
        }
      }
    } finally {
      this.#compacting = false;
    }
    return removed;
  }

  /** Clean shutdown of every log (each writes its clean-shutdown marker). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retentionTimer) this.#clock.clearTimeout(this.#retentionTimer);
    if (this.#compactionTimer) this.#clock.clearTimeout(this.#compactionTimer);
    await Promise.all(this.logs().map((log) => log.close()));
  }
}
