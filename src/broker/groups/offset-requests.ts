/**
 * The group coordinator's offset APIs: OffsetCommit (checked against the group, written to the
 * offsets topic, then applied to the group's table — unless the group went away meanwhile),
 * OffsetFetch (from the table, -1 where nothing is committed) and OffsetDelete (refused for topics
 * an active consumer group subscribes to). Where a group is served is ./ownership.ts's to say.
 */
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { MetadataImage } from '../../controller/image.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type {
  CommitRequest,
  CoordinatorConfig,
  FetchedPartition,
  FetchResult,
  PartitionErrors,
} from './coordinator-api.ts';
import { appendRecords } from './coordinator-writes.ts';
import { CONSUMER_PROTOCOL_TYPE } from './group-api.ts';
import type { GroupMetrics } from './metrics.ts';
import type { CommittedOffset } from './offsets.ts';
import { type CoordinatorRecord, offsetWriteError } from './offsets-store.ts';
import type { OffsetsPartitions } from './ownership.ts';
import { encodeOffsetCommitKey, encodeOffsetCommitValue } from './records.ts';

export interface OffsetRequestsOptions {
  clock: Clock;
  config: Pick<CoordinatorConfig, 'offsetMetadataMaxBytes'>;
  metadata: () => MetadataImage;
  partitions: OffsetsPartitions;
  log: Logger;
  metrics?: GroupMetrics;
}

export class OffsetRequests {
  readonly #o: OffsetRequestsOptions;

  constructor(options: OffsetRequestsOptions) {
    this.#o = options;
  }

  async commit(groupId: string, req: CommitRequest): Promise<PartitionErrors> {
    const all = (errorCode: number): PartitionErrors =>
      req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode })),
      }));
    const route = this.#o.partitions.route(groupId, 'commit');
    if (!route.ok) return all(route.errorCode);
    let group = this.#o.partitions.get(groupId);
    if (!group) {
      // Generation -1: a consumer that assigns partitions itself, using Kafka only for offsets.
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = this.#o.partitions.create(groupId, route.owned);
    }
    const error = group.validateOffsetCommit(req.generationId, req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return all(error);

    const now = this.#o.clock.now();
    const image = this.#o.metadata();
    const maxMetadata = Math.min(this.#o.config.offsetMetadataMaxBytes, 0x7fff);
    const results: PartitionErrors = [];
    const accepted: Array<{
      topic: string;
      partition: number;
      value: CommittedOffset;
      result: { errorCode: number };
    }> = [];
    for (const t of req.topics) {
      const known = image.topics.get(t.name);
      const partitions = t.partitions.map((p) => {
        const result: { partition: number; errorCode: number } = {
          partition: p.partition,
          errorCode: ErrorCode.NONE,
        };
        const metadata = p.metadata ?? '';
        if (!known || p.partition < 0 || p.partition >= known.partitions.length) {
          result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else if (Buffer.byteLength(metadata, 'utf8') > maxMetadata) {
          result.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        } else {
          const value: CommittedOffset = {
            offset: p.offset,
            leaderEpoch: p.leaderEpoch,
            metadata,
            commitTimestamp: now,
            expireTimestamp: req.retentionTimeMs >= 0 ? now + req.retentionTimeMs : null,
          };
          accepted.push({ topic: t.name, partition: p.partition, value, result });
        }
        return result;
      });
      results.push({ name: t.name, partitions });
    }
    if (accepted.length === 0) return results;
    const records = accepted.map((a) => ({
      key: encodeOffsetCommitKey({ group: groupId, topic: a.topic, partition: a.partition }),
      value: encodeOffsetCommitValue(a.value),
    }));
    const code = offsetWriteError(await appendRecords(route.owned, records, this.#o.log));
    for (const a of accepted) a.result.errorCode = code;
    // The group may have been deleted (or unloaded) while the write was in flight.
    if (code === ErrorCode.NONE && this.#o.partitions.get(groupId) === group) {
      for (const a of accepted) group.offsets.set(a.topic, a.partition, a.value);
      this.#o.metrics?.offsetCommits.inc(accepted.length);
    }
    return results;
  }

  fetch(groupId: string, topics: Array<{ name: string; partitions: number[] }> | null): FetchResult {
    const route = this.#o.partitions.route(groupId, 'fetch');
    if (!route.ok) return { errorCode: route.errorCode, topics: [] };
    const offsets = this.#o.partitions.get(groupId)?.offsets;
    const fetched = (partition: number, o: CommittedOffset | undefined): FetchedPartition => ({
      partition,
      offset: o?.offset ?? -1n,
      leaderEpoch: o?.leaderEpoch ?? -1,
      metadata: o?.metadata ?? '',
      errorCode: ErrorCode.NONE,
    });
    if (topics === null) {
      return {
        errorCode: ErrorCode.NONE,
        topics: (offsets?.topics() ?? []).sort().map((name) => ({
          name,
          partitions: offsets!.partitions(name).map(([p, o]) => fetched(p, o)),
        })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => fetched(p, offsets?.get(t.name, p))),
      })),
    };
  }

  async delete(
    groupId: string,
    topics: Array<{ name: string; partitions: number[] }>,
  ): Promise<{ errorCode: number; topics: PartitionErrors }> {
    const route = this.#o.partitions.route(groupId, 'delete');
    if (!route.ok) return { errorCode: route.errorCode, topics: [] };
    const group = this.#o.partitions.get(groupId);
    if (!group || group.state === 'Dead') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    const active = group.state !== 'Empty';
    if (active && group.protocolType !== CONSUMER_PROTOCOL_TYPE) {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    }
    const image = this.#o.metadata();
    const tombstones: CoordinatorRecord[] = [];
    const results: PartitionErrors = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((partition) => {
        const known = image.topics.get(t.name);
        if (!known || partition < 0 || partition >= known.partitions.length) {
          return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        }
        if (active && group.isSubscribedTo(t.name))
          return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        if (group.offsets.delete(t.name, partition)) {
          tombstones.push({
            key: encodeOffsetCommitKey({ group: groupId, topic: t.name, partition }),
            value: null,
          });
        }
        return { partition, errorCode: ErrorCode.NONE };
      }),
    }));
    if (tombstones.length === 0) return { errorCode: ErrorCode.NONE, topics: results };
    const code = offsetWriteError(await appendRecords(route.owned, tombstones, this.#o.log));
    return { errorCode: code, topics: results };
  }
}
