/**
 * A zombie leader's acks=1 writes are cut away. The leader of a partition is stopped (SIGSTOP) and,
 * before the controller has noticed, acks=1 Produce requests are put on a connection it accepted
 * earlier: they wait in its socket ahead of any news of its deposition. Its leadership moves (the
 * session timeout is 3 s), the new leader takes writes, an acks=all request joins the queue, and the
 * zombie is resumed. It may acknowledge the acks=1 writes — it reads them still believing itself
 * leader, and acks=1 is one replica's word — but never the acks=all one. Then it learns of the new
 * leader, truncates its log to where its epoch ended on the new leader, and fetches from there:
 * every replica ends up with the same bytes, and none holds the zombie's records.
 * (../replication/fencing.test.ts covers an acks=all request read after the deposition.)
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
  type RawPartition,
} from '../replication/support.ts';

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

const REFUSALS: number[] = [
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
];

const BEFORE = ['before-the-stop-1', 'before-the-stop-2'];
const AFTER = ['to-the-new-leader-1', 'to-the-new-leader-2'];
const ZOMBIE_ACKS_1 = ['zombie-acks-1-a', 'zombie-acks-1-b', 'zombie-acks-1-c'];
const ZOMBIE_ACKS_ALL = 'zombie-acks-all';

describe('faults > a zombie leader', () => {
  it('has the acks=1 records it took while deposed truncated away, acknowledges no acks=all write, and rejoins with identical bytes', async () => {
    const topic = random('zombie');
    await createReplicatedTopic(admin, topic, 1);
    const old = await metadataFrom(cluster.port(0), topic, 0);
    const zombie = old.leader;
    const others = [0, 1, 2].filter((n) => n !== zombie);
    const toZombie = await RawClient.connect(cluster.port(zombie));
    const answers: Array<{ correlationId: number; errorCode: number }> = [];
    let moved: RawPartition | undefined;
    try {
      expect((await rawProduce(toZombie, topic, 0, BEFORE)).errorCode).toBe(ErrorCode.NONE);

      await cluster.kill(zombie, 'SIGSTOP');
      stopped.add(zombie);
      // Queued ahead of anything the controller will tell it: one batch per request.
      ZOMBIE_ACKS_1.forEach((v, i) =>
        toZombie.request(ApiKey.Produce, 9, 100 + i, produceRequest(topic, 0, [v], { acks: 1 })),
      );
      moved = await eventually(
        async () => {
          const p = await metadataFrom(cluster.port(others[0]!), topic, 0);
          expect(others).toContain(p.leader);
          expect(p.leaderEpoch).toBeGreaterThan(old.leaderEpoch);
          return p;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const toNew = await RawClient.connect(cluster.port(moved.leader));
      try {
        await eventually(
          async () => expect((await rawProduce(toNew, topic, 0, AFTER)).errorCode).toBe(ErrorCode.NONE),
          { timeoutMs: 30_000, intervalMs: 100 },
        );
      } finally {
        toNew.close();
      }
      toZombie.request(
        ApiKey.Produce,
        9,
        200,
        produceRequest(topic, 0, [ZOMBIE_ACKS_ALL], { timeoutMs: 5000 }),
      );

      await cluster.kill(zombie, 'SIGCONT');
      stopped.delete(zombie);
      for (let i = 0; i <= ZOMBIE_ACKS_1.length; i++) {
        const { correlationId, body } = await toZombie.response(ApiKey.Produce, 9);
        const p = (body as ProduceResponse).responses[0]!.partitionResponses[0]!;
        answers.push({ correlationId, errorCode: p.errorCode });
      }
    } finally {
      toZombie.close();
    }
    const acksAll = answers.find((a) => a.correlationId === 200);
    expect(acksAll).toBeDefined();
    expect(REFUSALS).toContain(acksAll!.errorCode);
    // The acks=1 requests were read before the zombie knew: it took them (this is what must be cut).
    expect(answers.filter((a) => a.correlationId < 200).map((a) => a.errorCode)).toEqual(
      ZOMBIE_ACKS_1.map(() => ErrorCode.NONE),
    );

    await eventually(
      async () => {
        const p = await metadataFrom(cluster.port(zombie), topic, 0);
        expect([...p.isr].sort()).toEqual([0, 1, 2]);
        expect(p.leader).toBe(moved!.leader);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
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
    for (const v of [...ZOMBIE_ACKS_1, ZOMBIE_ACKS_ALL])
      expect(logs[0]!.includes(Buffer.from(v))).toBe(false);
    for (const v of [...BEFORE, ...AFTER]) expect(logs[0]!.includes(Buffer.from(v))).toBe(true);
  });
});
