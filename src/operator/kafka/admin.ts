/**
 * The operator's Kafka admin client: what `kafka-consumer-groups.sh` does, for the ConsumerGroup
 * reconciler. It reaches brokers through the cluster's metadata image (the operator is the
 * cluster's controller, so it knows every live broker and every partition's leader without a
 * Metadata request) and speaks FindCoordinator, ListGroups, DescribeGroups, OffsetFetch,
 * ListOffsets, OffsetCommit and DeleteGroups over src/protocol/kafka-connection.ts.
 *
 * Group requests go to the group's coordinator; a coordinator that moved (NOT_COORDINATOR), is not
 * there yet (COORDINATOR_NOT_AVAILABLE) or is still loading its offsets partition, and a broker
 * that does not answer, make it find the coordinator again (asking another broker) and retry, a
 * few times with a short pause. Per-partition errors come back as data; only a request that could
 * not be answered at all throws ({@link KafkaAdminError}).
 */
import type { Clock } from '../../common/clock.ts';
import type { BrokerEndpoint, MetadataImage } from '../../controller/image.ts';
import { decodeAssignment } from '../../protocol/consumer-protocol.ts';
import { ErrorCode, errorName } from '../../protocol/error-codes.ts';
import { ConnectionError, KafkaConnection } from '../../protocol/kafka-connection.ts';
import type { DeleteGroupsResponse } from '../../protocol/messages/delete-groups-response.ts';
import type { DescribeGroupsResponse } from '../../protocol/messages/describe-groups-response.ts';
import type { FindCoordinatorResponse } from '../../protocol/messages/find-coordinator-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { ListGroupsResponse } from '../../protocol/messages/list-groups-response.ts';
import type { ListOffsetsResponse } from '../../protocol/messages/list-offsets-response.ts';
import type { OffsetCommitResponse } from '../../protocol/messages/offset-commit-response.ts';
import type { OffsetFetchResponse } from '../../protocol/messages/offset-fetch-response.ts';
import type { CommittedOffset, GroupDescription, ListedGroup, TopicPartition } from './types.ts';

export type * from './types.ts';

/** Versions spoken; every broker of ours serves them (see src/broker/handlers/). */
const V = {
  findCoordinator: 3,
  listGroups: 4,
  describeGroups: 5,
  offsetFetch: 7,
  listOffsets: 6,
  offsetCommit: 8,
  deleteGroups: 2,
} as const;

/** ListOffsets' special timestamps. */
export const EARLIEST = -2n;
export const LATEST = -1n;

export class KafkaAdminError extends Error {
  /** The Kafka error code, when a broker answered with one. */
  readonly errorCode: number | undefined;
  constructor(message: string, errorCode?: number) {
    super(message);
    this.name = 'KafkaAdminError';
    this.errorCode = errorCode;
  }
}

export interface KafkaAdminOptions {
  /** The cluster's current metadata: live brokers and partition leaders. */
  readonly image: () => Pick<MetadataImage, 'brokers' | 'topics'>;
  readonly clock: Clock;
  readonly clientId?: string;
  /** A request unanswered this long fails (5 s). */
  readonly requestTimeoutMs?: number;
  /** Tries of a group request before it throws (4). */
  readonly attempts?: number;
  /** Pause between tries (200 ms). */
  readonly retryBackoffMs?: number;
}

