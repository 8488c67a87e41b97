/**
 * The group coordinator's APIs at every version they are served, in exact frames: what each version
 * adds is there, errors come back as Kafka's codes in the right place for the version, and a group's
 * state and committed offsets survive a broker restart.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { encodeAssignment, encodeSubscription } from '../../../src/protocol/consumer-protocol.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { ListGroupsRequest } from '../../../src/protocol/messages/list-groups-request.ts';
import { MetadataRequest } from '../../../src/protocol/messages/metadata-request.ts';
import { OffsetFetchRequest } from '../../../src/protocol/messages/offset-fetch-request.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';

jest.setTimeout(60_000);

type Body = Record<string, unknown>;
const PROPERTIES = {
  'group.initial.rebalance.delay.ms': '0',
  'group.max.size': '2',
  'offset.metadata.max.bytes': '10',
  'offsets.topic.num.partitions': '5',
};

let broker: TestBroker;
let client: RawClient;
let topic: string;

const random = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  broker = await startTestBroker({ properties: PROPERTIES });
  client = await RawClient.connect(broker.port);
  topic = random('orders');
  const created = await client.call<Body>(ApiKey.CreateTopics, 5, {
    topics: [{ name: topic, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect((created['topics'] as Body[])[0]['errorCode']).toBe(0);
});

afterAll(async () => {
  client?.close();
  await broker?.remove();
});

const protocols = (names = ['range']) =>
  names.map((name) => ({ name, metadata: encodeSubscription({ topics: [topic] }) }));

function joinBody(groupId: string, o: Body = {}): Body {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 20_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: protocols(),
    reason: null,
    ...o,
  };
}

/** Joins a new one-member group at JoinGroup version `v` (rejoining with the id v4+ asks for). */
async function joinAlone(groupId: string, v: number, o: Body = {}): Promise<Body> {
  let r = await client.call<Body>(ApiKey.JoinGroup, v, joinBody(groupId, o));
  if (r['errorCode'] === ErrorCode.MEMBER_ID_REQUIRED) {
    expect(v).toBeGreaterThanOrEqual(4);
    r = await client.call<Body>(ApiKey.JoinGroup, v, joinBody(groupId, { ...o, memberId: r['memberId'] }));
  }
  return r;
}

async function stableGroup(groupId: string): Promise<{ memberId: string; generationId: number }> {
  const j = await joinAlone(groupId, 9);
  const memberId = j['memberId'] as string;
  const generationId = j['generationId'] as number;
  const s = await client.call<Body>(ApiKey.SyncGroup, 5, {
    groupId,
    generationId,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [
      { memberId, assignment: encodeAssignment({ assignedPartitions: [{ topic, partitions: [0, 1, 2] }] }) },
    ],
  });
  expect(s['errorCode']).toBe(0);
  return { memberId, generationId };
}

function commitBody(groupId: string, o: Body & { offset?: bigint; metadata?: string | null } = {}): Body {
  const { offset, metadata, ...rest } = o;
  return {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: topic,
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: offset ?? 10n,
            committedLeaderEpoch: 0,
            commitTimestamp: -1n,
            committedMetadata: metadata === undefined ? 'meta' : metadata,
          },
        ],
      },
    ],
    ...rest,
  };
}

const commitError = (r: Body): number =>
  ((r['topics'] as Body[])[0]['partitions'] as Body[])[0]['errorCode'] as number;

