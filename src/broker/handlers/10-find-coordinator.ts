/**
 * FindCoordinator (key 10), versions 0–4: which broker coordinates a group. Any broker answers,
 * from its metadata: the leader of the group's offsets partition. The offsets topic is created on
 * the first request for a group, as Kafka does.
 *
 * v1 adds the key type (0 group, 1 transaction — not served yet: COORDINATOR_NOT_AVAILABLE with a
 * message), throttleTimeMs and errorMessage; v2 is v1 again; v3 is the first flexible version; v4
 * (KIP-699) takes a batch of keys and answers each in `coordinators`.
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { FindCoordinatorRequest } from '../../protocol/messages/find-coordinator-request.ts';
import { FindCoordinatorResponse } from '../../protocol/messages/find-coordinator-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function findCoordinatorHandler(
  services: BrokerServices,
): Handler<FindCoordinatorRequest, FindCoordinatorResponse> {
  return {
    apiKey: ApiKey.FindCoordinator,
    minVersion: 0,
    maxVersion: 4,
    async handle(ctx, request) {
      const response = FindCoordinatorResponse.defaults();
      if (ctx.apiVersion >= 4) {
        response.coordinators = await Promise.all(
          request.coordinatorKeys.map(async (key) => {
            const node = await services.groups.findCoordinator(request.keyType, key);
            return { key, ...node };
          }),
        );
        return response;
      }
      const node = await services.groups.findCoordinator(request.keyType, request.key);
      return { ...response, ...node };
    },
  };
}
