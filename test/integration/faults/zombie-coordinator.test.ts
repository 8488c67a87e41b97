/**
 * A zombie group coordinator. The broker that coordinates a group (the leader of the group's
 * offsets partition) is stopped (SIGSTOP) after a commit; the offsets partition gets a new leader,
 * which coordinates the group from then on, and a newer commit is made there. Requests put on a
 * connection to the stopped broker — a commit of an older offset, and an OffsetFetch — are read
 * when it is resumed, before it has heard of its deposition: the commit must not be acknowledged
 * (it cannot reach the offsets partition's ISR), the fetch must not answer the offset it had cached
 * before the newer commit, and in the end every broker serves the newer commit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import type { FindCoordinatorResponse } from '../../../src/protocol/messages/find-coordinator-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { defaultOffsetCommitRequest } from '../../../src/protocol/messages/offset-commit-request.ts';
import type { OffsetCommitResponse } from '../../../src/protocol/messages/offset-commit-response.ts';
import { defaultOffsetFetchRequest } from '../../../src/protocol/messages/offset-fetch-request.ts';
import type { OffsetFetchResponse } from '../../../src/protocol/messages/offset-fetch-response.ts';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { createReplicatedTopic, random } from '../replication/support.ts';
import { withOutput } from './support.ts';

jest.setTimeout(120_000);

let cluster: DevCluster;
let admin: Admin;
const stopped = new Set<number>();

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 120_000);

afterEach(async () => {
  for (const n of stopped) await cluster.kill(n, 'SIGCONT');
  stopped.clear();
});

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

const OFFSET_COMMIT_VERSION = 7;
const OFFSET_FETCH_VERSION = 7;

function commitRequest(group: string, topic: string, offset: bigint): unknown {
  return {
    ...defaultOffsetCommitRequest(),
    groupId: group,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    topics: [
      {
        name: topic,
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: offset,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          },
        ],
      },
    ],
  };
}

function fetchRequest(group: string, topic: string): unknown {
  return { ...defaultOffsetFetchRequest(), groupId: group, topics: [{ name: topic, partitionIndexes: [0] }] };
}

/** The answer of broker `nodeId` to a commit (its error code for the partition). */
async function commit(nodeId: number, group: string, topic: string, offset: bigint): Promise<number> {
  const client = await RawClient.connect(cluster.port(nodeId));
  try {
    const res = await client.call<OffsetCommitResponse>(
      ApiKey.OffsetCommit,
      OFFSET_COMMIT_VERSION,
      commitRequest(group, topic, offset),
    );
    return res.topics[0]!.partitions[0]!.errorCode;
  } finally {
    client.close();
  }
}

function fetched(res: OffsetFetchResponse): { errorCode: number; offset: bigint } {
  const p = res.topics[0]?.partitions[0];
  return { errorCode: res.errorCode || (p?.errorCode ?? ErrorCode.NONE), offset: p?.committedOffset ?? -1n };
}

async function fetchFrom(
  nodeId: number,
  group: string,
  topic: string,
): Promise<{ errorCode: number; offset: bigint }> {
  const client = await RawClient.connect(cluster.port(nodeId));
  try {
    return fetched(
      await client.call<OffsetFetchResponse>(
        ApiKey.OffsetFetch,
        OFFSET_FETCH_VERSION,
        fetchRequest(group, topic),
      ),
    );
  } finally {
    client.close();
  }
}

async function coordinatorOf(asked: number, group: string): Promise<number> {
  const client = await RawClient.connect(cluster.port(asked));
  try {
    const res = await client.call<FindCoordinatorResponse>(ApiKey.FindCoordinator, 2, {
      key: group,
      keyType: 0,
      coordinatorKeys: [],
    });
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`FindCoordinator answered ${res.errorCode}`);
    return res.nodeId;
  } finally {
    client.close();
  }
}

describe('faults > a zombie group coordinator', () => {
  it('acknowledges no commit after its deposition, never serves an offset overtaken elsewhere, and catches up', () =>
    withOutput(cluster, async () => {
      const topic = random('zombie-coordinator');
      const group = random('group');
      await createReplicatedTopic(admin, topic, 1);
      const zombie = await eventually(() => coordinatorOf(0, group));
      await eventually(async () => expect(await commit(zombie, group, topic, 10n)).toBe(ErrorCode.NONE));
      expect(await fetchFrom(zombie, group, topic)).toEqual({ errorCode: ErrorCode.NONE, offset: 10n });

      const toZombie = await RawClient.connect(cluster.port(zombie));
      try {
        await cluster.kill(zombie, 'SIGSTOP');
        stopped.add(zombie);
        const others = [0, 1, 2].filter((n) => n !== zombie);
        const successor = await eventually(
          async () => {
            const c = await coordinatorOf(others[0]!, group);
            expect(others).toContain(c);
            return c;
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        await eventually(
          async () => expect(await commit(successor, group, topic, 20n)).toBe(ErrorCode.NONE),
          {
            timeoutMs: 30_000,
            intervalMs: 100,
          },
        );
        expect(await fetchFrom(successor, group, topic)).toEqual({ errorCode: ErrorCode.NONE, offset: 20n });

        // Read first thing on waking, before the zombie hears of the new leader.
        toZombie.request(ApiKey.OffsetFetch, OFFSET_FETCH_VERSION, 1, fetchRequest(group, topic));
        toZombie.request(ApiKey.OffsetCommit, OFFSET_COMMIT_VERSION, 2, commitRequest(group, topic, 5n));
        await cluster.kill(zombie, 'SIGCONT');
        stopped.delete(zombie);
        const staleFetch = fetched(
          (await toZombie.response(ApiKey.OffsetFetch, OFFSET_FETCH_VERSION)).body as OffsetFetchResponse,
        );
        const staleCommit = (
          (await toZombie.response(ApiKey.OffsetCommit, OFFSET_COMMIT_VERSION)).body as OffsetCommitResponse
        ).topics[0]!.partitions[0]!.errorCode;
        // Refusals a client retries elsewhere; or the newer offset; never the one overtaken.
        expect(staleFetch.offset).not.toBe(10n);
        expect(staleCommit).not.toBe(ErrorCode.NONE);
      } finally {
        toZombie.close();
      }

      // Every broker, the zombie too, sends the group to one coordinator, which serves the newer commit.
      await eventually(
        async () => {
          const coordinators = await Promise.all([0, 1, 2].map((n) => coordinatorOf(n, group)));
          expect(new Set(coordinators).size).toBe(1);
          expect(await fetchFrom(coordinators[0]!, group, topic)).toEqual({
            errorCode: ErrorCode.NONE,
            offset: 20n,
          });
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    }));
});