describe('group APIs > FindCoordinator', () => {
  it.each([0, 1, 2, 3])('names this broker as the coordinator at v%i', async (v) => {
    const r = await client.call<Body>(ApiKey.FindCoordinator, v, {
      key: random('g'),
      keyType: 0,
      coordinatorKeys: [],
    });
    expect(r).toMatchObject({ errorCode: 0, nodeId: 0, host: '127.0.0.1', port: broker.port });
  });

  it('answers a batch of keys at v4, and transactional ids COORDINATOR_NOT_AVAILABLE', async () => {
    const r = await client.call<Body>(ApiKey.FindCoordinator, 4, {
      key: '',
      keyType: 0,
      coordinatorKeys: ['a', 'b'],
    });
    expect(r['coordinators']).toEqual([
      expect.objectContaining({ key: 'a', nodeId: 0, port: broker.port, errorCode: 0 }),
      expect.objectContaining({ key: 'b', nodeId: 0, port: broker.port, errorCode: 0 }),
    ]);
    const tx = await client.call<Body>(ApiKey.FindCoordinator, 4, {
      key: '',
      keyType: 1,
      coordinatorKeys: ['tx'],
    });
    expect((tx['coordinators'] as Body[])[0]).toMatchObject({
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      nodeId: -1,
    });
  });

  it('created the offsets topic as an internal topic with the configured partitions', async () => {
    const r = await client.call<Body>(ApiKey.Metadata, 12, {
      ...MetadataRequest.defaults(),
      topics: [{ name: '__consumer_offsets', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const t = (r['topics'] as Body[])[0];
    expect(t).toMatchObject({ errorCode: 0, isInternal: true });
    expect(t['partitions']).toHaveLength(5);
  });
});

describe('group APIs > membership at every version', () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])(
    'runs a one-member group through JoinGroup v%i and the matching versions',
    async (v) => {
      const groupId = random(`v${v}`);
      const j = await joinAlone(groupId, v);
      expect(j).toMatchObject({
        errorCode: 0,
        generationId: 1,
        leader: j['memberId'],
        skipAssignment: false,
      });
      expect(j['protocolName']).toBe('range');
      expect(j['protocolType']).toBe(v >= 7 ? 'consumer' : null);
      expect(j['members']).toEqual([expect.objectContaining({ memberId: j['memberId'] })]);
      const memberId = j['memberId'] as string;
      const assignment = encodeAssignment({ assignedPartitions: [{ topic, partitions: [0, 1, 2] }] });
      const sv = Math.min(v, 5);
      const s = await client.call<Body>(ApiKey.SyncGroup, sv, {
        groupId,
        generationId: 1,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [{ memberId, assignment }],
      });
      expect(s).toMatchObject({ errorCode: 0, protocolName: sv >= 5 ? 'range' : null });
      expect(Buffer.from(s['assignment'] as Buffer)).toEqual(assignment);
      const hb = await client.call<Body>(ApiKey.Heartbeat, Math.min(v, 4), {
        groupId,
        generationId: 1,
        memberId,
        groupInstanceId: null,
      });
      expect(hb['errorCode']).toBe(0);
      const lv = Math.min(v, 5);
      const l = await client.call<Body>(ApiKey.LeaveGroup, lv, {
        groupId,
        memberId: lv >= 3 ? '' : memberId,
        members: lv >= 3 ? [{ memberId, groupInstanceId: null, reason: 'done' }] : [],
      });
      expect(l['errorCode']).toBe(0);
      if (lv >= 3) expect(l['members']).toEqual([{ memberId, groupInstanceId: null, errorCode: 0 }]);
      const d = await client.call<Body>(ApiKey.DescribeGroups, 5, {
        groups: [groupId],
        includeAuthorizedOperations: false,
      });
      expect((d['groups'] as Body[])[0]).toMatchObject({ groupState: 'Empty', members: [] });
    },
  );

  it('keeps a static member (v5+) in place when it restarts, and fences its old id', async () => {
    const groupId = random('static');
    const j = await joinAlone(groupId, 5, { groupInstanceId: 'pod-0' });
    const oldId = j['memberId'] as string;
    await client.call(ApiKey.SyncGroup, 3, {
      groupId,
      generationId: 1,
      memberId: oldId,
      groupInstanceId: 'pod-0',
      assignments: [],
    });
    const again = await client.call<Body>(
      ApiKey.JoinGroup,
      5,
      joinBody(groupId, { groupInstanceId: 'pod-0' }),
    );
    expect(again).toMatchObject({ errorCode: 0, generationId: 1 });
    expect(again['memberId']).not.toBe(oldId);
    const hb = await client.call<Body>(ApiKey.Heartbeat, 3, {
      groupId,
      generationId: 1,
      memberId: oldId,
      groupInstanceId: 'pod-0',
    });
    expect(hb['errorCode']).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });
});

describe('group APIs > bad requests', () => {
  it('answers each with its Kafka error, leaving the group as it was', async () => {
    const groupId = random('bad');
    const { memberId, generationId } = await stableGroup(groupId);
    const call = (api: number, v: number, body: Body) => client.call<Body>(api, v, body);
    expect((await call(ApiKey.JoinGroup, 5, joinBody('')))['errorCode']).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await call(ApiKey.JoinGroup, 5, joinBody(groupId, { sessionTimeoutMs: 10 })))['errorCode']).toBe(
      ErrorCode.INVALID_SESSION_TIMEOUT,
    );
    expect((await call(ApiKey.JoinGroup, 5, joinBody(groupId, { memberId: 'who' })))['errorCode']).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(
      (await call(ApiKey.JoinGroup, 5, joinBody(groupId, { protocolType: 'connect' })))['errorCode'],
    ).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const hb = (g: number, m: string) =>
      call(ApiKey.Heartbeat, 4, { groupId, generationId: g, memberId: m, groupInstanceId: null });
    expect((await hb(generationId, 'who'))['errorCode']).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await hb(generationId + 1, memberId))['errorCode']).toBe(ErrorCode.ILLEGAL_GENERATION);
    const sync = await call(ApiKey.SyncGroup, 5, {
      groupId,
      generationId,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      assignments: [],
    });
    expect(sync['errorCode']).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(commitError(await call(ApiKey.OffsetCommit, 8, commitBody(groupId)))).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(
      commitError(
        await call(ApiKey.OffsetCommit, 8, commitBody(groupId, { generationIdOrMemberEpoch: 99, memberId })),
      ),
    ).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await hb(generationId, memberId))['errorCode']).toBe(0);
    const d = await call(ApiKey.DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
    expect((d['groups'] as Body[])[0]).toMatchObject({
      groupState: 'Stable',
      members: [expect.objectContaining({ memberId })],
    });
  });

  it('refuses a member beyond group.max.size with GROUP_MAX_SIZE_REACHED', async () => {
    const groupId = random('full');
    const other = await RawClient.connect(broker.port);
    try {
      const { memberId } = await stableGroup(groupId);
      // A second member starts a rebalance that completes when the first rejoins.
      const second = other.call<Body>(ApiKey.JoinGroup, 3, joinBody(groupId));
      let rejoined: Body;
      do {
        rejoined = await client.call<Body>(ApiKey.JoinGroup, 3, joinBody(groupId, { memberId }));
      } while ((rejoined['members'] as Body[]).length < 2);
      const generationId = rejoined['generationId'];
      expect((await second)['generationId']).toBe(generationId);
      const third = await client.call<Body>(ApiKey.JoinGroup, 3, joinBody(groupId));
      expect(third).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    } finally {
      other.close();
    }
  });
});

