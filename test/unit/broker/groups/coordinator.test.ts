import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { GroupCoordinator, type CoordinatorConfig } from '../../../../src/broker/groups/coordinator.ts';
import { offsetsPartitionFor } from '../../../../src/broker/groups/hash.ts';
import { groupMetrics } from '../../../../src/broker/groups/metrics.ts';
import type { CoordinatorRecord, OffsetsLog } from '../../../../src/broker/groups/offsets-store.ts';
import { decodeRecordKey, OFFSETS_TOPIC } from '../../../../src/broker/groups/records.ts';
import { FakeClock } from '../../../../src/common/clock.ts';
import { Controller } from '../../../../src/controller/controller.ts';
import { REBALANCE_DEFAULTS } from '../../../../src/controller/leader-rebalance.ts';
import { MemoryStore } from '../../../../src/controller/store.ts';
import { silentLogger } from '../../../../src/common/logger.ts';
import { ErrorCode } from '../../../../src/protocol/error-codes.ts';
import { joinRequest } from './group-harness.ts';

/** An offsets partition in memory: appends land in `records`; a load can be held at a gate. */
class MemoryOffsetsLog implements OffsetsLog {
  readonly records: CoordinatorRecord[] = [];
  failWith = 0;
  gate: Promise<void> = Promise.resolve();

  async append(records: CoordinatorRecord[]): Promise<number> {
    if (this.failWith !== 0) return this.failWith;
    this.records.push(...records);
    return 0;
  }

  async load(onRecord: (r: CoordinatorRecord) => void): Promise<void> {
    await this.gate;
    for (const r of this.records) onRecord(r);
  }
}

const CONFIG: CoordinatorConfig = {
  offsetsTopicPartitions: 4,
  offsetsTopicReplicationFactor: 3,
  initialRebalanceDelayMs: 0,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 300_000,
  maxSize: 100,
  offsetsRetentionMs: 60 * 60 * 1000,
  offsetsRetentionCheckIntervalMs: 60_000,
  offsetMetadataMaxBytes: 16,
};

let controller: Controller;
let clock: FakeClock;
let logs: Map<number, MemoryOffsetsLog>;
let registry: Registry;

beforeEach(async () => {
  // The controller keeps its own clock, so the groups' clock can jump without expiring its session.
  controller = await Controller.open({
    store: new MemoryStore(),
    clock: new FakeClock(),
    logger: silentLogger,
    settings: {
      sessionTimeoutMs: 3000,
      numPartitions: 1,
      defaultReplicationFactor: 1,
      deleteTopicEnable: true,
      ...REBALANCE_DEFAULTS,
    },
  });
  const registered = await controller.register({
    nodeId: 0,
    host: 'broker-0',
    port: 9092,
    rack: null,
    incarnationId: 'test',
    clusterId: null,
  });
  if (!registered.ok) throw new Error('registration failed');
  await controller.heartbeat({
    nodeId: 0,
    brokerEpoch: registered.brokerEpoch,
    caughtUp: true,
    wantShutdown: false,
  });
  // Members of the test groups subscribe to 't'; they commit offsets of 't' and of 'orders'.
  for (const [name, numPartitions] of [
    ['orders', 3],
    ['t', 1],
  ] as const) {
    await controller.createTopic(
      { name, numPartitions, replicationFactor: 1, assignments: [], configs: {} },
      false,
    );
  }
  clock = new FakeClock(1_000_000);
  logs = new Map();
  registry = new Registry();
});
afterEach(() => controller.close());

function coordinator(config: Partial<CoordinatorConfig> = {}): GroupCoordinator {
  let c: GroupCoordinator | null = null;
  registry = new Registry();
  const metrics = groupMetrics(registry, {
    groups: () => c?.groups() ?? [],
    partitions: () => c?.partitionCounts() ?? { loading: 0, active: 0, failed: 0 },
    highWatermark: (topic, partition) => (topic === 'orders' ? 100 + partition : null),
  });
  let ids = 0;
  c = new GroupCoordinator({
    nodeId: 0,
    config: { ...CONFIG, ...config },
    clock,
    log: silentLogger,
    metadata: () => controller.image(),
    admin: controller,
    offsetsLog: (p) => {
      let log = logs.get(p);
      if (!log) logs.set(p, (log = new MemoryOffsetsLog()));
      return log;
    },
    newMemberIdSuffix: () => String(++ids),
    metrics,
  });
  c.start();
  return c;
}

