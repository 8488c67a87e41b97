import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createLogger } from '../../../src/common/logger.ts';
import { buildControllerApp } from '../../../src/controller/http-server.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { FakeControllerService, image, topic } from './http-fake-service.ts';
import { openStream as openStreamWith } from './http-stream-reader.ts';

const TOKEN = 'sekret-token-value';
const auth = { authorization: `Bearer ${TOKEN}` };

function setup() {
  const service = new FakeControllerService();
  const logged: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const registry = new Registry();
  const app = buildControllerApp({ service, token: TOKEN, logger, registry, keepAliveMs: 50 });
  apps.push(app);
  return { service, app, logged, registry };
}

const apps: Array<ReturnType<typeof buildControllerApp>> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const openStream = (app: ReturnType<typeof buildControllerApp>, nodeId = 0, brokerEpoch = 7) =>
  openStreamWith(app, { token: TOKEN, nodeId, brokerEpoch });

const heartbeat = { nodeId: 0, brokerEpoch: 7, caughtUp: true, wantShutdown: false };

describe('controller HTTP API > authentication', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['the token without the Bearer scheme', { authorization: TOKEN }],
  ])('refuses a request with %s: 401, nothing reaches the controller', async (_what, headers) => {
    const { app, service } = setup();
    const r = await app.inject({ method: 'POST', url: '/v1/brokers/heartbeat', headers, payload: heartbeat });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ error: 'unauthorized' });
    expect(service.calls).toEqual([]);
  });

  it('logs a refusal with the remote address and route, never the token', async () => {
    const { app, logged } = setup();
    await app.inject({
      method: 'POST',
      url: '/v1/topics/create',
      headers: { authorization: 'Bearer guessed-token' },
      payload: {},
    });
    const warn = logged.find((l) => l['level'] === 40);
    expect(warn).toMatchObject({ remoteAddress: '127.0.0.1', route: '/v1/topics/create', method: 'POST' });
    expect(JSON.stringify(logged)).not.toContain('guessed-token');
    expect(JSON.stringify(logged)).not.toContain(TOKEN);
  });

  it('refuses the image stream without the token', async () => {
    const { app, service } = setup();
    const r = await app.inject({ url: '/v1/brokers/0/images?brokerEpoch=7' });
    expect(r.statusCode).toBe(401);
    expect(service.listeners).toBe(0);
  });

  it('counts refusals in its metrics', async () => {
    const { app } = setup();
    await app.inject({ method: 'POST', url: '/v1/brokers/heartbeat', payload: heartbeat });
    const r = await app.inject({ url: '/metrics' });
    expect(r.body).toMatch(/^tributary_controller_api_unauthorized_requests_total 1$/m);
  });

  it.each(['/healthz', '/readyz', '/metrics'])('serves %s without a token', async (url) => {
    const { app } = setup();
    expect((await app.inject({ url })).statusCode).toBe(200);
  });
});