describe('group APIs > offsets', () => {
  it('commits at v2 (with retention) and v8, fetches at v1, v5 and v8, -1 where nothing is committed', async () => {
    const g1 = random('simple');
    const g2 = random('simple');
    expect(
      commitError(
        await client.call<Body>(
          ApiKey.OffsetCommit,
          2,
          commitBody(g1, { retentionTimeMs: 60_000n, offset: 5n }),
        ),
      ),
    ).toBe(0);
    expect(commitError(await client.call<Body>(ApiKey.OffsetCommit, 8, commitBody(g2, { offset: 7n })))).toBe(
      0,
    );
    const v1 = await client.call<Body>(ApiKey.OffsetFetch, 1, {
      ...OffsetFetchRequest.defaults(),
      groupId: g1,
      topics: [{ name: topic, partitionIndexes: [0, 1] }],
    });
    expect((v1['topics'] as Body[])[0]['partitions']).toEqual([
      expect.objectContaining({ partitionIndex: 0, committedOffset: 5n, metadata: 'meta', errorCode: 0 }),
      expect.objectContaining({ partitionIndex: 1, committedOffset: -1n, metadata: '', errorCode: 0 }),
    ]);
    const v5 = await client.call<Body>(ApiKey.OffsetFetch, 5, {
      ...OffsetFetchRequest.defaults(),
      groupId: g2,
      topics: null,
      requireStable: false,
    });
    expect(v5['errorCode']).toBe(0);
    expect((v5['topics'] as Body[])[0]['partitions']).toEqual([
      { partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: 0, metadata: 'meta', errorCode: 0 },
    ]);
    const v8 = await client.call<Body>(ApiKey.OffsetFetch, 8, {
      ...OffsetFetchRequest.defaults(),
      groups: [
        { groupId: g1, memberId: null, memberEpoch: -1, topics: null },
        { groupId: g2, memberId: null, memberEpoch: -1, topics: [{ name: topic, partitionIndexes: [0, 2] }] },
        { groupId: '', memberId: null, memberEpoch: -1, topics: null },
      ],
      requireStable: true,
    });
    const groups = v8['groups'] as Body[];
    expect(groups.map((g) => g['groupId'])).toEqual([g1, g2, '']);
    expect(((groups[0]['topics'] as Body[])[0]['partitions'] as Body[])[0]['committedOffset']).toBe(5n);
    expect(
      ((groups[1]['topics'] as Body[])[0]['partitions'] as Body[]).map((p) => p['committedOffset']),
    ).toEqual([7n, -1n]);
    expect(groups[2]).toMatchObject({ errorCode: 0, topics: [] });
  });

  it('keeps metadata strings up to offset.metadata.max.bytes, refusing longer ones', async () => {
    const g = random('meta');
    expect(
      commitError(await client.call<Body>(ApiKey.OffsetCommit, 9, commitBody(g, { metadata: '0123456789' }))),
    ).toBe(0);
    expect(
      commitError(
        await client.call<Body>(ApiKey.OffsetCommit, 9, commitBody(g, { metadata: '0123456789x' })),
      ),
    ).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);
  });

  it('deletes offsets of an empty group (OffsetDelete), and empty groups (DeleteGroups)', async () => {
    const g = random('gone');
    await client.call(ApiKey.OffsetCommit, 8, commitBody(g));
    const od = await client.call<Body>(ApiKey.OffsetDelete, 0, {
      groupId: g,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }],
    });
    expect(od).toMatchObject({
      errorCode: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
    });
    const busy = random('busy');
    await stableGroup(busy);
    const dg = await client.call<Body>(ApiKey.DeleteGroups, 2, { groupsNames: [g, busy, random('never')] });
    expect((dg['results'] as Body[]).map((r) => r['errorCode'])).toEqual([
      0,
      ErrorCode.NON_EMPTY_GROUP,
      ErrorCode.GROUP_ID_NOT_FOUND,
    ]);
  });
});

