/**
 * A deposed leader cannot acknowledge a write. The leader of a partition is stopped (SIGSTOP: the
 * process and its sockets stay, it just stops running) until its leadership has moved to another
 * broker and a write has been taken there; a Produce (acks=all) is put on a connection it accepted
 * before, and only then is it resumed — so it reads that request still believing itself leader, at
 * its old epoch. The request must not be acknowledged. Afterwards every replica of the partition
 * holds the same log, byte for byte: whatever the old leader may have appended alone was cut away.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { ProduceResponse } from '../../../src/protocol/messages/produce-response.ts';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import {
  createReplicatedTopic,
  metadataFrom,
  produceRequest,
  random,
  rawProduce,
  segmentBytes,
} from './support.ts';

jest.setTimeout(240_000);

let cluster: DevCluster;
let admin: Admin;
const stopped = new Set<number>();

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterEach(async () => {
  for (const n of stopped) await cluster.kill(n, 'SIGCONT');
  stopped.clear();
});

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

const BEFORE = ['written-before-1', 'written-before-2', 'written-before-3'];
const AFTER = ['written-to-the-new-leader-1', 'written-to-the-new-leader-2'];

/** What a deposed leader may answer: anything but success. */
const REFUSALS: number[] = [
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
];

describe('replication > a deposed leader', () => {
  it('resumed after its leadership moved, gets no write acknowledged, and its log ends up identical to the others', async () => {
    const topic = random('fencing');
    await createReplicatedTopic(admin, topic, 1);
    const old = await metadataFrom(cluster.port(0), topic, 0);
    const oldLeader = old.leader;
    const others = [0, 1, 2].filter((n) => n !== oldLeader);
    const toOld = await RawClient.connect(cluster.port(oldLeader));
    try {
      expect((await rawProduce(toOld, topic, 0, BEFORE)).errorCode).toBe(ErrorCode.NONE);

      await cluster.kill(oldLeader, 'SIGSTOP');
      stopped.add(oldLeader);
      const moved = await eventually(
        async () => {
          const p = await metadataFrom(cluster.port(others[0]!), topic, 0);
          expect(others).toContain(p.leader);
          expect(p.leaderEpoch).toBeGreaterThan(old.leaderEpoch);
          return p;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      const toNew = await RawClient.connect(cluster.port(moved.leader));
      try {
        await eventually(
          async () => expect((await rawProduce(toNew, topic, 0, AFTER)).errorCode).toBe(ErrorCode.NONE),
          { timeoutMs: 30_000, intervalMs: 250 },
        );
      } finally {
        toNew.close();
      }

      // The request waits in the stopped broker's socket; it is the first thing it reads on waking.
      toOld.request(
        ApiKey.Produce,
        9,
        4242,
        produceRequest(topic, 0, ['from the past'], { timeoutMs: 5000 }),
      );
      await cluster.kill(oldLeader, 'SIGCONT');
      stopped.delete(oldLeader);
      const answer = await toOld.response(ApiKey.Produce, 9);
      const partition = (answer.body as ProduceResponse).responses[0]!.partitionResponses[0]!;
      expect(REFUSALS).toContain(partition.errorCode);
    } finally {
      toOld.close();
    }

    // Back in the ISR, and then the same bytes on every replica.
    await eventually(
      async () => {
        const p = await metadataFrom(cluster.port(oldLeader), topic, 0);
        expect([...p.isr].sort()).toEqual([0, 1, 2]);
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const logs = await eventually(
      () => {
        const bytes = [0, 1, 2].map((n) => segmentBytes(cluster.dataDir(n), topic, 0));
        expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
        expect(bytes[2]!.equals(bytes[0]!)).toBe(true);
        return bytes;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(logs[0]!.length).toBeGreaterThan(0);
    expect(logs[0]!.includes(Buffer.from('from the past'))).toBe(false);
    for (const v of [...BEFORE, ...AFTER]) expect(logs[0]!.includes(Buffer.from(v))).toBe(true);
  });
});
