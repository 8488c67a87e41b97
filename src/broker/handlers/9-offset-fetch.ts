/**
 * OffsetFetch (key 9), versions 1–9: a group's committed offsets, -1 for partitions without one.
 *
 * v2 adds a top-level error code and fetches every committed partition when topics is null; v3
 * adds throttleTimeMs; v5 returns each offset's leader epoch; v6 is flexible; v7 (KIP-447) adds
 * requireStable (nothing is ever pending here: transactional commits are not served yet); v8
 * (KIP-709) fetches for several groups at once; v9 adds KIP-848's member id and epoch, which
 * classic groups ignore. Before v2 an error is reported on every requested partition.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { OffsetFetchRequest } from '../../protocol/messages/offset-fetch-request.ts';
import { OffsetFetchResponse } from '../../protocol/messages/offset-fetch-response.ts';
import type { FetchResult } from '../groups/coordinator.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

type Topics = Array<{ name: string; partitions: number[] }> | null;

function topicsOf(topics: Array<{ name: string; partitionIndexes: number[] }> | null): Topics {
  return topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
}

function partitionsOf(result: FetchResult, requested: Topics) {
  // An error before v2 can only be told partition by partition.
  if (result.errorCode !== ErrorCode.NONE) {
    return (requested ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitions.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1n,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode: result.errorCode,
      })),
    }));
  }
  return result.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partition,
      committedOffset: p.offset,
      committedLeaderEpoch: p.leaderEpoch,
      metadata: p.metadata,
      errorCode: p.errorCode,
    })),
  }));
}

export function offsetFetchHandler(
  services: BrokerServices,
): Handler<OffsetFetchRequest, OffsetFetchResponse> {
  return {
    apiKey: ApiKey.OffsetFetch,
    minVersion: 1,
    maxVersion: 9,
    handle(ctx, request) {
      const response = OffsetFetchResponse.defaults();
      if (ctx.apiVersion >= 8) {
        response.groups = request.groups.map((g) => {
          const requested = topicsOf(g.topics);
          const result = services.groups.fetchOffsets(g.groupId, requested);
          const topics = result.errorCode === ErrorCode.NONE ? partitionsOf(result, requested) : [];
          return { groupId: g.groupId, errorCode: result.errorCode, topics };
        });
        return response;
      }
      const requested = topicsOf(request.topics);
      const result = services.groups.fetchOffsets(request.groupId, requested);
      response.topics =
        ctx.apiVersion >= 2 && result.errorCode !== ErrorCode.NONE ? [] : partitionsOf(result, requested);
      response.errorCode = result.errorCode;
      return response;
    },
  };
}