const COORDINATOR_MOVED: ReadonlySet<number> = new Set([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/** A retriable refusal inside {@link KafkaAdmin.#withCoordinator}: find the coordinator again. */
class CoordinatorMoved extends Error {}

export class KafkaAdmin {
  readonly #o: KafkaAdminOptions;
  readonly #connections = new Map<string, KafkaConnection>();
  readonly #coordinators = new Map<string, BrokerEndpoint>();
  /** Rotates the broker asked first, so one that is down is not always asked first. */
  #next = 0;
  #closed = false;

  constructor(options: KafkaAdminOptions) {
    this.#o = options;
  }

  /**
   * Every group of every live broker (each lists those it coordinates). `complete` is false when a
   * broker could not be asked or was still loading: a group missing from `groups` may then exist.
   */
  async listGroups(): Promise<{ groups: ListedGroup[]; complete: boolean }> {
    const brokers = this.#o.image().brokers;
    let complete = brokers.length > 0;
    const found = new Map<string, ListedGroup>();
    await Promise.all(
      brokers.map(async (b) => {
        try {
          const r = await this.#request<ListGroupsResponse>(b, ApiKey.ListGroups, V.listGroups, {
            statesFilter: [],
            typesFilter: [],
          });
          if (r.errorCode !== ErrorCode.NONE) complete = false;
          for (const g of r.groups) {
            found.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, state: g.groupState });
          }
        } catch (err) {
          if (!(err instanceof ConnectionError)) throw err;
          complete = false;
        }
      }),
    );
    return { groups: [...found.values()], complete };
  }

  /** The group's state, protocol and members, with each consumer's assigned partitions. */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    const g = await this.#withCoordinator(groupId, async (coordinator) => {
      const r = await this.#request<DescribeGroupsResponse>(
        coordinator,
        ApiKey.DescribeGroups,
        V.describeGroups,
        { groups: [groupId], includeAuthorizedOperations: false },
      );
      const group = r.groups.find((x) => x.groupId === groupId);
      if (!group) throw new KafkaAdminError(`DescribeGroups did not describe group ${groupId}`);
      check(group.errorCode, `describe group ${groupId}`);
      return group;
    });
    const consumer = g.protocolType === 'consumer';
    return {
      groupId,
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        host: m.clientHost,
        assignments: consumer ? assignmentOf(m.memberAssignment) : [],
      })),
    };
  }

  /** Every committed offset of the group (none for a group that does not exist). */
  async fetchOffsets(groupId: string): Promise<CommittedOffset[]> {
    return this.#withCoordinator(groupId, async (coordinator) => {
      const r = await this.#request<OffsetFetchResponse>(coordinator, ApiKey.OffsetFetch, V.offsetFetch, {
        groupId,
        topics: null,
        groups: [],
        requireStable: false,
      });
      check(r.errorCode, `fetch the offsets of group ${groupId}`);
      const out: CommittedOffset[] = [];
      for (const t of r.topics) {
        for (const p of t.partitions) {
          check(p.errorCode, `fetch the offset of ${t.name}-${p.partitionIndex} for group ${groupId}`);
          if (p.committedOffset >= 0n) {
            out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset });
          }
        }
      }
      return out;
    });
  }

  /**
   * The offset of each partition at `timestamp` ({@link EARLIEST}, {@link LATEST} — the high
   * watermark, what a consumer can read up to — or a time in ms), asked of each partition's leader.
   * -1 where no record is at or after the time. A partition whose leader is unknown or refuses
   * gets its error code instead.
   */
  async listOffsets(
    partitions: readonly TopicPartition[],
    timestamp: bigint,
  ): Promise<Map<string, { offset: bigint; errorCode: number }>> {
    const image = this.#o.image();
    const out = new Map<string, { offset: bigint; errorCode: number }>();
    const byLeader = new Map<number, TopicPartition[]>();
    for (const tp of partitions) {
      const leader = image.topics.get(tp.topic)?.partitions.find((p) => p.partition === tp.partition)?.leader;
      if (leader === undefined) {
        out.set(partitionKey(tp), { offset: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      } else if (!image.brokers.some((b) => b.nodeId === leader)) {
        out.set(partitionKey(tp), { offset: -1n, errorCode: ErrorCode.LEADER_NOT_AVAILABLE });
      } else {
        let list = byLeader.get(leader);
        if (!list) byLeader.set(leader, (list = []));
        list.push(tp);
      }
    }
    await Promise.all(
      [...byLeader].map(async ([leader, tps]) => {
        const broker = image.brokers.find((b) => b.nodeId === leader)!;
        const r = await this.#request<ListOffsetsResponse>(broker, ApiKey.ListOffsets, V.listOffsets, {
          replicaId: -1,
          isolationLevel: 0,
          timeoutMs: 0,
          topics: byTopic(tps).map(([name, ps]) => ({
            name,
            partitions: ps.map((partitionIndex) => ({
              partitionIndex,
              currentLeaderEpoch: -1,
              timestamp,
              maxNumOffsets: 1,
            })),
          })),
        });
        for (const t of r.topics) {
          for (const p of t.partitions) {
            out.set(partitionKey({ topic: t.name, partition: p.partitionIndex }), {
              offset: p.offset,
              errorCode: p.errorCode,
            });
          }
        }
      }),
    );
    return out;
  }

  /**
   * Commits `offsets` as an admin tool does: generation -1 and no member id, which the coordinator
   * accepts only while the group has no members. Each partition's error code comes back.
   */
  async commitOffsets(
    groupId: string,
    offsets: readonly CommittedOffset[],
  ): Promise<Array<TopicPartition & { errorCode: number }>> {
    return this.#withCoordinator(groupId, async (coordinator) => {
      const r = await this.#request<OffsetCommitResponse>(coordinator, ApiKey.OffsetCommit, V.offsetCommit, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: byTopicOffsets(offsets).map(([name, ps]) => ({
          name,
          partitions: ps.map(([partitionIndex, committedOffset]) => ({
            partitionIndex,
            committedOffset,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: '',
          })),
        })),
      });
      const results = r.topics.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode })),
      );
      if (results.some((p) => COORDINATOR_MOVED.has(p.errorCode))) throw new CoordinatorMoved();
      return results;
    });
  }

  /**
   * Deletes the group and its offsets: NONE, GROUP_ID_NOT_FOUND (nothing to delete) or
   * NON_EMPTY_GROUP (it has members) come back as data.
   */
  async deleteGroup(groupId: string): Promise<number> {
    return this.#withCoordinator(groupId, async (coordinator) => {
      const r = await this.#request<DeleteGroupsResponse>(coordinator, ApiKey.DeleteGroups, V.deleteGroups, {
        groupsNames: [groupId],
      });
      const code = r.results.find((x) => x.groupId === groupId)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      if (COORDINATOR_MOVED.has(code)) throw new CoordinatorMoved();
      return code;
    });
  }

  /** Closes every connection; later requests fail. */
  close(): void {
    this.#closed = true;
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }

  async #withCoordinator<T>(groupId: string, call: (coordinator: BrokerEndpoint) => Promise<T>): Promise<T> {
    const attempts = this.#o.attempts ?? 4;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await this.#pause();
      try {
        const coordinator = await this.#coordinator(groupId);
        return await call(coordinator);
      } catch (err) {
        const moved =
          err instanceof CoordinatorMoved ||
          err instanceof ConnectionError ||
          (err instanceof KafkaAdminError &&
            err.errorCode !== undefined &&
            COORDINATOR_MOVED.has(err.errorCode));
        if (!moved || this.#closed) throw err;
        this.#coordinators.delete(groupId);
        last = err;
      }
    }
    if (last instanceof CoordinatorMoved) {
      throw new KafkaAdminError(`the coordinator of group ${groupId} kept moving`, ErrorCode.NOT_COORDINATOR);
    }
    throw last instanceof KafkaAdminError ? last : new KafkaAdminError(describe(last));
  }

  async #coordinator(groupId: string): Promise<BrokerEndpoint> {
    const cached = this.#coordinators.get(groupId);
    if (cached) return cached;
    const brokers = this.#o.image().brokers;
    if (brokers.length === 0) throw new KafkaAdminError('the cluster has no live brokers');
    // Any broker answers; one that does not is skipped for the next.
    let failure: unknown;
    for (let i = 0; i < brokers.length; i++) {
      const b = brokers[(this.#next + i) % brokers.length]!;
      try {
        const r = await this.#request<FindCoordinatorResponse>(b, ApiKey.FindCoordinator, V.findCoordinator, {
          key: groupId,
          keyType: 0,
          coordinatorKeys: [],
        });
        check(r.errorCode, `find the coordinator of group ${groupId}`, r.errorMessage);
        const coordinator = { nodeId: r.nodeId, host: r.host, port: r.port, rack: null };
        this.#coordinators.set(groupId, coordinator);
        return coordinator;
      } catch (err) {
        if (!(err instanceof ConnectionError)) throw err;
        this.#next = (this.#next + i + 1) % brokers.length;
        failure = err;
      }
    }
    throw failure;
  }

  #request<T>(broker: BrokerEndpoint, apiKey: number, version: number, body: unknown): Promise<T> {
    if (this.#closed) return Promise.reject(new KafkaAdminError('the admin client is closed'));
    const address = `${broker.host}:${broker.port}`;
    let conn = this.#connections.get(address);
    if (!conn) {
      conn = new KafkaConnection({
        host: broker.host,
        port: broker.port,
        clientId: this.#o.clientId ?? 'tributary-operator',
        clock: this.#o.clock,
        requestTimeoutMs: this.#o.requestTimeoutMs ?? 5000,
      });
      this.#connections.set(address, conn);
    }
    return conn.request<T>(apiKey, version, body);
  }

  #pause(): Promise<void> {
    return new Promise((resolve) => this.#o.clock.setTimeout(resolve, this.#o.retryBackoffMs ?? 200));
  }
}

