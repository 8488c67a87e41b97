/**
 * Per-partition log settings, named after the Kafka topic configs they mirror. Durations are in
 * milliseconds; `Infinity` stands for Kafka's "unlimited" (Long.MAX_VALUE or -1).
 */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface FlushPolicy {
  /**
   * flush.messages: fsync once this many offsets are unflushed. 1 = every append is on the device
   * before it is acknowledged. Infinity = never on count.
   */
  messages: number;
  /** flush.ms: fsync at most this long after the first unflushed append. Infinity = never on time. */
  ms: number;
}

/**
 * The three shapes of flush policy (docs/adr/0005-flush-policy.md says what each risks). A segment
 * is always flushed when it is rolled and every segment when the log closes, whatever the policy.
 */
export const FLUSH_EVERY_BATCH: FlushPolicy = Object.freeze({ messages: 1, ms: Infinity });
export const FLUSH_ON_ROLL_ONLY: FlushPolicy = Object.freeze({ messages: Infinity, ms: Infinity });
export const FLUSH_INTERVAL_DEFAULT: FlushPolicy = Object.freeze({ messages: Infinity, ms: 1000 });

export interface LogConfig {
  /** segment.bytes */
  segmentBytes: number;
  /** segment.ms: roll once the active segment's first batch is this old. */
  segmentMs: number;
  /** index.interval.bytes */
  indexIntervalBytes: number;
  /** retention.ms, by the largest timestamp in a segment. */
  retentionMs: number;
  /** retention.bytes, for the whole partition. */
  retentionBytes: number;
  /** cleanup.policy */
  cleanupPolicy: CleanupPolicy;
  /** delete.retention.ms: how long a tombstone outlives the records it deletes. */
  deleteRetentionMs: number;
  /** max.message.bytes: the largest batch accepted. */
  maxMessageBytes: number;
  flush: FlushPolicy;
  /** How often, at most, the recovery point is checkpointed (Kafka: log.flush.offset.checkpoint.interval.ms). */
  checkpointIntervalMs: number;
}

const DAY = 24 * 60 * 60 * 1000;

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY,
  indexIntervalBytes: 4096,
  retentionMs: 7 * DAY,
  retentionBytes: Infinity,
  cleanupPolicy: 'delete',
  deleteRetentionMs: DAY,
  maxMessageBytes: 1024 * 1024 + 12,
  flush: FLUSH_INTERVAL_DEFAULT,
  checkpointIntervalMs: 1000,
});

/** The largest segment a relative offset or file position (both uint32) can address. */
export const MAX_SEGMENT_BYTES = 2 ** 31 - 1;

export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const c: LogConfig = { ...DEFAULT_LOG_CONFIG, ...overrides };
  const positive = (name: keyof LogConfig, v: number): void => {
    if (!(v > 0)) throw new RangeError(`log config ${name} must be positive, got ${v}`);
  };
  positive('segmentBytes', c.segmentBytes);
  positive('segmentMs', c.segmentMs);
  positive('indexIntervalBytes', c.indexIntervalBytes);
  positive('maxMessageBytes', c.maxMessageBytes);
  positive('checkpointIntervalMs', c.checkpointIntervalMs);
  if (c.segmentBytes > MAX_SEGMENT_BYTES) {
    throw new RangeError(
      `log config segmentBytes must be at most ${MAX_SEGMENT_BYTES}, got ${c.segmentBytes}`,
    );
  }
  if (!(c.flush.messages >= 1) || !(c.flush.ms >= 0)) {
    throw new RangeError(
      `log config flush must have messages ≥ 1 and ms ≥ 0, got ${JSON.stringify(c.flush)}`,
    );
  }
  return c;
}

export function retainsByDeletion(c: LogConfig): boolean {
  return c.cleanupPolicy === 'delete' || c.cleanupPolicy === 'compact,delete';
}

export function compacts(c: LogConfig): boolean {
  return c.cleanupPolicy === 'compact' || c.cleanupPolicy === 'compact,delete';
}
