/**
 * DeleteGroups (key 42), versions 0–2: removes groups that have no members, with their committed
 * offsets (tombstones in the offsets topic). A group with members gets NON_EMPTY_GROUP; one that
 * does not exist, GROUP_ID_NOT_FOUND.
 *
 * v1 is v0 again; v2 is flexible.
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { DeleteGroupsRequest } from '../../protocol/messages/delete-groups-request.ts';
import { DeleteGroupsResponse } from '../../protocol/messages/delete-groups-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function deleteGroupsHandler(
  services: BrokerServices,
): Handler<DeleteGroupsRequest, DeleteGroupsResponse> {
  return {
    apiKey: ApiKey.DeleteGroups,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, request) {
      const results = await services.groups.deleteGroups(request.groupsNames);
      return { ...DeleteGroupsResponse.defaults(), results };
    },
  };
}
