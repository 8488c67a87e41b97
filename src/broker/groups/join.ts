/**
 * JoinGroup in a classic group: who may join (`group.max.size`, a protocol type and a protocol the
 * group's members all support), members joining without an id (MEMBER_ID_REQUIRED from v4,
 * KIP-394), members rejoining (a rebalance unless nothing changed), and static members
 * (group.instance.id, KIP-345) that come back under a new member id and take over the old one
 * without a rebalance. Answers that must wait for the rebalance are left on the member.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { JoinRequest } from './group-api.ts';
import type { GroupCore } from './group-core.ts';
import { currentGenerationResult } from './group-views.ts';
import {
  GroupMember,
  joinError,
  type JoinCallback,
  type Protocol,
  protocolNames,
  selectProtocol,
  syncError,
} from './membership.ts';
import { maybePrepareRebalance, prepareRebalance, removeMember, tryCompleteJoin } from './rebalance.ts';

export function join(g: GroupCore, req: JoinRequest, respond: JoinCallback): void {
  if (g.state === 'Dead') {
    respond(joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
  } else if (!acceptsJoiningMember(g, req.memberId)) {
    const member = g.members.get(req.memberId);
    if (member) removeMember(g, member);
    respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
  } else if (!supportsProtocols(g, req.protocolType, req.protocols)) {
    respond(joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
  } else if (req.memberId === '') {
    newMemberJoin(g, req, respond);
  } else {
    currentMemberJoin(g, req, respond);
  }
  if (g.state === 'PreparingRebalance') tryCompleteJoin(g);
}

/**
 * Room for this member? Existing members always fit; new ones up to `group.max.size`. While
 * rebalancing, members that have rejoined are counted rather than the whole group, so a group
 * over the limit (after the limit was lowered) sheds the members that rejoin last.
 */
function acceptsJoiningMember(g: GroupCore, memberId: string): boolean {
  const max = g.config.maxSize;
  switch (g.state) {
    case 'Empty':
    case 'Dead':
      return true;
    case 'PreparingRebalance':
      return (g.members.get(memberId)?.awaitingJoin ?? false) || g.members.awaitingJoinCount() < max;
    case 'CompletingRebalance':
    case 'Stable':
      return g.members.has(memberId) || g.members.size < max;
  }
}

function supportsProtocols(g: GroupCore, protocolType: string, protocols: readonly Protocol[]): boolean {
  const names = protocolNames(protocols);
  if (g.state === 'Empty') return protocolType !== '' && names.size > 0;
  if (g.protocolType !== protocolType) return false;
  // As Kafka counts it: a member's own previous protocols count towards the votes.
  const n = g.members.size;
  for (const name of names) {
    let supporters = 0;
    for (const m of g.members.values()) if (m.protocols.some((p) => p.name === name)) supporters++;
    if (supporters === n) return true;
  }
  return false;
}

/**
 * A member id starts with the instance or client id, as Kafka's do; either may be 32767 bytes, and
 * the id (a UUID follows) must still fit a string on the wire. Only the prefix is cut: ids stay unique.
 */
const MEMBER_ID_PREFIX_CHARS = 1000;

function newMemberJoin(g: GroupCore, req: JoinRequest, respond: JoinCallback): void {
  const newId = g.newMemberId((req.groupInstanceId ?? req.clientId).slice(0, MEMBER_ID_PREFIX_CHARS));
  if (req.groupInstanceId !== null) {
    const oldId = g.members.staticMemberId(req.groupInstanceId);
    if (oldId !== undefined) replaceStaticMember(g, req, oldId, newId, respond);
    else addMemberAndRebalance(g, newId, req, respond);
  } else if (req.requireKnownMemberId) {
    g.members.addPending(newId, req.sessionTimeoutMs);
    respond(joinError(newId, ErrorCode.MEMBER_ID_REQUIRED));
  } else {
    addMemberAndRebalance(g, newId, req, respond);
  }
}

function currentMemberJoin(g: GroupCore, req: JoinRequest, respond: JoinCallback): void {
  const { memberId } = req;
  if (g.members.isPending(memberId)) {
    // Pending ids are only handed to dynamic members; a static one cannot hold one.
    if (req.groupInstanceId !== null) respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    else addMemberAndRebalance(g, memberId, req, respond);
    return;
  }
  const error = g.members.validate(memberId, req.groupInstanceId);
  if (error !== ErrorCode.NONE) {
    respond(joinError(memberId, error));
    return;
  }
  const member = g.members.get(memberId)!;
  switch (g.state) {
    case 'PreparingRebalance':
      updateMemberAndRebalance(g, member, req, respond);
      return;
    case 'CompletingRebalance':
      // Same metadata: it probably missed the JoinGroup answer; give it this generation again.
      if (member.matches(req.protocols)) respond(currentGenerationResult(g, member, true));
      else updateMemberAndRebalance(g, member, req, respond);
      return;
    case 'Stable':
      // A leader's rejoin rebalances: that is how a consumer reacts to metadata changes
      // (new partitions, new matching topics) that change no member's subscription.
      if (memberId === g.members.leaderId || !member.matches(req.protocols)) {
        updateMemberAndRebalance(g, member, req, respond);
      } else {
        respond(currentGenerationResult(g, member, false));
      }
      return;
    case 'Empty':
    case 'Dead':
      respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
  }
}

