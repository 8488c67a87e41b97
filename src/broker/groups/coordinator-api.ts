/**
 * What the group coordinator (./coordinator.ts) is configured with, and the requests and answers of
 * its APIs that are not a single group's (FindCoordinator, OffsetCommit, OffsetFetch, OffsetDelete,
 * ListGroups) as it sees them: already decoded from the wire; the handlers translate.
 */
import type { GroupState } from './group-api.ts';

export interface CoordinatorConfig {
  offsetsTopicPartitions: number;
  offsetsTopicReplicationFactor: number;
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  maxSize: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
}

export interface CoordinatorNode {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export interface CommitPartition {
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

export interface CommitRequest {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2–v4's retention time; -1 for the broker's. */
  retentionTimeMs: number;
  topics: Array<{ name: string; partitions: CommitPartition[] }>;
}

export type PartitionErrors = Array<{
  name: string;
  partitions: Array<{ partition: number; errorCode: number }>;
}>;

export interface FetchedPartition {
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface FetchResult {
  errorCode: number;
  topics: Array<{ name: string; partitions: FetchedPartition[] }>;
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: GroupState;
}
