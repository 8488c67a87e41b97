/**
 * LeaveGroup (key 13), versions 0–5: members leave a group at once, rather than after their
 * session timeout; the group rebalances without them.
 *
 * v1 adds throttleTimeMs; v2 is v1 again; v3 (KIP-345) leaves a batch of members, by member id or
 * group.instance.id, with an error each; v4 is flexible; v5 (KIP-800) adds each member's reason.
 * Before v3 the one member's error is the request's.
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { LeaveGroupRequest } from '../../protocol/messages/leave-group-request.ts';
import { LeaveGroupResponse } from '../../protocol/messages/leave-group-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function leaveGroupHandler(services: BrokerServices): Handler<LeaveGroupRequest, LeaveGroupResponse> {
  return {
    apiKey: ApiKey.LeaveGroup,
    minVersion: 0,
    maxVersion: 5,
    handle(ctx, request) {
      const batch = ctx.apiVersion >= 3;
      const leaving = batch
        ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
        : [{ memberId: request.memberId, groupInstanceId: null }];
      const result = services.groups.leaveGroup(request.groupId, leaving);
      const response = LeaveGroupResponse.defaults();
      if (batch) return { ...response, errorCode: result.errorCode, members: result.members };
      const errorCode = result.errorCode !== 0 ? result.errorCode : (result.members[0]?.errorCode ?? 0);
      return { ...response, errorCode };
    },
  };
}
