/**
 * The group coordinator's admin APIs about whole groups: DescribeGroups (a group unknown here is
 * described as Dead), ListGroups (filtered by state and type; every group here is a classic group)
 * and DeleteGroups (only Empty groups; the group and its offsets are tombstoned). Where a group is
 * served is ./ownership.ts's to say.
 */
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { ListedGroup } from './coordinator-api.ts';
import { appendRecords, tombstones } from './coordinator-writes.ts';
import type { GroupDescription } from './group-api.ts';
import { groupWriteError } from './offsets-store.ts';
import type { OffsetsPartitions } from './ownership.ts';

export interface GroupAdminOptions {
  partitions: OffsetsPartitions;
  log: Logger;
  /** Whether the coordinator has stopped serving. */
  closed: () => boolean;
}

export class GroupAdmin {
  readonly #o: GroupAdminOptions;

  constructor(options: GroupAdminOptions) {
    this.#o = options;
  }

  describe(groupId: string): { errorCode: number } & GroupDescription {
    const route = this.#o.partitions.route(groupId, 'describe');
    if (!route.ok)
      return { errorCode: route.errorCode, state: 'Dead', protocolType: '', protocolData: '', members: [] };
    const group = this.#o.partitions.get(groupId);
    if (!group)
      return { errorCode: ErrorCode.NONE, state: 'Dead', protocolType: '', protocolData: '', members: [] };
    return { errorCode: ErrorCode.NONE, ...group.describe() };
  }

  /** Groups coordinated here, filtered by state and type (both case-insensitive; empty: all). */
  list(states: string[], types: string[]): { errorCode: number; groups: ListedGroup[] } {
    if (this.#o.closed()) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    this.#o.partitions.follow();
    const loading = this.#o.partitions.loading;
    const wantStates = new Set(states.map((s) => s.toLowerCase()));
    // Every group here is a classic group; a filter without 'classic' matches none of them.
    if (types.length > 0 && !types.some((t) => t.toLowerCase() === 'classic')) {
      return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups: [] };
    }
    const groups: ListedGroup[] = [];
    for (const g of this.#o.partitions.groups()) {
      if (g.state === 'Dead') continue;
      if (wantStates.size > 0 && !wantStates.has(g.state.toLowerCase())) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
    }
    return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  async delete(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    return Promise.all(groupIds.map((id) => this.#deleteGroup(id)));
  }

  async #deleteGroup(groupId: string): Promise<{ groupId: string; errorCode: number }> {
    const route = this.#o.partitions.route(groupId, 'delete');
    if (!route.ok) return { groupId, errorCode: route.errorCode };
    const group = this.#o.partitions.get(groupId);
    if (!group || group.state === 'Dead') return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
    if (group.state !== 'Empty') return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
    const records = tombstones(group, [...group.offsets.entries()], true);
    this.#o.partitions.remove(group);
    this.#o.log.info({ group: groupId }, 'Deleted group');
    const code = groupWriteError(await appendRecords(route.owned, records, this.#o.log));
    return { groupId, errorCode: code };
  }
}
