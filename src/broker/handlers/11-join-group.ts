/**
 * JoinGroup (key 11), versions 0–9: a member joins (or rejoins) a classic group and waits until the
 * rebalance completes; the answer names the generation, the protocol chosen and the leader, and
 * gives the leader every member's metadata to assign from.
 *
 * v1 adds the rebalance timeout (v0 uses the session timeout for both); v2 throttleTimeMs; v3 is
 * v2 again; v4 (KIP-394) makes a member without an id rejoin with one given by MEMBER_ID_REQUIRED;
 * v5 (KIP-345) adds group.instance.id (static membership); v6 is flexible; v7 returns the protocol
 * type and name; v8 (KIP-800) adds the join reason; v9 (KIP-814) tells a restarted static leader to
 * skip the assignment.
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { JoinGroupRequest } from '../../protocol/messages/join-group-request.ts';
import { JoinGroupResponse } from '../../protocol/messages/join-group-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

/** "/address" as Kafka shows a member's host (InetAddress.toString of a literal address). */
export function clientHost(peer: string): string {
  const address = peer.slice(0, peer.lastIndexOf(':')).replace(/^::ffff:(?=\d+\.)/, '');
  return `/${address}`;
}

export function joinGroupHandler(services: BrokerServices): Handler<JoinGroupRequest, JoinGroupResponse> {
  return {
    apiKey: ApiKey.JoinGroup,
    minVersion: 0,
    maxVersion: 9,
    async handle(ctx, request) {
      const v = ctx.apiVersion;
      const result = await services.groups.joinGroup(request.groupId, {
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        clientId: ctx.clientId ?? '',
        clientHost: clientHost(ctx.peer),
        rebalanceTimeoutMs: v === 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs,
        sessionTimeoutMs: request.sessionTimeoutMs,
        protocolType: request.protocolType,
        protocols: request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
        requireKnownMemberId: v >= 4,
        supportSkippingAssignment: v >= 9,
        reason: request.reason,
      });
      return {
        ...JoinGroupResponse.defaults(),
        errorCode: result.errorCode,
        generationId: result.generationId,
        protocolType: result.protocolType,
        // Before v7 the name is not nullable: no protocol is the empty string.
        protocolName: v >= 7 ? result.protocolName : (result.protocolName ?? ''),
        leader: result.leader,
        skipAssignment: result.skipAssignment,
        memberId: result.memberId,
        members: result.members,
      };
    },
  };
}
