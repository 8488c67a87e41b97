/**
 * What the members of a classic group ask once they have joined: SyncGroup (the leader's assignment
 * is stored before anyone is given it), Heartbeat, LeaveGroup (KIP-345's removal by instance id
 * included), and the check an OffsetCommit passes against the group; and what happens when a
 * member's session runs out without a heartbeat.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import { EMPTY_BUFFER } from '../../protocol/primitives/index.ts';
import type { HeartbeatRequest, LeaveResult, MemberIdentity, SyncRequest } from './group-api.ts';
import type { GroupCore } from './group-core.ts';
import { type SyncCallback, syncError } from './membership.ts';
import {
  maybePrepareRebalance,
  propagateAssignment,
  removeMemberAndUpdateGroup,
  resetAndPropagateAssignmentError,
  tryCompleteJoin,
} from './rebalance.ts';

export function sync(g: GroupCore, req: SyncRequest, respond: SyncCallback): void {
  if (g.state === 'Dead') {
    respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    return;
  }
  const error = g.members.validate(req.memberId, req.groupInstanceId);
  if (error !== ErrorCode.NONE) {
    respond(syncError(error));
    return;
  }
  if (req.generationId !== g.generationId) {
    respond(syncError(ErrorCode.ILLEGAL_GENERATION));
    return;
  }
  if (
    (req.protocolType !== null && req.protocolType !== g.protocolType) ||
    (req.protocolName !== null && req.protocolName !== g.protocolName)
  ) {
    respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    return;
  }
  const member = g.members.get(req.memberId)!;
  switch (g.state) {
    case 'Empty':
      respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    case 'PreparingRebalance':
      respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      return;
    case 'Stable':
      g.pendingSync.delete(member.memberId);
      respond({
        errorCode: ErrorCode.NONE,
        protocolType: g.protocolType,
        protocolName: g.protocolName,
        assignment: member.assignment,
      });
      g.members.scheduleSession(member, member.sessionTimeoutMs);
      return;
    case 'CompletingRebalance':
      // One answer per request: a SyncGroup superseded by another from the same member ends now.
      member.completeSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      member.syncCallback = respond;
      g.pendingSync.delete(member.memberId);
      if (member.memberId === g.members.leaderId) storeAssignment(g, req.assignments);
  }
}

/** The leader's assignment: stored first, then handed to every member waiting for it. */
function storeAssignment(g: GroupCore, fromLeader: ReadonlyMap<string, Buffer>): void {
  const assignments = new Map<string, Buffer>();
  for (const id of g.members.ids()) assignments.set(id, fromLeader.get(id) ?? EMPTY_BUFFER);
  const generation = g.generationId;
  g.store(assignments, (errorCode) => {
    // A member may have joined or left meanwhile: then this generation is over and its
    // assignment moot.
    if (g.state !== 'CompletingRebalance' || g.generationId !== generation) return;
    if (errorCode !== ErrorCode.NONE) {
      resetAndPropagateAssignmentError(g, errorCode);
      maybePrepareRebalance(g, 'storing the assignment failed');
      return;
    }
    for (const m of g.members.values()) m.assignment = assignments.get(m.memberId) ?? EMPTY_BUFFER;
    g.transition('Stable');
    g.log.info({ generation }, 'Group is stable');
    propagateAssignment(g, ErrorCode.NONE);
  });
}

export function heartbeat(g: GroupCore, req: HeartbeatRequest): number {
  if (g.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const error = g.members.validate(req.memberId, req.groupInstanceId);
  if (error !== ErrorCode.NONE) return error;
  if (req.generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
  const member = g.members.get(req.memberId)!;
  switch (g.state) {
    case 'Empty':
      return ErrorCode.UNKNOWN_MEMBER_ID;
    case 'PreparingRebalance':
      g.members.scheduleSession(member, member.sessionTimeoutMs);
      return ErrorCode.REBALANCE_IN_PROGRESS;
    default:
      // Members may heartbeat between their JoinGroup and SyncGroup answers: that is fine.
      g.members.scheduleSession(member, member.sessionTimeoutMs);
      return ErrorCode.NONE;
  }
}

export function leave(g: GroupCore, leaving: readonly MemberIdentity[]): LeaveResult {
  if (g.state === 'Dead') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
  const members = leaving.map((l) => ({ ...l, errorCode: leaveOne(g, l) }));
  return { errorCode: ErrorCode.NONE, members };
}

function leaveOne(g: GroupCore, { memberId, groupInstanceId }: MemberIdentity): number {
  const staticId = groupInstanceId === null ? undefined : g.members.staticMemberId(groupInstanceId);
  if (memberId !== '' && staticId !== undefined && staticId !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
  if (g.members.isPending(memberId)) {
    if (groupInstanceId !== null) return ErrorCode.UNKNOWN_MEMBER_ID;
    g.members.removePending(memberId);
    if (g.state === 'PreparingRebalance') tryCompleteJoin(g);
    return ErrorCode.NONE;
  }
  // With only an instance id (an admin removing a static member), the instance id decides.
  const member = g.members.get(staticId ?? memberId);
  if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
  g.log.info({ memberId: member.memberId, groupInstanceId }, 'Member left the group');
  removeMemberAndUpdateGroup(g, member);
  return ErrorCode.NONE;
}

/**
 * Checks an OffsetCommit against the group. Members commit with their generation; anyone may
 * commit to an Empty group with generation -1 (consumers that assign partitions themselves, and
 * admin tools). A valid commit also counts as a heartbeat.
 */
export function validateOffsetCommit(
  g: GroupCore,
  generationId: number,
  memberId: string,
  groupInstanceId: string | null,
): number {
  if (g.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (generationId < 0 && g.state === 'Empty') return ErrorCode.NONE;
  if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
    const error = g.members.validate(memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
  } else if (g.state !== 'Empty') {
    return ErrorCode.UNKNOWN_MEMBER_ID;
  }
  if (g.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
  const member = g.members.get(memberId);
  // During PreparingRebalance commits still count: eager consumers commit before revoking.
  if (member) g.members.scheduleSession(member, member.sessionTimeoutMs);
  return ErrorCode.NONE;
}

/** A member's session timer fired: it is removed unless it is waiting for an answer. */
export function onSessionExpired(g: GroupCore, memberId: string): void {
  const member = g.members.get(memberId);
  if (!member || g.state === 'Dead') return;
  // A member waiting for an answer cannot heartbeat; the rebalance timeout bounds it instead,
  // and its session restarts when it is answered. A new member is never answered in time.
  if (!member.isNew && (member.awaitingJoin || member.awaitingSync)) return;
  g.log.info({ memberId, sessionTimeoutMs: member.sessionTimeoutMs }, 'Member session expired');
  removeMemberAndUpdateGroup(g, member);
}
