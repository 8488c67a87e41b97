/**
 * The metadata controller of `tributary dev --brokers 3`, attacked and killed.
 *
 * Requests that do not carry the cluster's token — none, or a wrong one — are refused with 401 and
 * logged, whatever they ask for: a registration that would fence a broker, a controlled shutdown
 * that would move its leaderships, an image stream that would supersede its own, an ISR change. The
 * cluster goes on as if they had not been sent.
 *
 * kill -9 of the controller under load. The data path does not go through the controller:
 * while it is away, an idempotent acks=all producer keeps getting acknowledgements from the current
 * leaders and a consumer group keeps reading. The outage is held longer than the brokers' session
 * timeout (3 s) by pausing the supervisor before the kill, so the controller that comes back must not
 * take the silence for dead brokers. Once it is back, the supervisor having restarted it, a leader's
 * kill still fails over; nothing acknowledged is lost, duplicated or reordered.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { History, summarize } from '../../fault/history.ts';
import {
  createReplicatedTopic,
  metadataFrom,
  produceUntilStopped,
  random,
  rawProduce,
} from '../replication/support.ts';
import {
  CONSUMER_SETTINGS,
  controllerPid,
  readLogInto,
  running,
  settledPartitions,
  waitControllerUp,
} from './support.ts';

jest.setTimeout(120_000);

const PARTITIONS = 2;
const OUTAGE_MS = 5000;

let cluster: DevCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 120_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

describe('faults > requests to the controller without its token', () => {
  it('are refused with 401 and logged, and change nothing', async () => {
    const topic = random('token');
    await createReplicatedTopic(admin, topic, 1);
    const before = await settledPartitions(cluster, topic);
    const [p] = before;
    const { leaderEpoch } = await metadataFrom(cluster.port(p!.leader), topic, 0);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics).toHaveLength(1);
    const attempts: Array<{ method: string; path: string; body?: unknown }> = [
      {
        method: 'POST',
        path: '/v1/brokers/register',
        body: {
          nodeId: p!.leader,
          host: '127.0.0.1',
          port: 1,
          rack: null,
          incarnationId: 'intruder',
          clusterId: null,
        },
      },
      {
        method: 'POST',
        path: '/v1/brokers/heartbeat',
        body: { nodeId: p!.leader, brokerEpoch: 0, caughtUp: true, wantShutdown: true },
      },
      {
        method: 'POST',
        path: '/v1/partitions/alter',
        body: {
          nodeId: p!.leader,
          brokerEpoch: 0,
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          partition: 0,
          leaderEpoch,
          partitionEpoch: 0,
          newIsr: [p!.leader],
        },
      },
      { method: 'GET', path: `/v1/brokers/${p!.leader}/images?brokerEpoch=0` },
    ];
    const token = readFileSync(join(cluster.root, 'controller', 'token'), 'utf8').trim();
    for (const authorization of [undefined, 'Bearer not-the-token', `Bearer ${token}x`, token]) {
      for (const a of attempts) {
        const res = await fetch(`${cluster.controllerUrl}${a.path}`, {
          method: a.method,
          headers: {
            ...(a.body ? { 'content-type': 'application/json' } : {}),
            ...(authorization ? { authorization } : {}),
          },
          body: a.body ? JSON.stringify(a.body) : undefined,
          signal: AbortSignal.timeout(5000),
        });
        expect({ ...a, authorization, status: res.status }).toEqual({ ...a, authorization, status: 401 });
        await res.body?.cancel();
      }
    }
    // The log comes through the supervisor's pipe, a moment later.
    await eventually(() => {
      const refusals = cluster.output().match(/Refused a controller API request without the right token/g);
      expect(refusals?.length ?? 0).toBe(4 * attempts.length);
    });
    expect(cluster.output()).not.toContain(token);

    // Nobody fenced, nothing moved, and writes are acknowledged by the whole ISR as before.
    expect(await cluster.partitions(topic)).toEqual(before);
    expect(cluster.output()).not.toMatch(/Fenced broker/);
    const client = await RawClient.connect(cluster.port(p!.leader));
    try {
      expect((await rawProduce(client, topic, 0, ['after-the-intruder'])).errorCode).toBe(ErrorCode.NONE);
    } finally {
      client.close();
    }
    const metrics = await (await fetch(`${cluster.controllerUrl}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `tributary_controller_api_unauthorized_requests_total(\\{[^}]*\\})? ${4 * attempts.length}\\b`,
      ),
    );
  });
});

describe('faults > kill -9 of the controller', () => {
  it('leaves produce and fetch running on the current leaders, and failover works again once it is restarted', async () => {
    const topic = random('controller-kill');
    const group = random('group');
    await createReplicatedTopic(admin, topic, PARTITIONS);
    const stored = new History();
    const consumed = new History();
    const consumer = cluster.kafka.consumer({ groupId: group, ...CONSUMER_SETTINGS });
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const t of payload.topics)
        for (const p of t.partitions) consumed.commit(group, p.partition, BigInt(p.offset));
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let consumedCount = 0;
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        consumed.read(String(message.headers?.['id']), partition, BigInt(message.offset));
        consumedCount++;
      },
    });
    const producer = produceUntilStopped({
      kafka: cluster.kafka,
      topic,
      partitions: PARTITIONS,
      histories: [stored, consumed],
      name: 'kafkajs',
      pauseMs: 10,
    });
    try {
      await eventually(
        () => {
          expect(producer.acknowledged()).toBeGreaterThanOrEqual(20);
          expect(consumedCount).toBeGreaterThan(0);
        },
        { timeoutMs: 30_000 },
      );
      const before = await settledPartitions(cluster, topic);

      // The supervisor is held still so that it restarts the controller only when told to.
      const pid = controllerPid(cluster);
      expect(pid).toBeDefined();
      process.kill(cluster.pid, 'SIGSTOP');
      try {
        process.kill(pid!, 'SIGKILL');
        await eventually(() => expect(running(pid!)).toBe(false), { intervalMs: 10 });
        const [ackedAtKill, consumedAtKill] = [producer.acknowledged(), consumedCount];
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        expect(controllerPid(cluster)).toBeUndefined();
        expect(producer.acknowledged()).toBeGreaterThan(ackedAtKill + 20);
        expect(consumedCount).toBeGreaterThan(consumedAtKill + 20);
      } finally {
        process.kill(cluster.pid, 'SIGCONT');
      }
      await eventually(() => expect(controllerPid(cluster)).not.toBe(pid), { timeoutMs: 30_000 });
      await waitControllerUp(cluster);
      // Nobody was fenced for the silence: the same leaders, the same full ISRs.
      const after = await cluster.partitions(topic);
      expect(after).toEqual(before);
      expect(cluster.output()).not.toMatch(/Fenced broker \d \(session expired\)/);

      // Leadership changes resume: the leader of partition 0 is killed, another takes over.
      const old = await metadataFrom(cluster.port(0), topic, 0);
      const killed = old.leader;
      const killedPid = cluster.brokerPid(killed)!;
      const survivor = [0, 1, 2].find((n) => n !== killed)!;
      await cluster.kill(killed, 'SIGKILL');
      await eventually(
        async () => {
          const p = await metadataFrom(cluster.port(survivor), topic, 0);
          expect([0, 1, 2].filter((n) => n !== killed)).toContain(p.leader);
          expect(p.leaderEpoch).toBeGreaterThan(old.leaderEpoch);
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const ackedAtFailover = producer.acknowledged();
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThan(ackedAtFailover + 20), {
        timeoutMs: 30_000,
      });
      await eventually(() => expect(cluster.brokerPid(killed)).not.toBe(killedPid), { timeoutMs: 30_000 });
      await cluster.waitReady(killed, 60_000);
      await eventually(
        async () => {
          for (const p of await cluster.partitions(topic)) expect([...p.isr].sort()).toEqual([0, 1, 2]);
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } finally {
      producer.stop();
      await producer.done;
    }

    await readLogInto(cluster, topic, stored);
    const log = stored.check();
    expect(summarize(log)).toBe(summarize({ ...log, problems: [] }));
    expect(log.failed).toBe(0);
    await eventually(
      () => {
        const lost = consumed.check().problems.filter((p) => p.kind === 'lost');
        if (lost.length > 0) throw new Error(`the consumer has yet to read ${lost.length} records`);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await consumer.disconnect();
    expect(consumed.check().problems).toEqual([]);
  });
});

describe('faults > a stopped controller (SIGSTOP), resumed', () => {
  it('fences nobody for the heartbeats it could not read while it was stopped', async () => {
    const topic = random('controller-stop');
    await createReplicatedTopic(admin, topic, PARTITIONS);
    const history = new History();
    const producer = produceUntilStopped({
      kafka: cluster.kafka,
      topic,
      partitions: PARTITIONS,
      histories: [history],
      name: 'kafkajs',
      pauseMs: 10,
    });
    const sessionFences = (): number =>
      cluster.output().match(/Fenced broker \d \(session expired\)/g)?.length ?? 0;
    try {
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(20), {
        timeoutMs: 30_000,
      });
      const before = await settledPartitions(cluster, topic);
      const fencesBefore = sessionFences();
      const pid = controllerPid(cluster)!;
      process.kill(pid, 'SIGSTOP');
      try {
        const ackedAtStop = producer.acknowledged();
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        expect(producer.acknowledged()).toBeGreaterThan(ackedAtStop + 20);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await waitControllerUp(cluster);
      const ackedAtResume = producer.acknowledged();
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThan(ackedAtResume + 20), {
        timeoutMs: 30_000,
      });
      expect(sessionFences()).toBe(fencesBefore);
      expect(await cluster.partitions(topic)).toEqual(before);
    } finally {
      producer.stop();
      await producer.done;
    }
    await readLogInto(cluster, topic, history);
    const report = history.check();
    expect(summarize(report)).toBe(summarize({ ...report, problems: [] }));
  });
});

describe('faults > kill -9 of the controller and a partition leader together', () => {
  it('fails the partition over once the controller is back, losing nothing acknowledged', async () => {
    const topic = random('controller-and-leader');
    await createReplicatedTopic(admin, topic, PARTITIONS);
    const history = new History();
    const producer = produceUntilStopped({
      kafka: cluster.kafka,
      topic,
      partitions: PARTITIONS,
      histories: [history],
      name: 'kafkajs',
      pauseMs: 10,
    });
    try {
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(20), {
        timeoutMs: 30_000,
      });
      const old = (await settledPartitions(cluster, topic))[0]!;
      const pids = [controllerPid(cluster)!, cluster.brokerPid(old.leader)!];
      // Both down at once, and kept down for longer than a session.
      process.kill(cluster.pid, 'SIGSTOP');
      try {
        for (const pid of pids) process.kill(pid, 'SIGKILL');
        await eventually(() => expect(pids.filter(running)).toEqual([]), { intervalMs: 10 });
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
      } finally {
        process.kill(cluster.pid, 'SIGCONT');
      }
      await waitControllerUp(cluster);
      await cluster.waitReady(old.leader, 60_000);
      const acked = producer.acknowledged();
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThan(acked + 20), {
        timeoutMs: 30_000,
      });
      await settledPartitions(cluster, topic);
    } finally {
      producer.stop();
      await producer.done;
    }
    await readLogInto(cluster, topic, history);
    const report = history.check();
    expect(summarize(report)).toBe(summarize({ ...report, problems: [] }));
  });
});

describe('faults > kill -9 of the controller during a broker’s controlled shutdown', () => {
  it('the broker still stops and comes back into every ISR; no send fails, nothing acknowledged is lost', async () => {
    const topic = random('controller-during-shutdown');
    await createReplicatedTopic(admin, topic, PARTITIONS);
    const history = new History();
    const producer = produceUntilStopped({
      kafka: cluster.kafka,
      topic,
      partitions: PARTITIONS,
      histories: [history],
      name: 'kafkajs',
      pauseMs: 10,
    });
    try {
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThanOrEqual(20), {
        timeoutMs: 30_000,
      });
      const leader = (await settledPartitions(cluster, topic))[0]!.leader;
      const brokerPid = cluster.brokerPid(leader)!;
      process.kill(brokerPid, 'SIGTERM');
      process.kill(controllerPid(cluster)!, 'SIGKILL');
      await eventually(() => expect(running(brokerPid)).toBe(false), { timeoutMs: 60_000, intervalMs: 50 });
      await waitControllerUp(cluster);
      await cluster.waitReady(leader, 60_000);
      await settledPartitions(cluster, topic);
      const acked = producer.acknowledged();
      await eventually(() => expect(producer.acknowledged()).toBeGreaterThan(acked + 20), {
        timeoutMs: 30_000,
      });
    } finally {
      producer.stop();
      await producer.done;
    }
    await readLogInto(cluster, topic, history);
    const report = history.check();
    expect(summarize(report)).toBe(summarize({ ...report, problems: [] }));
    expect(report.failed).toBe(0);
  });
});