describe('group APIs > describing and listing', () => {
  it('describes a Stable group with its members, and an unknown one as Dead', async () => {
    const groupId = random('described');
    const { memberId } = await stableGroup(groupId);
    const unknown = random('unknown');
    const d = await client.call<Body>(ApiKey.DescribeGroups, 3, {
      groups: [groupId, unknown],
      includeAuthorizedOperations: true,
    });
    const [g, u] = d['groups'] as Body[];
    expect(g).toMatchObject({
      errorCode: 0,
      groupState: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
    });
    expect(g['authorizedOperations']).toBe((1 << 3) | (1 << 6) | (1 << 8));
    const member = (g['members'] as Body[])[0];
    expect(member).toMatchObject({ memberId, clientId: 'test', clientHost: '/127.0.0.1' });
    expect((member['memberAssignment'] as Buffer).length).toBeGreaterThan(0);
    expect(u).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });
  });

  it('lists groups, by state from v4 and by type from v5', async () => {
    const stable = random('listed');
    await stableGroup(stable);
    const empty = random('listed');
    await client.call(ApiKey.OffsetCommit, 8, commitBody(empty));
    const ids = (r: Body): string[] => (r['groups'] as Body[]).map((g) => g['groupId'] as string);
    const all = await client.call<Body>(ApiKey.ListGroups, 0, ListGroupsRequest.defaults());
    expect(ids(all)).toEqual(expect.arrayContaining([stable, empty]));
    const v4 = await client.call<Body>(ApiKey.ListGroups, 4, {
      ...ListGroupsRequest.defaults(),
      statesFilter: ['Stable'],
    });
    expect(ids(v4)).toContain(stable);
    expect(ids(v4)).not.toContain(empty);
    expect((v4['groups'] as Body[]).find((g) => g['groupId'] === stable)).toMatchObject({
      groupState: 'Stable',
    });
    const v5 = await client.call<Body>(ApiKey.ListGroups, 5, {
      ...ListGroupsRequest.defaults(),
      statesFilter: [],
      typesFilter: ['consumer'],
    });
    expect(ids(v5)).toEqual([]);
  });

  it('advertises the group APIs and their versions in ApiVersions', async () => {
    const r = await client.call<Body>(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'test',
      clientSoftwareVersion: '1',
    });
    const ranges = Object.fromEntries(
      (r['apiKeys'] as Body[]).map((k) => [k['apiKey'], [k['minVersion'], k['maxVersion']]]),
    );
    expect(ranges).toMatchObject({
      8: [2, 9],
      9: [1, 9],
      10: [0, 4],
      11: [0, 9],
      12: [0, 4],
      13: [0, 5],
      14: [0, 5],
      15: [0, 5],
      16: [0, 5],
      42: [0, 2],
      47: [0, 0],
    });
  });
});

