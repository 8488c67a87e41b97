/**
 * DescribeGroups (key 15), versions 0–5: state, protocol and members of groups. A group this
 * coordinator does not know is described as Dead with no error (before v6, as Kafka does).
 * Members' metadata and assignments are given only while the group is Stable.
 *
 * v1 adds throttleTimeMs; v2 is v1 again; v3 (KIP-430) adds authorized operations on request —
 * without ACLs, every group operation (Read, Describe, Delete) is allowed; v4 adds each member's
 * group.instance.id; v5 is flexible.
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { DescribeGroupsRequest } from '../../protocol/messages/describe-groups-request.ts';
import { DescribeGroupsResponse } from '../../protocol/messages/describe-groups-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

/** Kafka's AclOperation codes READ (3), DELETE (6) and DESCRIBE (8), as a bit field. */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
const NOT_REQUESTED = -2147483648;

export function describeGroupsHandler(
  services: BrokerServices,
): Handler<DescribeGroupsRequest, DescribeGroupsResponse> {
  return {
    apiKey: ApiKey.DescribeGroups,
    minVersion: 0,
    maxVersion: 5,
    handle(ctx, request) {
      const withOperations = ctx.apiVersion >= 3 && request.includeAuthorizedOperations;
      return {
        ...DescribeGroupsResponse.defaults(),
        groups: request.groups.map((groupId) => {
          const d = services.groups.describeGroup(groupId);
          return {
            errorCode: d.errorCode,
            groupId,
            groupState: d.errorCode === 0 ? d.state : '',
            protocolType: d.protocolType,
            protocolData: d.protocolData,
            members: d.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              memberMetadata: m.metadata,
              memberAssignment: m.assignment,
            })),
            authorizedOperations: withOperations && d.errorCode === 0 ? GROUP_OPERATIONS : NOT_REQUESTED,
          };
        }),
      };
    },
  };
}