export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}:${tp.partition}`;
}

/** Throws the error a broker answered with, unless NONE. */
function check(code: number, what: string, message?: string | null): void {
  if (code === ErrorCode.NONE) return;
  throw new KafkaAdminError(`could not ${what}: ${errorName(code)}${message ? ` (${message})` : ''}`, code);
}

/** A consumer's assignment; members of a group not Stable have none (empty bytes). */
function assignmentOf(bytes: Buffer): Array<{ topic: string; partitions: number[] }> {
  if (bytes.length === 0) return [];
  try {
    return decodeAssignment(bytes).assignedPartitions.map((a) => ({
      topic: a.topic,
      partitions: [...a.partitions].sort((x, y) => x - y),
    }));
  } catch {
    return []; // not what the consumer protocol writes: shown without assignments
  }
}

function byTopic(tps: readonly TopicPartition[]): Array<[string, number[]]> {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    let list = m.get(tp.topic);
    if (!list) m.set(tp.topic, (list = []));
    list.push(tp.partition);
  }
  return [...m];
}

function byTopicOffsets(offsets: readonly CommittedOffset[]): Array<[string, Array<[number, bigint]>]> {
  const m = new Map<string, Array<[number, bigint]>>();
  for (const o of offsets) {
    let list = m.get(o.topic);
    if (!list) m.set(o.topic, (list = []));
    list.push([o.partition, o.offset]);
  }
  return [...m];
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
