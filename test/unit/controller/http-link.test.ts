import { afterEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../src/common/clock.ts';
import { createLogger } from '../../../src/common/logger.ts';
import { HttpLink, nextBackoff } from '../../../src/controller/http-link.ts';
import { buildControllerApp } from '../../../src/controller/http-server.ts';
import type { MetadataImage } from '../../../src/controller/image.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { FakeControllerService, image, topic } from './http-fake-service.ts';

const TOKEN = 'link-test-token';
const self = { nodeId: 0, host: '127.0.0.1', port: 9092, rack: null };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function controller(o: { port?: number; service?: FakeControllerService } = {}) {
  const service = o.service ?? new FakeControllerService();
  const app = buildControllerApp({ service, token: TOKEN, logger: createLogger({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  cleanups.push(() => app.close());
  return { service, app, port: (app.server.address() as AddressInfo).port };
}

function link(port: number, o: { requestTimeoutMs?: number; token?: string } = {}) {
  const logged: Array<Record<string, unknown>> = [];
  const l = new HttpLink({
    addresses: [{ host: '127.0.0.1', port }],
    token: o.token ?? TOKEN,
    clock: systemClock,
    logger: createLogger({
      level: 'info',
      destination: { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) },
    }),
    heartbeatIntervalMs: 20,
    requestTimeoutMs: o.requestTimeoutMs,
  });
  cleanups.push(() => l.close());
  return { link: l, logged };
}

/** Records the images applied, and lets a test wait for a version. */
function applied() {
  const versions: number[] = [];
  const waiters: Array<() => void> = [];
  return {
    versions,
    onImage: async (img: MetadataImage) => {
      versions.push(img.version);
      waiters.splice(0).forEach((w) => w());
    },
    until: async (version: number) => {
      while (!versions.includes(version)) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

/** A TCP server that takes connections and never answers: a controller that hangs. */
async function blackHole(onConnection: () => void = () => undefined) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onConnection();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return { port: (server.address() as AddressInfo).port, close };
}

async function freePort(): Promise<number> {
  const h = await blackHole();
  await h.close();
  return h.port;
}

describe('HttpLink > back-off', () => {
  it('waits 100 ms, doubling to 500 ms', () => {
    const delays = [nextBackoff(null)];
    for (let i = 0; i < 6; i++) delays.push(nextBackoff(delays[delays.length - 1]));
    expect(delays).toEqual([100, 200, 400, 500, 500, 500, 500]);
  });
});

describe('HttpLink > registration and images', () => {
  it('registers, then resolves start once the first image is applied', async () => {
    const { service, port } = await controller();
    service.current = image(3, [topic('a')]);
    const { link: l } = link(port);
    const images: MetadataImage[] = [];
    await l.start({
      self,
      incarnationId: 'inc-1',
      clusterId: null,
      onImage: async (img) => void images.push(img),
    });
    expect(service.calls[0]).toEqual({
      method: 'register',
      args: [{ ...self, incarnationId: 'inc-1', clusterId: null }],
    });
    expect(images).toHaveLength(1);
    expect(images[0].version).toBe(3);
    expect(images[0].topics.get('a')).toEqual(topic('a'));
    expect(images[0].topicsById.get(topic('a').topicId)).toEqual(topic('a'));
  });

  it('retries registration while the controller is away, logging the outage once', async () => {
    let attempts = 0;
    let enough!: () => void;
    const threeAttempts = new Promise<void>((resolve) => (enough = resolve));
    const port = await freePort();
    // A controller that accepts connections and resets them: each attempt fails at once.
    const refusing = net.createServer((s) => {
      s.destroy();
      if (++attempts === 3) enough();
    });
    await new Promise<void>((resolve) => refusing.listen(port, '127.0.0.1', resolve));
    const { link: l, logged } = link(port);
    const onImage = applied();
    const started = l.start({ self, incarnationId: 'i', clusterId: null, onImage: onImage.onImage });
    await threeAttempts;
    await new Promise<void>((resolve) => refusing.close(() => resolve()));
    const { service } = await controller({ port });
    await started;
    expect(service.count('register')).toBe(1);
    expect(onImage.versions).toEqual([1]);
    const messages = logged.map((l) => l['msg']);
    expect(messages.filter((m) => m === 'The controller is not reachable; retrying')).toHaveLength(1);
    expect(messages).toContain('Reached the controller again');
  });

  it('applies newer images in order, one at a time', async () => {
    const { service, port } = await controller();
    const { link: l } = link(port);
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const done = applied();
    await l.start({
      self,
      incarnationId: 'i',
      clusterId: null,
      onImage: async (img) => {
        order.push(`start ${img.version}`);
        if (img.version === 2) await gate;
        order.push(`end ${img.version}`);
        await done.onImage(img);
      },
    });
    service.publish(image(2));
    service.publish(image(3));
    service.publish(image(4));
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await done.until(4);
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'start 4', 'end 4']);
  });

  it('reconnects a dropped stream and does not apply an image it already has', async () => {
    const { service, port, app } = await controller();
    const { link: l } = link(port);
    const done = applied();
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: done.onImage });
    const before = service.calls.length;
    // Cut every connection from the controller's side, as a restart of the controller would.
    app.server.closeAllConnections();
    await service.called('brokerLost', before);
    await service.called('subscribe', before);
    service.publish(image(2));
    await done.until(2);
    expect(done.versions).toEqual([1, 2]);
  });

  it('registers again when a heartbeat says its epoch is stale, and reopens the stream with the new one', async () => {
    const { service, port } = await controller();
    const { link: l } = link(port);
    const done = applied();
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: done.onImage });
    const registered = service.count('register');
    service.registerResult = { ok: true, brokerEpoch: 8, clusterId: 'cluster-1', controllerEpoch: 1 };
    service.current = image(5, [], { brokerEpoch: 8 });
    service.heartbeatResult = { ok: false, errorCode: ErrorCode.STALE_BROKER_EPOCH, errorMessage: 'stale' };
    await service.called('register', registered);
    service.heartbeatResult = { ok: true, fenced: false, shutdownReady: false };
    await done.until(5);
    const hb = await service.called('heartbeat', service.calls.length);
    expect(hb.args[0]).toMatchObject({ brokerEpoch: 8 });
    // The old stream's close is reported with the old epoch: the controller ignores it.
    expect((await service.called('brokerLost')).args).toEqual([0, 7, 'connection closed']);
  });
});

