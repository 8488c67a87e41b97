/**
 * AlterPartitionReassignments (key 45), version 0 (flexible): moves partitions to new replica sets,
 * or cancels a move with a null replica list (KIP-455, `kafka-reassign-partitions --execute` and
 * `--cancel`). The controller decides (src/controller/reassign.ts); the answer, partition by
 * partition, comes once this broker has applied the change. A reassignment completes later, when the
 * new replicas have caught up and joined the ISR.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { AlterPartitionReassignmentsRequest } from '../../protocol/messages/alter-partition-reassignments-request.ts';
import { AlterPartitionReassignmentsResponse } from '../../protocol/messages/alter-partition-reassignments-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function alterPartitionReassignmentsHandler(
  s: BrokerServices,
): Handler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse> {
  return {
    apiKey: ApiKey.AlterPartitionReassignments,
    minVersion: 0,
    maxVersion: 0,
    async handle(_ctx, request) {
      const targets = request.topics.map((t) => ({
        topic: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, replicas: p.replicas })),
      }));
      const result = await s.admin.alterPartitionReassignments(targets);
      if (!result.ok) {
        return {
          ...AlterPartitionReassignmentsResponse.defaults(),
          errorCode: result.errorCode,
          errorMessage: result.errorMessage,
          responses: request.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: result.errorCode,
              errorMessage: result.errorMessage,
            })),
          })),
        };
      }
      let changed = 0;
      const response = AlterPartitionReassignmentsResponse.defaults();
      for (const t of result.results) {
        response.responses.push({
          name: t.topic,
          partitions: t.partitions.map((p) => {
            if (p.errorCode === ErrorCode.NONE) changed++;
            return { partitionIndex: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage };
          }),
        });
      }
      if (changed > 0) s.log.info({ partitions: changed }, 'Altered partition reassignments');
      return response;
    },
  };
}
