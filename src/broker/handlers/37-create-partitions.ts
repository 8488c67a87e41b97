/**
 * CreatePartitions (key 37), versions 0–3: grows topics to a new partition count, with replica
 * lists for the new partitions or spread by the controller. Partitions are never removed: a count
 * at or below the current one fails with INVALID_PARTITIONS.
 *
 * v1 is v0 with throttling on quota violations; v2 is the first flexible version; v3 is v2 with
 * THROTTLING_QUOTA_EXCEEDED (KIP-599), which Tributary never answers.
 *
 * As in Kafka, a topic named twice fails with INVALID_REQUEST; each topic is judged on its own.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { CreatePartitionsRequest } from '../../protocol/messages/create-partitions-request.ts';
import { CreatePartitionsResponse } from '../../protocol/messages/create-partitions-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function createPartitionsHandler(
  s: BrokerServices,
): Handler<CreatePartitionsRequest, CreatePartitionsResponse> {
  return {
    apiKey: ApiKey.CreatePartitions,
    minVersion: 0,
    maxVersion: 3,
    async handle(_ctx, request) {
      const response = CreatePartitionsResponse.defaults();
      const count = new Map<string, number>();
      for (const t of request.topics) count.set(t.name, (count.get(t.name) ?? 0) + 1);
      const answered = new Set<string>();
      for (const t of request.topics) {
        if (answered.has(t.name)) continue;
        answered.add(t.name);
        if (count.get(t.name)! > 1) {
          response.results.push({
            name: t.name,
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: 'Duplicate topic name.',
          });
          continue;
        }
        const assignments = t.assignments === null ? null : t.assignments.map((a) => a.brokerIds);
        const result = await s.admin.createPartitions(t.name, t.count, assignments, request.validateOnly);
        if (result.ok) {
          response.results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
          if (!request.validateOnly) s.log.info({ topic: t.name, partitions: t.count }, 'Added partitions');
        } else {
          response.results.push({
            name: t.name,
            errorCode: result.errorCode,
            errorMessage: result.errorMessage,
          });
        }
      }
      return response;
    },
  };
}