function addMemberAndRebalance(
  g: GroupCore,
  memberId: string,
  req: JoinRequest,
  respond: JoinCallback,
): void {
  const member = new GroupMember({ ...req, memberId });
  member.isNew = true;
  // A member arriving during a new group's initial delay extends the delay (up to its limit).
  if (g.state === 'PreparingRebalance' && g.generationId === 0) g.newMemberAdded = true;
  if (g.members.size === 0) g.protocolType = req.protocolType;
  g.members.add(member);
  g.members.leaderId ??= memberId;
  member.joinCallback = respond;
  g.members.removePending(memberId);
  // It has no id to heartbeat with until answered; if it gave up meanwhile, it goes after this.
  g.members.scheduleSession(member, g.config.newMemberJoinTimeoutMs);
  maybePrepareRebalance(g, `member ${memberId} joined${req.reason ? ` (${req.reason})` : ''}`);
}

function updateMemberAndRebalance(
  g: GroupCore,
  member: GroupMember,
  req: JoinRequest,
  respond: JoinCallback,
): void {
  updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, respond);
  maybePrepareRebalance(
    g,
    `member ${member.memberId} rejoined in ${g.state}${req.reason ? ` (${req.reason})` : ''}`,
  );
}

function updateMember(
  member: GroupMember,
  protocols: Protocol[],
  rebalanceTimeoutMs: number,
  sessionTimeoutMs: number,
  respond: JoinCallback | null,
): void {
  member.protocols = protocols;
  member.rebalanceTimeoutMs = rebalanceTimeoutMs;
  member.sessionTimeoutMs = sessionTimeoutMs;
  if (member.joinCallback && respond && member.joinCallback !== respond) {
    // A second JoinGroup while the first waits: the first is superseded (one answer each).
    member.completeJoin(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
  }
  member.joinCallback = respond;
}

/**
 * A static member came back without its member id (a restart): it takes over its old identity
 * under a new id, fencing whoever still uses the old one. A stable group keeps its generation and
 * assignment — that is the point of static membership — unless the member's protocols would now
 * select another protocol.
 */
function replaceStaticMember(
  g: GroupCore,
  req: JoinRequest,
  oldId: string,
  newId: string,
  respond: JoinCallback,
): void {
  const instanceId = req.groupInstanceId!;
  const currentLeader = g.members.leaderId;
  const member = renameMember(g, instanceId, oldId, newId);
  g.members.scheduleSession(member, member.sessionTimeoutMs);
  const old = {
    protocols: member.protocols,
    rebalanceTimeoutMs: member.rebalanceTimeoutMs,
    sessionTimeoutMs: member.sessionTimeoutMs,
  };
  updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, respond);
  switch (g.state) {
    case 'Stable': {
      if (selectProtocol(g.members.list()) !== g.protocolName) {
        maybePrepareRebalance(g, `static member ${instanceId} rejoined with other protocols`);
        return;
      }
      const generation = g.generationId;
      const assignments = new Map(g.members.list().map((m) => [m.memberId, m.assignment]));
      g.store(assignments, (errorCode) => {
        const unchanged =
          g.state === 'Stable' &&
          g.generationId === generation &&
          g.members.get(newId) === member &&
          member.joinCallback === respond;
        if (!unchanged) return; // a rebalance took over; the member's JoinGroup waits for it
        if (errorCode !== ErrorCode.NONE) {
          g.log.warn({ instanceId, errorCode }, 'Failed to store a static member rejoin; reverting it');
          updateMember(member, old.protocols, old.rebalanceTimeoutMs, old.sessionTimeoutMs, null);
          const reverted = renameMember(g, instanceId, newId, oldId);
          g.members.scheduleSession(reverted, reverted.sessionTimeoutMs);
          respond({
            ...currentGenerationResult(g, reverted, false),
            memberId: '',
            leader: currentLeader ?? '',
            errorCode,
          });
          return;
        }
        const isLeader = newId === g.members.leaderId;
        member.completeJoin({
          ...currentGenerationResult(g, member, false),
          // From v9 the leader is told it leads but must not reassign (KIP-814); before, it is
          // given the old leader id so that it does not believe it leads and run the assignor.
          leader: req.supportSkippingAssignment ? (g.members.leaderId ?? '') : (currentLeader ?? ''),
          skipAssignment: req.supportSkippingAssignment && isLeader,
          members: req.supportSkippingAssignment && isLeader ? g.members.metadata(g.protocolName!) : [],
        });
      });
      return;
    }
    case 'CompletingRebalance':
      // The leader may be assigning to the old id; only a new generation can include the new one.
      prepareRebalance(g, `static member ${instanceId} rejoined while the group was completing a rebalance`);
      return;
    case 'PreparingRebalance':
      return;
    case 'Empty':
    case 'Dead':
      // A group in these states has no members, so no static member to replace.
      throw new Error(`group ${g.groupId} in state ${g.state} has static member ${instanceId}`);
  }
}

/** Moves a static member to a new id, answering any request waiting under the old one. */
function renameMember(g: GroupCore, instanceId: string, fromId: string, toId: string): GroupMember {
  const member = g.members.get(fromId)!;
  member.completeJoin(joinError(fromId, ErrorCode.FENCED_INSTANCE_ID));
  member.completeSync(syncError(ErrorCode.FENCED_INSTANCE_ID));
  g.members.rename(instanceId, fromId, toId);
  if (g.pendingSync.delete(fromId)) g.pendingSync.add(toId);
  return member;
}
