/**
 * ListGroups (key 16), versions 0–5: the groups this broker coordinates (clients ask every broker).
 * While an offsets partition is still loading, the groups loaded so far are listed with
 * COORDINATOR_LOAD_IN_PROGRESS.
 *
 * v1 adds throttleTimeMs; v2 is v1 again; v3 is flexible; v4 (KIP-518) filters by state and returns
 * each group's state; v5 (KIP-848) filters by type and returns it — every group here is "classic".
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { ListGroupsRequest } from '../../protocol/messages/list-groups-request.ts';
import { ListGroupsResponse } from '../../protocol/messages/list-groups-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function listGroupsHandler(services: BrokerServices): Handler<ListGroupsRequest, ListGroupsResponse> {
  return {
    apiKey: ApiKey.ListGroups,
    minVersion: 0,
    maxVersion: 5,
    handle(ctx, request) {
      const v = ctx.apiVersion;
      const result = services.groups.listGroups(
        v >= 4 ? request.statesFilter : [],
        v >= 5 ? request.typesFilter : [],
      );
      return {
        ...ListGroupsResponse.defaults(),
        errorCode: result.errorCode,
        groups: result.groups.map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          groupState: g.state,
          groupType: 'classic',
        })),
      };
    },
  };
}