describe('group APIs > restart', () => {
  it('rebuilds groups and offsets from the offsets topic when the broker starts again', async () => {
    const stable = random('survivor');
    const { memberId, generationId } = await stableGroup(stable);
    await client.call(
      ApiKey.OffsetCommit,
      8,
      commitBody(stable, { generationIdOrMemberEpoch: generationId, memberId, offset: 33n }),
    );
    client.close();
    await broker.stop();
    broker = await startTestBroker({ dataDir: broker.dataDir, properties: PROPERTIES });
    client = await RawClient.connect(broker.port);
    // The coordinator may still be loading: the client is told so and retries.
    let hb: Body;
    do {
      hb = await client.call<Body>(ApiKey.Heartbeat, 4, {
        groupId: stable,
        generationId,
        memberId,
        groupInstanceId: null,
      });
    } while (hb['errorCode'] === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(hb['errorCode']).toBe(0);
    const f = await client.call<Body>(ApiKey.OffsetFetch, 7, {
      ...OffsetFetchRequest.defaults(),
      groupId: stable,
      topics: null,
      requireStable: false,
    });
    expect(((f['topics'] as Body[])[0]['partitions'] as Body[])[0]).toMatchObject({
      committedOffset: 33n,
      metadata: 'meta',
    });
    const d = await client.call<Body>(ApiKey.DescribeGroups, 5, {
      groups: [stable],
      includeAuthorizedOperations: false,
    });
    expect((d['groups'] as Body[])[0]).toMatchObject({
      groupState: 'Stable',
      members: [expect.objectContaining({ memberId })],
    });
  });
});
