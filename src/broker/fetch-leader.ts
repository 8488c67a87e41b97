/**
 * Finding the log a Fetch or ListOffsets reads, with Kafka's answer when the client's idea of the
 * leader is out of date. Clients send the leader epoch they know (KIP-320, Fetch v9+, ListOffsets
 * v4+; -1 when they know none): an older epoch is FENCED_LEADER_EPOCH (the client missed a leader
 * change and must refresh its metadata), a newer one UNKNOWN_LEADER_EPOCH (this broker has not yet
 * heard of the change; the client retries). The epoch is checked before leadership, as Kafka does,
 * so a client that knows of a newer leader elsewhere is told to retry rather than to refresh.
 *
 * Also the Kafka error for a failed log operation, shared by the handlers that read and trim logs.
 */
import { StorageOfflineError } from '../common/errors.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { LogRequestError } from '../storage/errors.ts';
import type { PartitionLookup } from './replica-manager.ts';
import type { BrokerServices } from './services.ts';

/** The error for a request made at `requested` against a partition at `current`, or null. */
export function leaderEpochError(requested: number, current: number): number | null {
  if (requested < 0) return null;
  if (requested < current) return ErrorCode.FENCED_LEADER_EPOCH;
  if (requested > current) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return null;
}

/** The partition's log if this broker leads it at the epoch the client knows. */
export function leaderLogAtEpoch(
  s: Pick<BrokerServices, 'replicas' | 'metadata'>,
  topic: string,
  partition: number,
  currentLeaderEpoch: number,
): PartitionLookup {
  const found = s.replicas.leaderLog(topic, partition);
  if (found.ok) {
    const error = leaderEpochError(currentLeaderEpoch, found.state.leaderEpoch);
    return error === null ? found : { ok: false, errorCode: error };
  }
  if (found.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
    const state = s.metadata().topics.get(topic)?.partitions[partition];
    const error = state ? leaderEpochError(currentLeaderEpoch, state.leaderEpoch) : null;
    if (error !== null) return { ok: false, errorCode: error };
  }
  return found;
}

/**
 * The error code a partition answers with when its log threw `err`: the log's own refusal
 * (OFFSET_OUT_OF_RANGE…), KAFKA_STORAGE_ERROR for a log that went offline, else null — a fault of
 * ours (a stored batch that no longer decodes, a bug), which the caller logs and answers as
 * UNKNOWN_SERVER_ERROR.
 */
export function logErrorCode(err: unknown): number | null {
  if (err instanceof LogRequestError) return err.errorCode;
  if (err instanceof StorageOfflineError) return ErrorCode.KAFKA_STORAGE_ERROR;
  return null;
}
