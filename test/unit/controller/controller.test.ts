import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { NO_LEADER } from '../../../src/controller/image.ts';
import { LocalFileStore, MemoryStore, StaleControllerError } from '../../../src/controller/store.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { nodeFs } from '../../../src/storage/fs.ts';
import { FakeClock } from '../../../src/common/clock.ts';
import { broker, clusterState, partition, topic } from './fixtures.ts';
import { type Harness, openController, SESSION_MS, topicRequest } from './harness.ts';

/** A FakeClock whose process can be stopped: time passes, and its timers fire only when it runs again. */
class StallingClock extends FakeClock {
  #stalledMs = 0;

  override now(): number {
    return super.now() + this.#stalledMs;
  }

  stall(ms: number): void {
    this.#stalledMs += ms;
  }
}

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.controller.close();
});

async function controller(o: Parameters<typeof openController>[0] = {}): Promise<Harness> {
  const h = await openController(o);
  open.push(h);
  return h;
}

async function threeBrokers(o: Parameters<typeof openController>[0] = {}): Promise<Harness> {
  const h = await controller(o);
  for (const id of [0, 1, 2]) await h.join(id);
  return h;
}

describe('controller > taking over', () => {
  it('starts a new cluster at controller epoch 1, persisted before it serves', async () => {
    const store = new MemoryStore();
    const h = await controller({ store });
    expect(await store.load()).toMatchObject({ controllerEpoch: 1, version: 1 });
    expect(h.controller.image()).toMatchObject({
      controllerEpoch: 1,
      version: 1,
      controllerId: -1,
      brokers: [],
    });
    expect(h.controller.image().clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('fences nobody when it restarts: every live broker gets a fresh session', async () => {
    const first = await threeBrokers();
    await first.controller.close();
    first.clock.advance(SESSION_MS - 1000);
    const second = await controller({ store: first.store, clock: first.clock });
    expect(second.controller.image().controllerEpoch).toBe(2);
    await second.clock.advanceAsync(SESSION_MS - 1000);
    expect(second.controller.image().brokers.map((b) => b.nodeId)).toEqual([0, 1, 2]);
    // The brokers go on heartbeating under the epochs they have.
    second.epochs.set(0, first.epochs.get(0)!);
    second.epochs.set(1, first.epochs.get(1)!);
    await second.beat(0, 1);
    await second.clock.advanceAsync(SESSION_MS / 2);
    expect(second.controller.image().brokers.map((b) => b.nodeId)).toEqual([0, 1]);
    expect(second.logged).toContain('Fenced broker 2 (session expired)');
  });

  it('stops and answers NOT_CONTROLLER once a newer controller took over the same store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-ctl-'));
    try {
      const store = new LocalFileStore({ dir, fs: nodeFs });
      const older = await controller({ store });
      await older.join(0);
      const newer = await controller({ store, clock: older.clock });
      const published = older.images.length;
      expect(await older.controller.createTopic(topicRequest('t'), false)).toMatchObject({
        ok: false,
        errorCode: ErrorCode.NOT_CONTROLLER,
      });
      expect(older.controller.deposed).toBe(true);
      expect(older.images).toHaveLength(published);
      expect(
        await older.controller.heartbeat({ nodeId: 0, brokerEpoch: 1, caughtUp: true, wantShutdown: false }),
      ).toMatchObject({
        errorCode: ErrorCode.NOT_CONTROLLER,
      });
      await expect(older.controller.allocateProducerIds(1)).rejects.toBeInstanceOf(StaleControllerError);
      expect(older.clock.pendingTimers).toBe(1); // the newer one's session timer only
      expect((await newer.controller.createTopic(topicRequest('t'), false)).ok).toBe(true);
      expect((await store.load())!.topics.map((t) => t.name)).toEqual(['t']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('close stops the session timer', async () => {
    const h = await openController();
    expect(h.clock.pendingTimers).toBe(1);
    await h.controller.close();
    expect(h.clock.pendingTimers).toBe(0);
  });
});

describe('controller > brokers', () => {
  it('publishes every new image, in order, each persisted first', async () => {
    const h = await threeBrokers();
    const versions = h.images.map((i) => i.version);
    expect(versions).toEqual(versions.map((_, i) => versions[0] + i));
    expect((await h.store.load())!.version).toBe(versions.at(-1));
    expect(h.controller.image()).toBe(h.images.at(-1));
    expect(h.controller.image()).toMatchObject({ controllerId: 0 });
    expect(h.controller.image().brokers).toEqual([
      { nodeId: 0, host: 'localhost', port: 9092, rack: null },
      { nodeId: 1, host: 'localhost', port: 9093, rack: null },
      { nodeId: 2, host: 'localhost', port: 9094, rack: null },
    ]);
  });

  it('answers INCONSISTENT_CLUSTER_ID to a broker of another cluster', async () => {
    const h = await controller();
    const r = await h.controller.register({
      nodeId: 0,
      host: 'h',
      port: 1,
      rack: null,
      incarnationId: 'x',
      clusterId: 'someone-else',
    });
    expect(r).toMatchObject({ ok: false, errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID });
  });

  it('fences a broker whose heartbeats stop, moving its leaderships, and logs why', async () => {
    const h = await threeBrokers({ settings: { defaultReplicationFactor: 3 } });
    await h.controller.createTopic(topicRequest('t', { numPartitions: 3 }), false);
    const ledBy2 = [...h.controller.image().topics.get('t')!.partitions].filter((p) => p.leader === 2).length;
    for (let i = 0; i < 5; i++) {
      await h.clock.advanceAsync(SESSION_MS / 4);
      await h.beat(0, 1);
    }
    const image = h.controller.image();
    expect(image.registrations.find((b) => b.nodeId === 2)!.fenced).toBe(true);
    for (const p of image.topics.get('t')!.partitions) {
      expect(p.leader).not.toBe(2);
      expect(p.isr).not.toContain(2);
    }
    expect(h.logged).toContain('Fenced broker 2 (session expired)');
    expect(h.logged).toContain(`Moved leadership of ${ledBy2} partitions from broker 2`);
  });

  it('fences nobody for the time it did not run itself (a stopped process): the heartbeats of that time wait unread', async () => {
    const clock = new StallingClock(1_000_000);
    const h = await threeBrokers({ clock });
    clock.stall(2 * SESSION_MS);
    await clock.advanceAsync(SESSION_MS / 4);
    expect(h.controller.image().brokers.map((b) => b.nodeId)).toEqual([0, 1, 2]);
    expect(h.logged.filter((m) => m.startsWith('Fenced'))).toEqual([]);
    // Its sessions were renewed, not suspended: a broker silent from then on is fenced in its time.
    for (let i = 0; i < 5; i++) {
      await h.beat(0, 1);
      await clock.advanceAsync(SESSION_MS / 4);
    }
    expect(h.controller.image().brokers.map((b) => b.nodeId)).toEqual([0, 1]);
    expect(h.logged).toContain('Fenced broker 2 (session expired)');
  });

  it('fences a lost broker at once, unless it registered again since', async () => {
    const h = await threeBrokers();
    await h.controller.brokerLost(1, h.epochs.get(1)! - 1, 'connection closed');
    expect(h.controller.image().brokers).toHaveLength(3);
    await h.controller.brokerLost(1, h.epochs.get(1)!, 'connection closed');
    expect(h.controller.image().brokers.map((b) => b.nodeId)).toEqual([0, 2]);
    expect(h.logged).toContain('Fenced broker 1 (connection closed)');
  });

  it('moves 1,000 partitions led by a fenced broker in one store write', async () => {
    const store = new MemoryStore();
    const h = await threeBrokers({ store, settings: { defaultReplicationFactor: 2 } });
    for (let i = 0; i < 10; i++) {
      await h.controller.createTopic(
        topicRequest(`t${i}`, {
          assignments: Array.from({ length: 100 }, (_, p) => ({ partition: p, brokerIds: [2, p % 2] })),
        }),
        false,
      );
    }
    const before = store.writes;
    await h.controller.brokerLost(2, h.epochs.get(2)!, 'process exited');
    expect(store.writes).toBe(before + 1);
    const partitions = [...h.controller.image().topics.values()].flatMap((t) => t.partitions);
    expect(partitions).toHaveLength(1000);
    for (const p of partitions) {
      expect(p.leader).toBe(p.replicas[1]);
      expect(p).toMatchObject({ leaderEpoch: 1, partitionEpoch: 1, isr: [p.replicas[1]] });
    }
    expect(h.logged).toContain('Moved leadership of 1000 partitions from broker 2');
  });

  it('leaves partitions leaderless when their only in-sync replica is fenced, and elects it again when it is back', async () => {
    const h = await threeBrokers();
    await h.controller.createTopic(
      topicRequest('t', { assignments: [{ partition: 0, brokerIds: [1] }] }),
      false,
    );
    await h.controller.brokerLost(1, h.epochs.get(1)!, 'process exited');
    expect(h.controller.image().topics.get('t')!.partitions[0]).toMatchObject({
      leader: NO_LEADER,
      isr: [1],
    });
    await h.join(1, { incarnationId: 'restarted' });
    expect(h.controller.image().topics.get('t')!.partitions[0]).toMatchObject({ leader: 1, leaderEpoch: 2 });
  });

  it('moves 1,000 partitions back to their preferred leaders in one store write (ElectLeaders)', async () => {
    const drifted = Array.from({ length: 10 }, (_, t) =>
      topic(
        `t${t}`,
        Array.from({ length: 100 }, (_, p) => partition(p, [2, p % 2], { leader: p % 2, leaderEpoch: 3 })),
      ),
    );
    const store = new MemoryStore(
      clusterState({ brokers: [broker(0), broker(1), broker(2)], topics: drifted }),
    );
    const h = await controller({ store });
    const before = store.writes;
    const r = await h.controller.electLeaders('preferred', null);
    expect(r.ok && r.results.flatMap((t) => t.partitions)).toHaveLength(1000);
    expect(store.writes).toBe(before + 1);
    expect(h.images).toHaveLength(1);
    for (const t of h.controller.image().topics.values()) {
      for (const p of t.partitions)
        expect(p).toMatchObject({ leader: 2, leaderEpoch: 4, isr: [2, p.replicas[1]] });
    }
    expect(h.logged).toContain('Elected broker 2 leader of 1000 partitions by preferred election');
  });

  it('places replicas rack-aware over the live brokers: 3 racks of 2, no rack twice in a partition, leaders even', async () => {
    const h = await controller({ settings: { defaultReplicationFactor: 3 } });
    for (const id of [0, 1, 2, 3, 4, 5]) await h.join(id, { rack: `zone-${id % 3}` });
    const r = await h.controller.createTopic(topicRequest('t', { numPartitions: 12 }), false);
    expect(r.ok).toBe(true);
    const partitions = h.controller.image().topics.get('t')!.partitions;
    for (const p of partitions) expect(new Set(p.replicas.map((id) => id % 3)).size).toBe(3);
    const leaders = partitions.map((p) => p.leader);
    for (const id of [0, 1, 2, 3, 4, 5]) expect(leaders.filter((l) => l === id)).toHaveLength(2);
  });

  it('answers nothing and changes nothing when the store fails to write, and carries on after', async () => {
    const store = new MemoryStore();
    const h = await controller({ store });
    await h.join(0);
    const before = h.controller.image();
    const save = store.save.bind(store);
    store.save = () => Promise.reject(new Error('disk full'));
    await expect(h.controller.createTopic(topicRequest('t'), false)).rejects.toThrow('disk full');
    expect(h.controller.image()).toBe(before);
    store.save = save;
    expect((await h.controller.createTopic(topicRequest('t'), false)).ok).toBe(true);
    expect(h.controller.image().version).toBe(before.version + 1);
  });
});
