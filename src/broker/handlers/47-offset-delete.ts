/**
 * OffsetDelete (key 47), version 0 (KIP-496): deletes a group's committed offsets for some
 * partitions — any of an Empty group's, and of an active consumer group only those of topics no
 * member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { OffsetDeleteRequest } from '../../protocol/messages/offset-delete-request.ts';
import { OffsetDeleteResponse } from '../../protocol/messages/offset-delete-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function offsetDeleteHandler(
  services: BrokerServices,
): Handler<OffsetDeleteRequest, OffsetDeleteResponse> {
  return {
    apiKey: ApiKey.OffsetDelete,
    minVersion: 0,
    maxVersion: 0,
    async handle(_ctx, request) {
      const result = await services.groups.deleteOffsets(
        request.groupId,
        request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
      );
      return {
        ...OffsetDeleteResponse.defaults(),
        errorCode: result.errorCode,
        topics: result.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: p.errorCode })),
        })),
      };
    },
  };
}
