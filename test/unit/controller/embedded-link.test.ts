import { afterEach, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../../src/common/logger.ts';
import { EmbeddedLink } from '../../../src/controller/embedded-link.ts';
import { type MetadataImage, NO_LEADER } from '../../../src/controller/image.ts';
import { fromFormatOne, MemoryStore } from '../../../src/controller/store.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { type Harness, openController, SESSION_MS, topicRequest } from './harness.ts';

const HEARTBEAT_MS = 2000;
const self = { nodeId: 0, host: 'localhost', port: 9092, rack: null };

interface Broker {
  link: EmbeddedLink;
  applied: MetadataImage[];
  /** Resolves with the first applied image (from now on, or already applied last) that satisfies `pred`. */
  until(pred: (image: MetadataImage) => boolean): Promise<MetadataImage>;
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function controller(store = new MemoryStore()): Promise<Harness> {
  const h = await openController({ store });
  cleanup.push(() => h.controller.close());
  return h;
}

async function loneBroker(
  h: Harness,
  o: { incarnationId?: string; onImage?: () => Promise<void> } = {},
): Promise<Broker> {
  const link = new EmbeddedLink({
    controller: h.controller,
    clock: h.clock,
    logger: silentLogger,
    heartbeatIntervalMs: HEARTBEAT_MS,
  });
  cleanup.push(() => link.close());
  const applied: MetadataImage[] = [];
  let waiters: Array<{ pred: (i: MetadataImage) => boolean; resolve: (i: MetadataImage) => void }> = [];
  await link.start({
    self,
    incarnationId: o.incarnationId ?? 'first',
    clusterId: null,
    onImage: async (image) => {
      await o.onImage?.();
      applied.push(image);
      const done = waiters.filter((w) => w.pred(image));
      waiters = waiters.filter((w) => !w.pred(image));
      for (const w of done) w.resolve(image);
    },
  });
  return {
    link,
    applied,
    until: (pred) => {
      const last = applied.at(-1);
      if (last && pred(last)) return Promise.resolve(last);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

const unfenced = (image: MetadataImage) => image.brokers.some((b) => b.nodeId === 0);

describe('controller > embedded link (a lone broker)', () => {
  it('registers fenced and applies the first image before start resolves', async () => {
    const h = await controller();
    const b = await loneBroker(h);
    expect(b.applied).toHaveLength(1);
    expect(b.applied[0].registrations).toMatchObject([{ nodeId: 0, fenced: true, incarnationId: 'first' }]);
  });

  it('is unfenced once caught up, and then leads every partition alone', async () => {
    const h = await controller();
    const b = await loneBroker(h);
    b.link.markCaughtUp();
    await b.until(unfenced);
    const created = await b.link.admin.createTopic(topicRequest('t', { numPartitions: 3 }), false);
    expect(created.ok).toBe(true);
    // Answered only once this broker applied the image holding the topic.
    const partitions = b.applied.at(-1)!.topics.get('t')!.partitions;
    expect(partitions.map((p) => [p.leader, p.isr])).toEqual([
      [0, [0]],
      [0, [0]],
      [0, [0]],
    ]);
  });

  it('after a restart, leads every partition again once caught up', async () => {
    const store = new MemoryStore();
    const first = await controller(store);
    const before = await loneBroker(first);
    before.link.markCaughtUp();
    await before.until(unfenced);
    await before.link.admin.createTopic(topicRequest('t', { numPartitions: 2 }), false);
    await before.link.close();
    await first.controller.close();

    const second = await controller(store);
    const after = await loneBroker(second, { incarnationId: 'second' });
    // The new process is fenced until it says it has recovered its logs.
    expect(
      after.applied
        .at(-1)!
        .topics.get('t')!
        .partitions.map((p) => p.leader),
    ).toEqual([NO_LEADER, NO_LEADER]);
    after.link.markCaughtUp();
    const image = await after.until(unfenced);
    expect(image.topics.get('t')!.partitions.map((p) => [p.leader, p.leaderEpoch, p.isr])).toEqual([
      [0, 2, [0]],
      [0, 2, [0]],
    ]);
  });

  it('leads every partition of a format-1 metadata file once caught up', async () => {
    const store = new MemoryStore(
      fromFormatOne({
        format: 1,
        version: 4,
        clusterId: 'old',
        nodeId: 0,
        nextProducerId: '0',
        topics: [
          {
            name: 't',
            topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
            internal: false,
            configs: {},
            partitions: [{ partition: 0, leader: 0, leaderEpoch: 5, replicas: [0], isr: [0] }],
          },
        ],
      }),
    );
    const b = await loneBroker(await controller(store));
    b.link.markCaughtUp();
    const image = await b.until(unfenced);
    expect(image.clusterId).toBe('old');
    expect(image.topics.get('t')!.partitions[0]).toMatchObject({ leader: 0, isr: [0], leaderEpoch: 7 });
  });

  it('keeps its session by heartbeating on the clock, and loses it once closed', async () => {
    const h = await controller();
    const b = await loneBroker(h);
    b.link.markCaughtUp();
    await b.until(unfenced);
    await h.clock.advanceAsync(SESSION_MS * 3);
    expect(unfenced(h.controller.image())).toBe(true);
    await b.link.close();
    await h.clock.advanceAsync(SESSION_MS * 2);
    expect(unfenced(h.controller.image())).toBe(false);
    expect(h.logged).toContain('Fenced broker 0 (session expired)');
  });

  it('applies images one at a time, in order, skipping none', async () => {
    const h = await controller();
    let inFlight = 0;
    let most = 0;
    const b = await loneBroker(h, {
      onImage: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
      },
    });
    b.link.markCaughtUp();
    await b.until(unfenced);
    await Promise.all([1, 2, 3, 4].map((i) => b.link.admin.createTopic(topicRequest(`t${i}`), false)));
    expect(most).toBe(1);
    const versions = b.applied.map((i) => i.version);
    expect(versions).toEqual(versions.map((_, i) => versions[0] + i));
    expect(versions.at(-1)).toBe(h.controller.image().version);
  });

  it('sends AlterPartition under its broker epoch', async () => {
    const h = await controller();
    const b = await loneBroker(h);
    b.link.markCaughtUp();
    await b.until(unfenced);
    const created = await b.link.admin.createTopic(topicRequest('t', { numPartitions: 1 }), false);
    const topicId = created.ok ? created.topic.topicId : '';
    const r = await b.link.alterPartition({
      topicId,
      partition: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
      newIsr: [0, 1],
    });
    // Accepted as this broker's own request: refused only for naming a broker with no replica.
    expect(r).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_REQUEST });
  });

  it('controlled shutdown resolves once the controller says it may go', async () => {
    const h = await controller();
    const b = await loneBroker(h);
    b.link.markCaughtUp();
    await b.until(unfenced);
    await b.link.controlledShutdown(10_000);
    expect(h.controller.image().registrations[0]).toMatchObject({ shuttingDown: true });
  });
});
