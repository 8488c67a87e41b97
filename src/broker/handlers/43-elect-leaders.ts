/**
 * ElectLeaders (key 43), versions 0–2: preferred or unclean leader elections asked for by an operator
 * (`kafka-leader-election`), decided by the controller (src/controller/elect-leaders.ts) and answered
 * partition by partition once this broker has applied the new leaders.
 *
 * v0 elects preferred leaders only; v1 adds the election type and a top-level error code (KIP-460);
 * v2 is the first flexible version. Null topic partitions mean every partition, and then the answer
 * leaves out those that needed no election, as Kafka's does.
 */
import type { ElectionType } from '../../controller/api.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { ElectLeadersRequest } from '../../protocol/messages/elect-leaders-request.ts';
import { ElectLeadersResponse } from '../../protocol/messages/elect-leaders-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

const ELECTION_TYPES: Record<number, ElectionType> = { 0: 'preferred', 1: 'unclean' };

export function electLeadersHandler(s: BrokerServices): Handler<ElectLeadersRequest, ElectLeadersResponse> {
  return {
    apiKey: ApiKey.ElectLeaders,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, request) {
      const targets =
        request.topicPartitions?.map((t) => ({ topic: t.topic, partitions: t.partitions })) ?? null;
      const type = ELECTION_TYPES[request.electionType];
      if (type === undefined) {
        return failed(request, ErrorCode.INVALID_REQUEST, `Unknown election type ${request.electionType}.`);
      }
      const result = await s.admin.electLeaders(type, targets);
      if (!result.ok) return failed(request, result.errorCode, result.errorMessage);
      let elected = 0;
      const response = ElectLeadersResponse.defaults();
      for (const t of result.results) {
        response.replicaElectionResults.push({
          topic: t.topic,
          partitionResult: t.partitions.map((p) => {
            if (p.errorCode === ErrorCode.NONE) elected++;
            return { partitionId: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage };
          }),
        });
      }
      if (elected > 0) s.log.info({ electionType: type, partitions: elected }, 'Elected leaders');
      return response;
    },
  };
}

/** The whole request refused: the error at the top (v1+) and on every partition it names. */
function failed(request: ElectLeadersRequest, errorCode: number, errorMessage: string): ElectLeadersResponse {
  return {
    ...ElectLeadersResponse.defaults(),
    errorCode,
    replicaElectionResults: (request.topicPartitions ?? []).map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode, errorMessage })),
    })),
  };
}