describe('HttpLink > heartbeats and shutdown', () => {
  it('heartbeats, telling the controller once it has caught up', async () => {
    const { service, port } = await controller();
    const { link: l } = link(port);
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    const first = await service.called('heartbeat');
    expect(first.args[0]).toEqual({ nodeId: 0, brokerEpoch: 7, caughtUp: false, wantShutdown: false });
    l.markCaughtUp();
    for (let from = service.calls.length; ; from = service.calls.length) {
      const hb = await service.called('heartbeat', from);
      if ((hb.args[0] as { caughtUp: boolean }).caughtUp) break;
    }
  });

  it('controlled shutdown resolves once the controller says it is ready; the close then says it stopped', async () => {
    const { service, port } = await controller();
    const { link: l } = link(port);
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    service.heartbeatResult = { ok: true, fenced: false, shutdownReady: true };
    await l.controlledShutdown(10_000);
    const last = service.calls.filter((c) => c.method === 'heartbeat').pop();
    expect(last?.args[0]).toMatchObject({ wantShutdown: true });
    await l.close();
    const lost = await service.called('brokerLost');
    expect(lost.args).toEqual([0, 7, 'stopped after its controlled shutdown']);
  });

  it('controlled shutdown gives up after its timeout when the controller never agrees', async () => {
    const { port } = await controller();
    const { link: l } = link(port);
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    const t0 = Date.now();
    await l.controlledShutdown(100);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it('a close without controlled shutdown is reported as the broker lost', async () => {
    const { service, port } = await controller();
    const { link: l } = link(port);
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    await l.close();
    expect((await service.called('brokerLost')).args).toEqual([0, 7, 'connection closed']);
  });
});

describe('HttpLink > admin calls', () => {
  it('sends AlterPartition with its node id and broker epoch', async () => {
    const { service, port } = await controller();
    const { link: l } = link(port);
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    const req = { topicId: 'x', partition: 1, leaderEpoch: 2, partitionEpoch: 3, newIsr: [0] };
    expect(await l.alterPartition(req)).toEqual(service.alterResult);
    expect((await service.called('alterPartition')).args).toEqual([{ ...req, nodeId: 0, brokerEpoch: 7 }]);
  });

  it('forwards topic administration and producer ids', async () => {
    const { service, port } = await controller();
    const { link: l } = link(port);
    const create = { name: 'o', numPartitions: 3, replicationFactor: 1, assignments: [], configs: {} };
    expect(await l.admin.createTopic(create, false)).toEqual({ ok: true, topic: topic('t') });
    expect(await l.admin.deleteTopic({ name: 'o' })).toEqual({ ok: true, topic: topic('t') });
    expect(await l.admin.createPartitions('o', 4, null, true)).toEqual({ ok: true, topic: topic('t') });
    expect(await l.admin.alterTopicConfigs('o', { replace: {} }, false)).toEqual({
      ok: true,
      topic: topic('t'),
    });
    expect(await l.admin.electLeaders('preferred', null)).toEqual(service.electResult);
    expect(await l.admin.electLeaders('unclean', [{ topic: 'o', partitions: [0, 2] }])).toEqual(
      service.electResult,
    );
    const moves = [
      {
        topic: 'o',
        partitions: [
          { partition: 0, replicas: [1, 2] },
          { partition: 1, replicas: null },
        ],
      },
    ];
    expect(await l.admin.alterPartitionReassignments(moves)).toEqual(service.reassignResult);
    expect(await l.admin.listPartitionReassignments(null)).toEqual(service.listResult);
    service.nextProducerId = 2n ** 60n;
    expect(await l.admin.allocateProducerIds(5)).toBe(2n ** 60n);
    expect(service.calls.map((c) => c.method)).toEqual([
      'createTopic',
      'deleteTopic',
      'createPartitions',
      'alterTopicConfigs',
      'electLeaders',
      'electLeaders',
      'alterPartitionReassignments',
      'listPartitionReassignments',
      'allocateProducerIds',
    ]);
    expect(service.calls.find((c) => c.method === 'alterPartitionReassignments')?.args).toEqual([moves]);
    expect(service.calls.filter((c) => c.method === 'electLeaders').map((c) => c.args)).toEqual([
      ['preferred', null],
      ['unclean', [{ topic: 'o', partitions: [0, 2] }]],
    ]);
  });

  it('answers REQUEST_TIMED_OUT at once when nothing listens at the address', async () => {
    const { link: l } = link(await freePort());
    const r = await l.admin.createTopic(
      { name: 'o', numPartitions: 1, replicationFactor: 1, assignments: [], configs: {} },
      false,
    );
    expect(r).toMatchObject({ ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT });
    expect(r.ok ? '' : r.errorMessage).toMatch(/^The controller is not reachable: .*ECONNREFUSED/);
    await expect(l.admin.allocateProducerIds(1)).rejects.toThrow(/The controller is not reachable/);
  });

  it('answers REQUEST_TIMED_OUT within the request timeout when the controller hangs', async () => {
    const hole = await blackHole();
    cleanups.push(hole.close);
    const { link: l } = link(hole.port, { requestTimeoutMs: 150 });
    const t0 = Date.now();
    const r = await l.admin.deleteTopic({ name: 'o' });
    expect(r).toMatchObject({ ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT });
    expect(Date.now() - t0).toBeLessThan(2000);
    await expect(l.admin.allocateProducerIds(1)).rejects.toThrow(/no answer within 150 ms/);
  });

  it('answers an error, not a hang, when the controller refuses the token', async () => {
    const { port } = await controller();
    const { link: l } = link(port, { token: 'wrong' });
    const r = await l.admin.deleteTopic({ name: 'o' });
    expect(r).toMatchObject({ ok: false, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR });
    expect(r.ok ? '' : r.errorMessage).toMatch(/HTTP 401/);
  });
});
