/**
 * ListPartitionReassignments (key 46), version 0 (flexible): the reassignments in progress among the
 * partitions named, or all of them for null topics (`kafka-reassign-partitions --list` and
 * `--verify`), as the controller holds them: the replica set, and the replicas being added and
 * removed. Partitions that are not moving, and unknown ones, are left out, as Kafka does.
 */
import type { ListPartitionReassignmentsRequest } from '../../protocol/messages/list-partition-reassignments-request.ts';
import { ListPartitionReassignmentsResponse } from '../../protocol/messages/list-partition-reassignments-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function listPartitionReassignmentsHandler(
  s: BrokerServices,
): Handler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse> {
  return {
    apiKey: ApiKey.ListPartitionReassignments,
    minVersion: 0,
    maxVersion: 0,
    async handle(_ctx, request) {
      const targets = request.topics?.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })) ?? null;
      const result = await s.admin.listPartitionReassignments(targets);
      if (!result.ok) {
        return {
          ...ListPartitionReassignmentsResponse.defaults(),
          errorCode: result.errorCode,
          errorMessage: result.errorMessage,
        };
      }
      return {
        ...ListPartitionReassignmentsResponse.defaults(),
        topics: result.topics.map((t) => ({
          name: t.topic,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partition,
            replicas: p.replicas,
            addingReplicas: p.addingReplicas,
            removingReplicas: p.removingReplicas,
          })),
        })),
      };
    },
  };
}
