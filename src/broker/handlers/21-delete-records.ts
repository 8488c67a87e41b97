/**
 * DeleteRecords (key 21), versions 0–2: moves partitions' log start offsets forward, so that the
 * records before them are no longer served and whole segments below them are deleted
 * (`kafka-delete-records.sh`, Admin.deleteRecords). Offset -1 means the high watermark: everything
 * committed so far. The answer's low watermark is the new log start offset.
 *
 * v1 is v0 (throttling reported differently); v2 is flexible. Kafka waits, up to timeoutMs, for
 * every follower's log start to pass the offset too; with the leader as the only replica there is
 * nothing to wait for.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type {
  DeleteRecordsPartition,
  DeleteRecordsRequest,
} from '../../protocol/messages/delete-records-request.ts';
import {
  type DeleteRecordsPartitionResult,
  DeleteRecordsResponse,
} from '../../protocol/messages/delete-records-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import { retainsByDeletion } from '../../storage/config.ts';
import { logErrorCode } from '../fetch-leader.ts';
import type { Handler, RequestContext } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

const HIGH_WATERMARK = -1n;

export function deleteRecordsHandler(
  services: BrokerServices,
): Handler<DeleteRecordsRequest, DeleteRecordsResponse> {
  return {
    apiKey: ApiKey.DeleteRecords,
    minVersion: 0,
    maxVersion: 2,
    async handle(ctx, request) {
      const topics = await Promise.all(
        request.topics.map(async (t) => ({
          name: t.name,
          partitions: await Promise.all(t.partitions.map((p) => deletePartition(services, ctx, t.name, p))),
        })),
      );
      return { ...DeleteRecordsResponse.defaults(), topics };
    },
  };
}

async function deletePartition(
  s: BrokerServices,
  ctx: RequestContext,
  topic: string,
  p: DeleteRecordsPartition,
): Promise<DeleteRecordsPartitionResult> {
  const failed = (errorCode: number) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode });
  // Internal topics (consumer offsets, transaction state) keep what their owners wrote.
  if (s.metadata().topics.get(topic)?.internal) return failed(ErrorCode.INVALID_TOPIC_EXCEPTION);
  const found = s.replicas.leaderLog(topic, p.partitionIndex);
  if (!found.ok) return failed(found.errorCode);
  const log = found.log;
  if (!retainsByDeletion(log.config)) return failed(ErrorCode.POLICY_VIOLATION);
  const offset = p.offset === HIGH_WATERMARK ? log.highWatermark : Number(p.offset);
  if (offset < 0 || !Number.isSafeInteger(offset)) return failed(ErrorCode.OFFSET_OUT_OF_RANGE);
  try {
    const lowWatermark = await log.deleteRecordsBefore(offset);
    ctx.log.info({ topic, partition: p.partitionIndex, lowWatermark }, 'Deleted records on request');
    return {
      partitionIndex: p.partitionIndex,
      lowWatermark: BigInt(lowWatermark),
      errorCode: ErrorCode.NONE,
    };
  } catch (err) {
    const code = logErrorCode(err);
    if (code === null) ctx.log.error({ err, topic, partition: p.partitionIndex }, 'Failed to delete records');
    return failed(code ?? ErrorCode.UNKNOWN_SERVER_ERROR);
  }
}