describe('controller HTTP API > routes', () => {
  it('registers a broker', async () => {
    const { app, service } = setup();
    const req = { nodeId: 2, host: 'h', port: 9094, rack: null, incarnationId: 'i', clusterId: null };
    const r = await app.inject({ method: 'POST', url: '/v1/brokers/register', headers: auth, payload: req });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ok: true, brokerEpoch: 7, clusterId: 'cluster-1', controllerEpoch: 1 });
    expect(service.calls).toEqual([{ method: 'register', args: [req] }]);
  });

  it('answers a Kafka refusal as data: 200 with the error code', async () => {
    const { app, service } = setup();
    service.heartbeatResult = { ok: false, errorCode: ErrorCode.STALE_BROKER_EPOCH, errorMessage: 'stale' };
    const r = await app.inject({
      method: 'POST',
      url: '/v1/brokers/heartbeat',
      headers: auth,
      payload: heartbeat,
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ok: false, errorCode: ErrorCode.STALE_BROKER_EPOCH, errorMessage: 'stale' });
  });

  it('passes AlterPartition through', async () => {
    const { app, service } = setup();
    const req = {
      nodeId: 0,
      brokerEpoch: 7,
      topicId: 'x',
      partition: 3,
      leaderEpoch: 2,
      partitionEpoch: 5,
      newIsr: [0, 1],
    };
    const r = await app.inject({ method: 'POST', url: '/v1/partitions/alter', headers: auth, payload: req });
    expect(r.json()).toEqual(service.alterResult);
    expect(service.calls).toEqual([{ method: 'alterPartition', args: [req] }]);
  });

  it('maps each topic route to its TopicAdmin call', async () => {
    const { app, service } = setup();
    const create = {
      name: 'orders',
      numPartitions: -1,
      replicationFactor: 3,
      assignments: [{ partition: 0, brokerIds: [1, 2, 0] }],
      configs: { 'cleanup.policy': 'compact', 'retention.ms': null },
    };
    const post = (url: string, payload: object) =>
      app.inject({ method: 'POST', url, headers: auth, payload });
    for (const r of [
      await post('/v1/topics/create', { request: create, validateOnly: true }),
      await post('/v1/topics/delete', { topicId: 'abc' }),
      await post('/v1/topics/delete', { name: 'orders' }),
      await post('/v1/topics/create-partitions', {
        name: 'orders',
        count: 6,
        assignments: null,
        validateOnly: false,
      }),
      await post('/v1/topics/create-partitions', {
        name: 'orders',
        count: 2,
        assignments: [[0], [1]],
        validateOnly: false,
      }),
      await post('/v1/topics/alter-configs', {
        name: 'orders',
        change: { replace: { a: 'b' } },
        validateOnly: false,
      }),
      await post('/v1/topics/alter-configs', {
        name: 'orders',
        change: { ops: [{ op: 'delete', name: 'a' }] },
        validateOnly: true,
      }),
    ]) {
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ ok: true, topic: topic('t') });
    }
    expect(service.calls).toEqual([
      { method: 'createTopic', args: [create, true] },
      { method: 'deleteTopic', args: [{ topicId: 'abc' }] },
      { method: 'deleteTopic', args: [{ name: 'orders' }] },
      { method: 'createPartitions', args: ['orders', 6, null, false] },
      { method: 'createPartitions', args: ['orders', 2, [[0], [1]], false] },
      { method: 'alterTopicConfigs', args: ['orders', { replace: { a: 'b' } }, false] },
      { method: 'alterTopicConfigs', args: ['orders', { ops: [{ op: 'delete', name: 'a' }] }, true] },
    ]);
  });

  it('passes ElectLeaders through, null targets (every partition) included', async () => {
    const { app, service } = setup();
    const post = (payload: object) =>
      app.inject({ method: 'POST', url: '/v1/partitions/elect-leaders', headers: auth, payload });
    const targets = [{ topic: 'orders', partitions: [0, 2] }];
    for (const r of [
      await post({ type: 'preferred', targets: null }),
      await post({ type: 'unclean', targets }),
    ]) {
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual(service.electResult);
    }
    expect((await post({ type: 'sideways', targets: null })).statusCode).toBe(400);
    expect(service.calls).toEqual([
      { method: 'electLeaders', args: ['preferred', null] },
      { method: 'electLeaders', args: ['unclean', targets] },
    ]);
  });

  it('passes partition reassignments through, a null replica list (a cancel) included', async () => {
    const { app, service } = setup();
    const post = (url: string, payload: object) =>
      app.inject({ method: 'POST', url: `/v1/partitions/${url}`, headers: auth, payload });
    const targets = [
      {
        topic: 'orders',
        partitions: [
          { partition: 0, replicas: [1, 2] },
          { partition: 1, replicas: null },
        ],
      },
    ];
    const altered = await post('alter-reassignments', { targets });
    expect(altered.statusCode).toBe(200);
    expect(altered.json()).toEqual(service.reassignResult);
    for (const listed of [
      await post('list-reassignments', { targets: null }),
      await post('list-reassignments', { targets: [{ topic: 'orders', partitions: [0] }] }),
    ]) {
      expect(listed.statusCode).toBe(200);
      expect(listed.json()).toEqual(service.listResult);
    }
    expect((await post('alter-reassignments', { targets: [{ topic: 'orders' }] })).statusCode).toBe(400);
    expect(service.calls).toEqual([
      { method: 'alterPartitionReassignments', args: [targets] },
      { method: 'listPartitionReassignments', args: [null] },
      { method: 'listPartitionReassignments', args: [[{ topic: 'orders', partitions: [0] }]] },
    ]);
  });

  it('hands out producer ids as a decimal string (a bigint does not survive JSON)', async () => {
    const { app, service } = setup();
    service.nextProducerId = 9_007_199_254_740_993n;
    const r = await app.inject({
      method: 'POST',
      url: '/v1/producer-ids',
      headers: auth,
      payload: { count: 10 },
    });
    expect(r.json()).toEqual({ ok: true, first: '9007199254740993' });
    expect(service.calls).toEqual([{ method: 'allocateProducerIds', args: [10] }]);
  });

  it.each([
    ['/v1/brokers/heartbeat', { nodeId: 0 }],
    ['/v1/topics/delete', {}],
    ['/v1/topics/alter-configs', { name: 'x', change: {}, validateOnly: false }],
    ['/v1/producer-ids', { count: 0 }],
  ])('refuses a malformed body on %s with 400, reaching nothing', async (url, payload) => {
    const { app, service } = setup();
    const r = await app.inject({ method: 'POST', url, headers: auth, payload });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: 'bad request' });
    expect(service.calls).toEqual([]);
  });

  it('answers 500 when the controller fails (a fault, not a Kafka error)', async () => {
    const { app, service } = setup();
    service.allocateProducerIds = async () => {
      throw new Error('disk on fire');
    };
    const r = await app.inject({
      method: 'POST',
      url: '/v1/producer-ids',
      headers: auth,
      payload: { count: 1 },
    });
    expect(r.statusCode).toBe(500);
  });
});

