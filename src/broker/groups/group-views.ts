/**
 * What a classic group looks like from outside, computed from its state without changing it: the
 * GroupMetadata record it is stored as (and the members read back from one), its DescribeGroups
 * answer, the JoinGroup answer for the current generation, and the topics its consumers subscribe
 * to (which decides whose offsets may expire or be deleted).
 */
import { decodeSubscription } from '../../protocol/consumer-protocol.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { EMPTY_BUFFER } from '../../protocol/primitives/index.ts';
import { CONSUMER_PROTOCOL_TYPE, type GroupDescription } from './group-api.ts';
import type { GroupCore } from './group-core.ts';
import { GroupMember, type JoinResult } from './membership.ts';
import type { GroupMetadataValue } from './records.ts';

/** The topics the members subscribe to; null when that cannot be told (not consumers, undecodable). */
export function computeSubscribedTopics(g: GroupCore): Set<string> | null {
  if (g.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
  if (g.members.size === 0) return new Set();
  if (g.protocolName === null) return null;
  const topics = new Set<string>();
  try {
    for (const m of g.members.values()) {
      for (const t of decodeSubscription(m.metadataFor(g.protocolName)).topics) topics.add(t);
    }
  } catch {
    return null;
  }
  return topics;
}

/** The GroupMetadata record for the group as it is now, with these assignments. */
export function groupRecord(g: GroupCore, assignments: ReadonlyMap<string, Buffer>): GroupMetadataValue {
  const protocol = g.protocolName;
  return {
    protocolType: g.protocolType ?? '',
    generation: g.generationId,
    protocol,
    leader: g.members.leaderId,
    currentStateTimestamp: g.stateTimestamp,
    members: g.members.list().map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: protocol === null ? EMPTY_BUFFER : m.metadataFor(protocol),
      assignment: assignments.get(m.memberId) ?? EMPTY_BUFFER,
    })),
  };
}

/** The members a GroupMetadata record names, each with its stored assignment. */
export function membersFromRecord(value: GroupMetadataValue): GroupMember[] {
  return value.members.map((m) => {
    const member = new GroupMember({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      protocolType: value.protocolType,
      protocols: value.protocol === null ? [] : [{ name: value.protocol, metadata: m.subscription }],
    });
    member.assignment = m.assignment;
    return member;
  });
}

/** DescribeGroups: protocol, metadata and assignments only once the group is Stable. */
export function describeGroup(g: GroupCore): GroupDescription {
  const stable = g.state === 'Stable' && g.protocolName !== null;
  return {
    state: g.state,
    protocolType: g.protocolType ?? '',
    protocolData: stable ? g.protocolName! : '',
    members: g.members.list().map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: stable ? m.metadataFor(g.protocolName!) : EMPTY_BUFFER,
      assignment: stable ? m.assignment : EMPTY_BUFFER,
    })),
  };
}

/** The JoinGroup answer for `member` in the current generation (the leader may get the members). */
export function currentGenerationResult(
  g: GroupCore,
  member: GroupMember,
  withMembersForLeader: boolean,
): JoinResult {
  const isLeader = member.memberId === g.members.leaderId;
  return {
    errorCode: ErrorCode.NONE,
    generationId: g.generationId,
    protocolType: g.protocolType,
    protocolName: g.protocolName,
    leader: g.members.leaderId ?? '',
    skipAssignment: false,
    memberId: member.memberId,
    members: withMembersForLeader && isLeader ? g.members.metadata(g.protocolName!) : [],
  };
}
