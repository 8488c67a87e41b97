/**
 * What the operator's admin client (./admin.ts) reads of a cluster's consumer groups, as plain data:
 * the decisions in src/operator/reconcilers/consumer-group/ take these, not wire types.
 */

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface CommittedOffset extends TopicPartition {
  readonly offset: bigint;
}

/** A group as ListGroups names it. */
export interface ListedGroup {
  readonly groupId: string;
  /** `consumer` for Kafka consumers; '' for a group that only holds offsets; `connect`, … */
  readonly protocolType: string;
  readonly state: string;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly host: string;
  /** The member's partitions; empty while the group rebalances, or for other protocol types. */
  readonly assignments: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly number[] }>;
}

/** A group as DescribeGroups describes it. A group unknown to Kafka is `Dead` with no members. */
export interface GroupDescription {
  readonly groupId: string;
  /** Empty, Stable, PreparingRebalance, CompletingRebalance, Dead. */
  readonly state: string;
  readonly protocolType: string;
  /** The assignor the members agreed on (range, roundrobin, cooperative-sticky, …). */
  readonly protocol: string;
  readonly members: readonly GroupMemberDescription[];
}
