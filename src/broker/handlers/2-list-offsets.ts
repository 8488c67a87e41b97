/**
 * ListOffsets (key 2), versions 1–7: the offset for a timestamp, or for one of the special
 * timestamps: -1 the latest offset, -2 the earliest, -3 the record with the largest timestamp.
 * Consumers use it to start from the beginning or the end, and to seek by time.
 *
 * v1 answers one offset with its timestamp (v0's offset lists are not served); v2 adds the
 * isolation level; v4 the client's current leader epoch and the leader epoch of the answer
 * (KIP-320); v6 is flexible; v7 adds -3, max timestamp (KIP-734).
 *
 * "Latest" is where a consumer of that isolation level can read up to: the high watermark for
 * read_uncommitted, the last stable offset for read_committed (the same for now: no transactions),
 * and the log end for any requester that is not a consumer (replicaId other than -1). A timestamp
 * match at or past that point is no match (offset -1, timestamp -1), as in Kafka.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type {
  ListOffsetsPartition,
  ListOffsetsRequest,
} from '../../protocol/messages/list-offsets-request.ts';
import {
  type ListOffsetsPartitionResponse,
  ListOffsetsResponse,
} from '../../protocol/messages/list-offsets-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { EpochEntry } from '../../storage/leader-epoch-cache.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type PartitionLog } from '../../storage/partition-log.ts';
import { leaderLogAtEpoch, logErrorCode } from '../fetch-leader.ts';
import type { Handler, RequestContext } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

const CONSUMER_REPLICA_ID = -1;

interface Found {
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}

export function listOffsetsHandler(
  services: BrokerServices,
): Handler<ListOffsetsRequest, ListOffsetsResponse> {
  return {
    apiKey: ApiKey.ListOffsets,
    minVersion: 1,
    maxVersion: 7,
    async handle(ctx, request) {
      const seen = new Set<string>();
      const topics = await Promise.all(
        request.topics.map(async (t) => ({
          name: t.name,
          partitions: await Promise.all(
            t.partitions.map((p) => {
              // Kafka refuses a partition named twice in one request rather than answer it twice.
              const key = `${t.name}:${p.partitionIndex}`;
              if (seen.has(key)) return failed(p.partitionIndex, ErrorCode.INVALID_REQUEST);
              seen.add(key);
              return listPartition(services, ctx, request, t.name, p);
            }),
          ),
        })),
      );
      return { ...ListOffsetsResponse.defaults(), topics };
    },
  };
}

async function listPartition(
  s: BrokerServices,
  ctx: RequestContext,
  request: ListOffsetsRequest,
  topic: string,
  p: ListOffsetsPartition,
): Promise<ListOffsetsPartitionResponse> {
  const found = leaderLogAtEpoch(s, topic, p.partitionIndex, p.currentLeaderEpoch);
  if (!found.ok) return failed(p.partitionIndex, found.errorCode);
  const log = found.log;
  // A replica reads to the log end; a consumer only what it could fetch: the high watermark, which
  // is also the last stable offset read_committed stops at while there are no transactions.
  const lastFetchable = request.replicaId === CONSUMER_REPLICA_ID ? log.highWatermark : log.logEndOffset;
  try {
    const answer = await lookUp(log, Number(p.timestamp), lastFetchable, found.state.leaderEpoch);
    if (!answer) return failed(p.partitionIndex, ErrorCode.NONE);
    return {
      partitionIndex: p.partitionIndex,
      errorCode: ErrorCode.NONE,
      oldStyleOffsets: [],
      timestamp: BigInt(answer.timestamp),
      offset: BigInt(answer.offset),
      // Only v4+ carries the epoch; the codec refuses a value it cannot write.
      leaderEpoch: ctx.apiVersion >= 4 ? answer.leaderEpoch : -1,
    };
  } catch (err) {
    const code = logErrorCode(err);
    if (code === null) {
      ctx.log.error({ err, topic, partition: p.partitionIndex }, 'Failed to look up an offset by timestamp');
    }
    return failed(p.partitionIndex, code ?? ErrorCode.UNKNOWN_SERVER_ERROR);
  }
}

/**
 * Latest carries the partition's current leader epoch, earliest the epoch of the batch at the log
 * start, a timestamp match the epoch of the batch that holds it.
 */
async function lookUp(
  log: PartitionLog,
  timestamp: number,
  lastFetchable: number,
  leaderEpoch: number,
): Promise<Found | null> {
  if (timestamp === LATEST_TIMESTAMP) return { offset: lastFetchable, timestamp: -1, leaderEpoch };
  if (timestamp === EARLIEST_TIMESTAMP) {
    const start = log.logStartOffset;
    return { offset: start, timestamp: -1, leaderEpoch: epochAt(log.leaderEpochs, start) };
  }
  const match = await log.offsetForTimestamp(timestamp);
  return match && match.offset < lastFetchable ? match : null;
}

/** The epoch in force at `offset`: the last whose start is at or before it (-1 if none). */
export function epochAt(entries: readonly EpochEntry[], offset: number): number {
  let epoch = -1;
  for (const e of entries) {
    if (e.startOffset > offset) break;
    epoch = e.epoch;
  }
  return epoch;
}

/** Offset, timestamp and epoch unknown (-1): an error, or no record at or after the timestamp. */
function failed(partitionIndex: number, errorCode: number): ListOffsetsPartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1n, offset: -1n, leaderEpoch: -1 };
}