async function ready(): Promise<GroupCoordinator> {
  const c = coordinator();
  expect((await c.findCoordinator(0, 'g')).errorCode).toBe(ErrorCode.NONE);
  return c;
}

/** A one-member group `g`, Stable, its member committing as member. */
async function stableGroup(
  c: GroupCoordinator,
  groupId = 'g',
  sessionTimeoutMs = 10_000,
): Promise<{ memberId: string; generation: number }> {
  const first = await c.joinGroup(groupId, joinRequest({ sessionTimeoutMs }));
  const joined = await c.joinGroup(groupId, joinRequest({ memberId: first.memberId, sessionTimeoutMs }));
  const synced = await c.syncGroup(groupId, {
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: new Map([[joined.memberId, Buffer.from('p0')]]),
  });
  expect(synced.errorCode).toBe(ErrorCode.NONE);
  return { memberId: joined.memberId, generation: joined.generationId };
}

function commit(
  c: GroupCoordinator,
  o: {
    generation?: number;
    memberId?: string;
    offset?: bigint;
    partition?: number;
    topic?: string;
    metadata?: string | null;
  } = {},
  groupId = 'g',
) {
  return c.commitOffsets(groupId, {
    generationId: o.generation ?? -1,
    memberId: o.memberId ?? '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: o.topic ?? 'orders',
        partitions: [
          {
            partition: o.partition ?? 0,
            offset: o.offset ?? 42n,
            leaderEpoch: 3,
            metadata: o.metadata === undefined ? 'm' : o.metadata,
          },
        ],
      },
    ],
  });
}

const errorsOf = (r: Awaited<ReturnType<typeof commit>>): number[] =>
  r.flatMap((t) => t.partitions.map((p) => p.errorCode));

