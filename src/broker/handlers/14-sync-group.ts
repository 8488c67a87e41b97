/**
 * SyncGroup (key 14), versions 0–5: after a JoinGroup, every member asks for its assignment; the
 * leader's request carries everyone's. The answer waits until the leader's assignment is stored.
 *
 * v1 adds throttleTimeMs; v2 is v1 again; v3 adds group.instance.id; v4 is flexible; v5 (KIP-559)
 * adds the protocol type and name, checked against the group's (INCONSISTENT_GROUP_PROTOCOL) and
 * returned.
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { SyncGroupRequest } from '../../protocol/messages/sync-group-request.ts';
import { SyncGroupResponse } from '../../protocol/messages/sync-group-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function syncGroupHandler(services: BrokerServices): Handler<SyncGroupRequest, SyncGroupResponse> {
  return {
    apiKey: ApiKey.SyncGroup,
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, request) {
      const assignments = new Map<string, Buffer>();
      // Copies: the group keeps them, and the request's bytes are views into its frame.
      for (const a of request.assignments) assignments.set(a.memberId, Buffer.from(a.assignment));
      const result = await services.groups.syncGroup(request.groupId, {
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        protocolType: ctx.apiVersion >= 5 ? request.protocolType : null,
        protocolName: ctx.apiVersion >= 5 ? request.protocolName : null,
        assignments,
      });
      return {
        ...SyncGroupResponse.defaults(),
        errorCode: result.errorCode,
        protocolType: result.protocolType,
        protocolName: result.protocolName,
        assignment: result.assignment,
      };
    },
  };
}
