/**
 * OffsetCommit (key 8), versions 2–9: a group's consumers record how far they have processed each
 * partition. Members commit with their generation; with generation -1, anyone may commit to a
 * group that has no members (consumers assigning partitions themselves, admin tools).
 *
 * v2–v4 carry a retention time (-1: the broker's offsets.retention.minutes); v3 adds
 * throttleTimeMs; v5 drops the retention time; v6 adds each partition's leader epoch; v7 adds
 * group.instance.id; v8 is flexible; v9 names the generation field for KIP-848's member epoch too —
 * for classic groups it is still the generation.
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { OffsetCommitRequest } from '../../protocol/messages/offset-commit-request.ts';
import { OffsetCommitResponse } from '../../protocol/messages/offset-commit-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

/**
 * Longer than any retention meant (about 142,000 years), and short enough that a commit time plus
 * it is still an exact integer and an int64 where the offsets topic stores the expiry.
 */
const MAX_RETENTION_MS = Math.floor(Number.MAX_SAFE_INTEGER / 2);

/** v2–v4's retention time in milliseconds; up to 2^63-1 on the wire, hence the cap. */
function retentionOf(ms: bigint): number {
  return ms > BigInt(MAX_RETENTION_MS) ? MAX_RETENTION_MS : Number(ms);
}

export function offsetCommitHandler(
  services: BrokerServices,
): Handler<OffsetCommitRequest, OffsetCommitResponse> {
  return {
    apiKey: ApiKey.OffsetCommit,
    minVersion: 2,
    maxVersion: 9,
    async handle(ctx, request) {
      const retention = ctx.apiVersion <= 4 ? retentionOf(request.retentionTimeMs) : -1;
      const topics = await services.groups.commitOffsets(request.groupId, {
        generationId: request.generationIdOrMemberEpoch,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        retentionTimeMs: retention,
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.committedMetadata,
          })),
        })),
      });
      return {
        ...OffsetCommitResponse.defaults(),
        topics: topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: p.errorCode })),
        })),
      };
    },
  };
}
