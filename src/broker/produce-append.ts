/**
 * One validated batch into one partition log, through its producer's idempotence state: the step
 * of Produce between validation and the response, shared by the handler and the tests that drive a
 * log directly.
 *
 * Ordering is the point. The admission (sequence check and reservation) and `appendValidated`
 * (which queues in call order) run in the same synchronous stretch, so two requests of one producer
 * are checked and written in the order they arrived, and the second sees the first while it is
 * still in flight. The only await before them is the first load of the partition's state, which
 * every request to that partition waits on together, in arrival order.
 */
import { StorageOfflineError } from '../common/errors.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { RecordBatchError } from '../protocol/records/index.ts';
import type { BatchHeader } from '../storage/batch.ts';
import { LogRequestError } from '../storage/errors.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { ProducerBatch } from './producer-state.ts';
import type { ProducerStateManager } from './producer-state-manager.ts';

export type AppendOutcome =
  | {
      ok: true;
      baseOffset: number;
      lastOffset: number;
      logStartOffset: number;
      /** A retry of a batch already written: nothing was appended. */
      duplicate: boolean;
      /** The stored batch's max timestamp (the append time on a LogAppendTime topic). */
      timestamp: number;
    }
  | { ok: false; errorCode: number; errorMessage: string | null };

export interface AppendInput {
  log: PartitionLog;
  /** Exactly one batch, validated by `log.validate`, already stamped if the topic wants append time. */
  records: Buffer;
  header: BatchHeader;
  leaderEpoch: number;
  producers: ProducerStateManager;
  now: number;
}

export async function appendBatch(i: AppendInput): Promise<AppendOutcome> {
  const { log, header: h } = i;
  if (h.producerId < 0) return settle(log.appendValidated(i.records, [h], { leaderEpoch: i.leaderEpoch }), h);

  let state = i.producers.loaded(log);
  if (!state) {
    try {
      state = await i.producers.load(log);
    } catch (err) {
      return failure(err);
    }
  }
  const admission = state.admit(h, i.now, log.logEndOffset);
  switch (admission.kind) {
    case 'reject':
      return { ok: false, errorCode: admission.errorCode, errorMessage: admission.message };
    case 'duplicate':
      return duplicateOf(admission.batch, log);
    case 'wait': {
      const settled = await admission.settled;
      return settled.ok
        ? duplicateOf(admission.batch, log)
        : { ok: false, errorCode: settled.errorCode, errorMessage: null };
    }
    case 'append': {
      let outcome: AppendOutcome | null = null;
      try {
        outcome = await settle(log.appendValidated(i.records, [h], { leaderEpoch: i.leaderEpoch }), h);
        return outcome;
      } finally {
        // Settled either way, so a retry waiting on this batch never waits for ever.
        if (outcome?.ok) admission.reservation.complete(outcome);
        else admission.reservation.abort(outcome?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
      }
    }
  }
}

async function settle(
  appending: Promise<{ baseOffset: number; lastOffset: number; logStartOffset: number }>,
  h: BatchHeader,
): Promise<AppendOutcome> {
  try {
    const r = await appending;
    return {
      ok: true,
      baseOffset: r.baseOffset,
      lastOffset: r.lastOffset,
      logStartOffset: r.logStartOffset,
      duplicate: false,
      timestamp: h.maxTimestamp,
    };
  } catch (err) {
    return failure(err);
  }
}

function duplicateOf(b: ProducerBatch, log: PartitionLog): AppendOutcome {
  return {
    ok: true,
    baseOffset: b.baseOffset,
    lastOffset: b.lastOffset,
    logStartOffset: log.logStartOffset,
    duplicate: true,
    timestamp: b.timestamp,
  };
}

/**
 * The Kafka error for what a log throws: a bad batch (RecordBatchError) or request
 * (LogRequestError) carries its own code; a log taken offline is KAFKA_STORAGE_ERROR. Anything else
 * is a fault of ours and is rethrown.
 */
export function kafkaErrorOf(err: unknown): { errorCode: number; errorMessage: string | null } {
  if (err instanceof RecordBatchError || err instanceof LogRequestError) {
    return { errorCode: err.errorCode, errorMessage: err.message };
  }
  if (err instanceof StorageOfflineError)
    return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: null };
  throw err;
}

function failure(err: unknown): AppendOutcome {
  return { ok: false, ...kafkaErrorOf(err) };
}
