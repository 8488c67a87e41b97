/**
 * Heartbeat (key 12), versions 0–4: a member says it is alive; the answer tells it whether the
 * group is rebalancing (REBALANCE_IN_PROGRESS: rejoin) or has moved on without it.
 *
 * v1 adds throttleTimeMs; v2 is v1 again; v3 adds group.instance.id; v4 is flexible.
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { HeartbeatRequest } from '../../protocol/messages/heartbeat-request.ts';
import { HeartbeatResponse } from '../../protocol/messages/heartbeat-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function heartbeatHandler(services: BrokerServices): Handler<HeartbeatRequest, HeartbeatResponse> {
  return {
    apiKey: ApiKey.Heartbeat,
    minVersion: 0,
    maxVersion: 4,
    handle(_ctx, request) {
      const errorCode = services.groups.heartbeat(request.groupId, {
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
      });
      return { ...HeartbeatResponse.defaults(), errorCode };
    },
  };
}