describe('controller HTTP API > image stream', () => {
  it('sends the current image at once as NDJSON, then each newer one', async () => {
    const { app, service } = setup();
    service.current = image(4, [topic('a', 2)]);
    const s = await openStream(app);
    expect(s.res.headers['content-type']).toBe('application/x-ndjson');
    const first = await s.next();
    expect(first).toMatchObject({ type: 'image', image: { version: 4, topics: [topic('a', 2)] } });
    expect(first?.['image']).not.toHaveProperty('topicsById');

    service.publish(image(5, [topic('a', 2), topic('b')]));
    expect(await s.next()).toMatchObject({
      type: 'image',
      image: { version: 5, topics: [topic('a', 2), topic('b')] },
    });
    s.destroy();
  });

  it('does not send an image that is not newer than the last one sent', async () => {
    const { app, service } = setup();
    service.current = image(4);
    const s = await openStream(app);
    await s.next();
    service.publish(image(3));
    service.publish(image(4));
    service.publish(image(6));
    expect(await s.next()).toMatchObject({ image: { version: 6 } });
    s.destroy();
  });

  it('reports the broker lost when the stream connection closes', async () => {
    const { app, service } = setup();
    const s = await openStream(app);
    await s.next();
    expect(service.count('brokerLost')).toBe(0);
    s.destroy();
    const lost = await service.called('brokerLost');
    expect(lost.args).toEqual([0, 7, 'connection closed']);
    expect(service.listeners).toBe(0);
  });

  it('fences a broker whose stream closes after its controlled shutdown, saying it stopped', async () => {
    const { app, service } = setup();
    const s = await openStream(app);
    await s.next();
    service.heartbeatResult = { ok: true, fenced: false, shutdownReady: true };
    await app.inject({
      method: 'POST',
      url: '/v1/brokers/heartbeat',
      headers: auth,
      payload: { ...heartbeat, wantShutdown: true },
    });
    s.destroy();
    expect((await service.called('brokerLost')).args).toEqual([
      0,
      7,
      'stopped after its controlled shutdown',
    ]);
    // A later stream of another epoch that closes unasked is a loss again.
    service.current = image(2, [], { brokerEpoch: 8 });
    const s2 = await openStream(app, 0, 8);
    await s2.next();
    s2.destroy();
    await new Promise((resolve) => s2.res.once('close', resolve));
    for (let i = 0; i < 50 && service.count('brokerLost') < 2; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(service.count('brokerLost')).toBe(2);
  });

  it('ends an older stream of the same broker when it opens a new one, without reporting it lost', async () => {
    const { app, service } = setup();
    const old = await openStream(app);
    await old.next();
    const fresh = await openStream(app);
    await fresh.next();
    expect(await old.next()).toBeNull();
    expect(service.count('brokerLost')).toBe(0);
    service.publish(image(2));
    expect(await fresh.next()).toMatchObject({ image: { version: 2 } });
    fresh.destroy();
    expect((await service.called('brokerLost')).args).toEqual([0, 7, 'connection closed']);
    expect(service.count('brokerLost')).toBe(1);
  });

  it('refuses a stream for a broker epoch that is not the registered one', async () => {
    const { app, service } = setup();
    const s = await openStream(app, 0, 6);
    expect(await s.next()).toMatchObject({ type: 'refused', errorCode: ErrorCode.STALE_BROKER_EPOCH });
    expect(await s.next()).toBeNull();
    expect(service.count('brokerLost')).toBe(0);
  });

  it('refuses a stream for a broker that is not registered', async () => {
    const { app } = setup();
    const s = await openStream(app, 5, 1);
    expect(await s.next()).toMatchObject({ type: 'refused', errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED });
  });

  it('keeps an idle stream alive with keep-alive lines', async () => {
    const { app } = setup();
    const s = await openStream(app);
    await s.next();
    await s.until(() => s.keepalives() >= 2);
    s.destroy();
  });

  it('ends every stream when the controller stops, without reporting brokers lost', async () => {
    const { app, service } = setup();
    const s = await openStream(app);
    await s.next();
    await app.close();
    expect(await s.next()).toBeNull();
    expect(service.count('brokerLost')).toBe(0);
  });
});