describe('group coordinator > finding it', () => {
  it('creates the compacted internal offsets topic on the first FindCoordinator and names itself', async () => {
    const c = coordinator();
    expect(controller.image().topics.has(OFFSETS_TOPIC)).toBe(false);
    const node = await c.findCoordinator(0, 'g');
    expect(node).toEqual({ errorCode: 0, errorMessage: null, nodeId: 0, host: 'broker-0', port: 9092 });
    const topic = controller.image().topics.get(OFFSETS_TOPIC)!;
    expect(topic.internal).toBe(true);
    expect(topic.partitions).toHaveLength(4);
    // One broker: the replication factor of 3 is capped rather than refused.
    expect(topic.partitions[0].replicas).toEqual([0]);
    expect(topic.configs).toMatchObject({ 'cleanup.policy': 'compact', 'segment.bytes': '104857600' });
    expect(c.partitionCounts()).toEqual({ loading: 0, active: 4, failed: 0 });
  });

  it('creates the topic once when many ask at the same time', async () => {
    const c = coordinator();
    const nodes = await Promise.all(['a', 'b', 'c', 'd'].map((g) => c.findCoordinator(0, g)));
    expect(nodes.map((n) => n.errorCode)).toEqual([0, 0, 0, 0]);
  });

  it('answers transactional ids COORDINATOR_NOT_AVAILABLE and unknown key types INVALID_REQUEST', async () => {
    const c = coordinator();
    expect(await c.findCoordinator(1, 'tx')).toMatchObject({
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      nodeId: -1,
    });
    expect(await c.findCoordinator(7, 'x')).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
  });

  it('tells requests before the topic exists NOT_COORDINATOR, and an empty group id INVALID_GROUP_ID', async () => {
    const c = coordinator();
    expect((await c.joinGroup('g', joinRequest())).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    await c.findCoordinator(0, 'g');
    expect((await c.joinGroup('', joinRequest())).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(c.heartbeat('', { generationId: 1, memberId: 'm', groupInstanceId: null })).toBe(
      ErrorCode.INVALID_GROUP_ID,
    );
  });

  it('refuses session timeouts outside group.min/max.session.timeout.ms', async () => {
    const c = await ready();
    expect((await c.joinGroup('g', joinRequest({ sessionTimeoutMs: 5999 }))).errorCode).toBe(
      ErrorCode.INVALID_SESSION_TIMEOUT,
    );
    expect((await c.joinGroup('g', joinRequest({ sessionTimeoutMs: 300_001 }))).errorCode).toBe(
      ErrorCode.INVALID_SESSION_TIMEOUT,
    );
  });
});

describe('group coordinator > loading', () => {
  it('answers COORDINATOR_LOAD_IN_PROGRESS until its partitions are loaded, then serves them', async () => {
    const first = await ready();
    const { memberId, generation } = await stableGroup(first);
    expect(errorsOf(await commit(first, { generation, memberId, offset: 7n }))).toEqual([0]);
    first.close();

    // A restart: the same records, read again, behind a gate the test opens.
    let open!: () => void;
    const p = offsetsPartitionFor('g', 4);
    logs.get(p)!.gate = new Promise((resolve) => (open = resolve));
    const second = coordinator();
    expect((await second.joinGroup('g', joinRequest())).errorCode).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    expect(second.heartbeat('g', { generationId: generation, memberId, groupInstanceId: null })).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    // SyncGroup says REBALANCE_IN_PROGRESS instead, which every client version understands.
    const sync = await second.syncGroup('g', {
      generationId: generation,
      memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: new Map(),
    });
    expect(sync.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(second.fetchOffsets('g', null).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(second.listGroups([], []).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    open();
    await second.loaded();

    expect(second.heartbeat('g', { generationId: generation, memberId, groupInstanceId: null })).toBe(
      ErrorCode.NONE,
    );
    expect(second.describeGroup('g')).toMatchObject({ state: 'Stable', protocolData: 'range' });
    expect(second.fetchOffsets('g', [{ name: 'orders', partitions: [0, 1] }]).topics[0].partitions).toEqual([
      { partition: 0, offset: 7n, leaderEpoch: 3, metadata: 'm', errorCode: 0 },
      { partition: 1, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: 0 },
    ]);
  });

  it('rebuilds groups from the last record of each key, tombstones included', async () => {
    const first = await ready();
    await stableGroup(first, 'kept');
    await commit(first, { offset: 1n }, 'simple');
    await commit(first, { offset: 2n }, 'simple');
    await commit(first, { offset: 5n }, 'gone');
    expect(await first.deleteGroups(['gone'])).toEqual([{ groupId: 'gone', errorCode: 0 }]);
    first.close();
    const second = coordinator();
    await second.loaded();
    expect([...second.groups()].map((g) => [g.groupId, g.state]).sort()).toEqual([
      ['kept', 'Stable'],
      ['simple', 'Empty'],
    ]);
    expect(second.fetchOffsets('simple', null).topics[0].partitions[0].offset).toBe(2n);
    expect(second.fetchOffsets('gone', null).topics).toEqual([]);
  });

  it('expires the members of a reloaded group that do not heartbeat within their session', async () => {
    const first = await ready();
    const { memberId, generation } = await stableGroup(first);
    first.close();
    const second = coordinator();
    await second.loaded();
    clock.advance(10_001);
    expect(second.heartbeat('g', { generationId: generation, memberId, groupInstanceId: null })).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(second.describeGroup('g').state).toBe('Empty');
  });

  it('answers waiting requests NOT_COORDINATOR when it closes', async () => {
    const c = await ready();
    const { memberId } = await stableGroup(c);
    // A new member starts a rebalance, and waits for the current member to rejoin.
    const other = c.joinGroup('g', joinRequest({ requireKnownMemberId: false, clientId: 'other' }));
    c.close();
    expect((await other).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(c.heartbeat('g', { generationId: 1, memberId, groupInstanceId: null })).toBe(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('group coordinator > offsets', () => {
  it('lets a non-member commit with generation -1 to a new or empty group, and fetches -1 where none', async () => {
    const c = await ready();
    expect(errorsOf(await commit(c, { offset: 9n }))).toEqual([0]);
    expect(c.describeGroup('g')).toMatchObject({ state: 'Empty', protocolType: '' });
    const r = c.fetchOffsets('g', [
      { name: 'orders', partitions: [0, 2] },
      { name: 'nope', partitions: [0] },
    ]);
    expect(r.topics.flatMap((t) => t.partitions.map((p) => p.offset))).toEqual([9n, -1n, -1n]);
    expect(
      c.fetchOffsets('unknown-group', [{ name: 'orders', partitions: [0] }]).topics[0].partitions[0].offset,
    ).toBe(-1n);
  });

  it("refuses commits from outside an active group's current generation", async () => {
    const c = await ready();
    const { memberId, generation } = await stableGroup(c);
    expect(errorsOf(await commit(c))).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(errorsOf(await commit(c, { generation: generation + 1, memberId }))).toEqual([
      ErrorCode.ILLEGAL_GENERATION,
    ]);
    expect(errorsOf(await commit(c, { generation, memberId: 'stranger' }))).toEqual([
      ErrorCode.UNKNOWN_MEMBER_ID,
    ]);
    expect(errorsOf(await commit(c, { generation: 3 }, 'no-such-group'))).toEqual([
      ErrorCode.ILLEGAL_GENERATION,
    ]);
    expect(c.fetchOffsets('g', null).topics).toEqual([]);
    expect(errorsOf(await commit(c, { generation, memberId }))).toEqual([0]);
  });

  it('keeps metadata strings, refusing those over offset.metadata.max.bytes', async () => {
    const c = await ready();
    expect(errorsOf(await commit(c, { metadata: 'x'.repeat(16) }))).toEqual([0]);
    expect(errorsOf(await commit(c, { partition: 1, metadata: 'x'.repeat(17) }))).toEqual([
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
    ]);
    expect(errorsOf(await commit(c, { partition: 2, metadata: null }))).toEqual([0]);
    const parts = c.fetchOffsets('g', null).topics[0].partitions;
    expect(parts.map((p) => [p.partition, p.metadata])).toEqual([
      [0, 'x'.repeat(16)],
      [2, ''],
    ]);
  });

  it('refuses commits for unknown topics or partitions with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const c = await ready();
    expect(errorsOf(await commit(c, { topic: 'nope' }))).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(errorsOf(await commit(c, { partition: 3 }))).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  });

  it("reports the write's failure as Kafka maps it, and keeps the old offset", async () => {
    const c = await ready();
    await commit(c, { offset: 1n });
    logs.get(offsetsPartitionFor('g', 4))!.failWith = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    expect(errorsOf(await commit(c, { offset: 2n }))).toEqual([ErrorCode.NOT_COORDINATOR]);
    logs.get(offsetsPartitionFor('g', 4))!.failWith = ErrorCode.RECORD_LIST_TOO_LARGE;
    expect(errorsOf(await commit(c, { offset: 2n }))).toEqual([ErrorCode.INVALID_COMMIT_OFFSET_SIZE]);
    expect(c.fetchOffsets('g', null).topics[0].partitions[0].offset).toBe(1n);
  });

  it('expires the offsets of a group empty for offsets.retention.minutes, then forgets the group', async () => {
    const c = await ready();
    const { memberId, generation } = await stableGroup(c, 'g', 300_000);
    await commit(c, { generation, memberId, offset: 5n, topic: 't' });
    // A Stable group's offsets of subscribed topics never expire.
    for (let i = 0; i < 30; i++) {
      clock.advance(4 * 60 * 1000);
      c.heartbeat('g', { generationId: generation, memberId, groupInstanceId: null });
    }
    expect(c.fetchOffsets('g', null).topics).toHaveLength(1);
    c.leaveGroup('g', [{ memberId, groupInstanceId: null }]);
    clock.advance(59 * 60 * 1000);
    expect(c.fetchOffsets('g', null).topics).toHaveLength(1);
    clock.advance(2 * 60 * 1000); // an hour empty, and the next check
    expect(c.fetchOffsets('g', null).topics).toEqual([]);
    expect(c.describeGroup('g').state).toBe('Dead');
    const keys = logs.get(offsetsPartitionFor('g', 4))!.records.slice(-2);
    expect(keys.map((r) => [decodeRecordKey(r.key).kind, r.value])).toEqual([
      ['offset', null],
      ['group', null],
    ]);
  });

  it("expires a Stable consumer group's offsets of topics it no longer subscribes to (KIP-496)", async () => {
    const c = await ready();
    const { memberId, generation } = await stableGroup(c, 'g', 300_000);
    await commit(c, { generation, memberId, topic: 't' });
    await commit(c, { generation, memberId, topic: 'orders' });
    for (let i = 0; i < 17; i++) {
      clock.advance(4 * 60 * 1000);
      c.heartbeat('g', { generationId: generation, memberId, groupInstanceId: null });
    }
    expect(c.describeGroup('g').state).toBe('Stable');
    expect(c.fetchOffsets('g', null).topics.map((t) => t.name)).toEqual(['t']);
  });

  it('expires a simple consumer group offset by offset, counted from each commit', async () => {
    const c = await ready();
    await commit(c, { partition: 0 });
    clock.advance(30 * 60 * 1000);
    await commit(c, { partition: 1 });
    clock.advance(31 * 60 * 1000);
    expect(c.fetchOffsets('g', null).topics[0].partitions.map((p) => p.partition)).toEqual([1]);
  });
});

describe('group coordinator > deleting', () => {
  it('deletes only empty groups, with their offsets', async () => {
    const c = await ready();
    const { memberId } = await stableGroup(c);
    await commit(c, {}, 'idle');
    expect(await c.deleteGroups(['g', 'idle', 'never'])).toEqual([
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'idle', errorCode: 0 },
      { groupId: 'never', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    expect(c.fetchOffsets('idle', null).topics).toEqual([]);
    c.leaveGroup('g', [{ memberId, groupInstanceId: null }]);
    expect(await c.deleteGroups(['g'])).toEqual([{ groupId: 'g', errorCode: 0 }]);
  });

  it("deletes an active consumer group's offsets only for topics it does not subscribe to", async () => {
    await controller.createTopic(
      { name: 'other', numPartitions: 1, replicationFactor: 1, assignments: [], configs: {} },
      false,
    );
    const c = await ready();
    const { memberId, generation } = await stableGroup(c); // subscribes to 't'
    await commit(c, { generation, memberId, topic: 'orders' });
    const r = await c.deleteOffsets('g', [
      { name: 'orders', partitions: [0] },
      { name: 'other', partitions: [0] },
      { name: 'missing', partitions: [0] },
    ]);
    expect(r.errorCode).toBe(0);
    expect(r.topics.map((t) => t.partitions[0].errorCode)).toEqual([
      0,
      0,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    expect(c.fetchOffsets('g', null).topics).toEqual([]);
    expect((await c.deleteOffsets('never', [])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('refuses to delete offsets of subscribed topics with GROUP_SUBSCRIBED_TO_TOPIC', async () => {
    const c = await ready();
    const { memberId, generation } = await stableGroup(c);
    await commit(c, { generation, memberId, topic: 't' });
    const r = await c.deleteOffsets('g', [{ name: 't', partitions: [0] }]);
    expect(r.topics[0].partitions[0].errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    expect(c.fetchOffsets('g', null).topics).toHaveLength(1);
  });
});

describe('group coordinator > listing and metrics', () => {
  it('lists its groups, filtered by state and type', async () => {
    const c = await ready();
    await stableGroup(c, 'busy');
    await commit(c, {}, 'idle');
    const names = (states: string[], types: string[] = []): string[] =>
      c
        .listGroups(states, types)
        .groups.map((g) => g.groupId)
        .sort();
    expect(names([])).toEqual(['busy', 'idle']);
    expect(names(['stable'])).toEqual(['busy']);
    expect(names(['Empty', 'Dead'])).toEqual(['idle']);
    expect(names([], ['Classic'])).toEqual(['busy', 'idle']);
    expect(names([], ['consumer'])).toEqual([]);
  });

  it('reports groups by state, members, rebalances, commits and lag at scrape time', async () => {
    const c = await ready();
    const { memberId, generation } = await stableGroup(c);
    await commit(c, { generation, memberId, offset: 40n, partition: 1 });
    const text = await registry.metrics();
    expect(text).toContain('tributary_group_coordinator_groups{state="Stable"} 1');
    expect(text).toContain('tributary_group_coordinator_members 1');
    expect(text).toContain('tributary_group_coordinator_rebalances_total 1');
    expect(text).toContain('tributary_group_coordinator_offset_commits_total 1');
    // The fake high watermark of orders-1 is 101.
    expect(text).toContain('tributary_group_consumer_lag_records{group="g",topic="orders",partition="1"} 61');
    expect(text).toContain('tributary_group_coordinator_partitions{status="active"} 4');
  });
});
