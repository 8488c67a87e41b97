/**
 * What a classic group (./group.ts) is asked and answers: its states, and the requests and results
 * of JoinGroup, SyncGroup, Heartbeat, LeaveGroup and DescribeGroups as the state machine sees them
 * (already decoded from the wire; the handlers translate).
 */
import type { Protocol } from './membership.ts';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const GROUP_STATES: readonly GroupState[] = [
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
];

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface JoinRequest {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  /** JoinGroup v4+ (KIP-394). */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+ (KIP-814). */
  supportSkippingAssignment: boolean;
  reason: string | null;
}

export interface SyncRequest {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5+; null when the client did not say. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: ReadonlyMap<string, Buffer>;
}

export interface HeartbeatRequest {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveResult {
  errorCode: number;
  members: Array<MemberIdentity & { errorCode: number }>;
}

export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}

export interface GroupDescription {
  state: GroupState;
  protocolType: string;
  protocolData: string;
  members: MemberDescription[];
}
