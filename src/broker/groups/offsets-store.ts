/**
 * The coordinator's persistence: one partition of the offsets topic, written through the replica
 * manager (append, then move the high watermark) and read back from its start when this broker
 * becomes its leader. The coordinator sees only the narrow OffsetsLog interface, so its tests can
 * give it an in-memory one.
 */
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import {
  batchSizeAt,
  decodeBatch,
  encodeBatch,
  isControlBatch,
  readBatchHeader,
  RecordBatchError,
} from '../../protocol/records/index.ts';
import { LogRequestError } from '../../storage/errors.ts';
import type { ReplicaManager } from '../replica-manager.ts';
import { OFFSETS_TOPIC } from './records.ts';

export interface CoordinatorRecord {
  key: Buffer;
  /** null: a tombstone. */
  value: Buffer | null;
}

/** One offsets partition, as the coordinator reads and writes it. */
export interface OffsetsLog {
  /**
   * Appends `records` as one batch and resolves once they are committed (below the high
   * watermark), with a Kafka error code: 0 when written.
   */
  append(records: CoordinatorRecord[]): Promise<number>;
  /**
   * Calls `onRecord` with every record from the log start to the log end, in order. A new leader's
   * whole log is what the partition holds (followers truncate to it), so loading stops at the log
   * end, not at a high watermark that may not have caught up yet (as Kafka's coordinator loads).
   */
  load(onRecord: (record: CoordinatorRecord) => void): Promise<void>;
}

const LOAD_READ_BYTES = 1024 * 1024;
/** Kafka's offsets.commit.timeout.ms: how long a group write waits for the in-sync replicas. */
const OFFSETS_COMMIT_TIMEOUT_MS = 5000;

export interface PartitionOffsetsLogOptions {
  replicas: Pick<ReplicaManager, 'leaderLog' | 'advanceHighWatermark' | 'waitForHighWatermark'>;
  partition: number;
  clock: Clock;
  log: Logger;
}

/** The offsets partition in this broker's storage. */
export function partitionOffsetsLog(o: PartitionOffsetsLogOptions): OffsetsLog {
  return {
    async append(records) {
      const lookup = o.replicas.leaderLog(OFFSETS_TOPIC, o.partition);
      if (!lookup.ok) return lookup.errorCode;
      const now = o.clock.now();
      const batch = encodeBatch({
        records: records.map((r) => ({ key: r.key, value: r.value, timestamp: now })),
      });
      try {
        const appended = await lookup.log.append(batch, { leaderEpoch: lookup.state.leaderEpoch });
        o.replicas.advanceHighWatermark(lookup.log, lookup.state);
        // Committed means on every in-sync replica, as Kafka's coordinator writes with acks=-1: an
        // offset acknowledged here survives the loss of this broker.
        const waited = await o.replicas.waitForHighWatermark(
          OFFSETS_TOPIC,
          o.partition,
          appended.lastOffset + 1,
          OFFSETS_COMMIT_TIMEOUT_MS,
        );
        if (waited === 'timeout') return ErrorCode.REQUEST_TIMED_OUT;
        if (waited === 'not-leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER;
        return ErrorCode.NONE;
      } catch (err) {
        if (err instanceof LogRequestError || err instanceof RecordBatchError) return err.errorCode;
        o.log.warn({ err, partition: o.partition }, 'Failed to append to the offsets topic');
        return ErrorCode.KAFKA_STORAGE_ERROR;
      }
    },

    async load(onRecord) {
      const lookup = o.replicas.leaderLog(OFFSETS_TOPIC, o.partition);
      if (!lookup.ok)
        throw new Error(`offsets partition ${o.partition} is not led here (error ${lookup.errorCode})`);
      const log = lookup.log;
      let offset = log.logStartOffset;
      const end = log.logEndOffset;
      while (offset < end) {
        const { records } = await log.read(offset, { maxBytes: LOAD_READ_BYTES, isolation: 'log-end' });
        if (records.length === 0) break;
        let at = 0;
        while (at < records.length) {
          const size = batchSizeAt(records, at);
          if (size < 0 || at + size > records.length) break;
          const header = readBatchHeader(records, at);
          // Transaction markers would land here once transactional offset commits exist.
          if (!isControlBatch(header.attributes)) {
            for (const r of decodeBatch(records, at).records) {
              if (r.key !== null && r.offset >= offset) onRecord({ key: r.key, value: r.value });
            }
          }
          offset = Math.max(offset, header.baseOffset + header.lastOffsetDelta + 1);
          at += size;
        }
      }
    },
  };
}

/** The error a GroupMetadata write answers with (Kafka's mapping in GroupMetadataManager.storeGroup). */
export function groupWriteError(code: number): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.REBALANCE_IN_PROGRESS;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return code;
  }
}

/** The error an offset commit's write answers with (Kafka's mapping in storeOffsets). */
export function offsetWriteError(code: number): number {
  switch (code) {
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.REQUEST_TIMED_OUT;
    default:
      return groupWriteError(code);
  }
}
