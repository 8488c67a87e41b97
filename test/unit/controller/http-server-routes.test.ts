import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createLogger } from '../../../src/common/logger.ts';
import {
  buildControllerApp,
  type ControllerRoute,
  tokenDigest,
} from '../../../src/controller/http-server.ts';
import { FakeControllerService, image, topic } from './http-fake-service.ts';
import { openStream } from './http-stream-reader.ts';

const apps: Array<ReturnType<typeof buildControllerApp>> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** An operator's view: clusters by token digest, each with its controller or a reason it has none here. */
function setup() {
  const clusters = new Map<string, ControllerRoute>();
  const registry = new Registry();
  /** The node id each routed request named (undefined when none). */
  const named: Array<number | undefined> = [];
  const app = buildControllerApp({
    route: (token, nodeId) => {
      named.push(nodeId);
      return clusters.get(tokenDigest(token)) ?? null;
    },
    logger: createLogger({ level: 'silent' }),
    registry,
    keepAliveMs: 50,
  });
  apps.push(app);
  const serve = (token: string, route: ControllerRoute) => clusters.set(tokenDigest(token), route);
  return { app, serve, clusters, registry, named };
}

const heartbeat = { nodeId: 0, brokerEpoch: 7, caughtUp: true, wantShutdown: false };
const post = (app: ReturnType<typeof buildControllerApp>, token: string, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload });

describe('controller HTTP API > clusters picked by token', () => {
  it('refuses a token that reaches no cluster with 401', async () => {
    const { app, serve } = setup();
    const service = new FakeControllerService();
    serve('token-a', { service });
    const r = await post(app, 'token-b', '/v1/brokers/heartbeat', heartbeat);
    expect(r.statusCode).toBe(401);
    expect(service.calls).toEqual([]);
  });

  it('answers 503 notController with the reason on every /v1 route while the cluster has no controller here', async () => {
    const { app, serve, registry } = setup();
    serve('token-a', { standby: 'This operator replica is not the leader' });
    for (const r of [
      await post(app, 'token-a', '/v1/brokers/heartbeat', heartbeat),
      await post(app, 'token-a', '/v1/topics/delete', { name: 'x' }),
      await app.inject({
        url: '/v1/brokers/0/images?brokerEpoch=7',
        headers: { authorization: 'Bearer token-a' },
      }),
    ]) {
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({ notController: true, message: 'This operator replica is not the leader' });
    }
    expect(await registry.metrics()).toMatch(/^tributary_controller_api_standby_requests_total 3$/m);
  });

  it('tells the router which broker asks, from its node id header, even when it answers as a standby', async () => {
    const { app, serve, named } = setup();
    serve('token-a', { standby: 'not the leader' });
    const asks = (headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/v1/brokers/heartbeat',
        headers: { authorization: 'Bearer token-a', ...headers },
        payload: heartbeat,
      });
    expect((await asks({ 'tributary-node-id': '2' })).statusCode).toBe(503);
    await asks({});
    await asks({ 'tributary-node-id': 'two' });
    expect(named).toEqual([2, undefined, undefined]);
  });

  it('sends each token to its own cluster’s controller', async () => {
    const { app, serve } = setup();
    const a = new FakeControllerService();
    const b = new FakeControllerService();
    b.topicResult = { ok: true, topic: topic('in-b') };
    serve('token-a', { service: a });
    serve('token-b', { service: b });
    expect((await post(app, 'token-b', '/v1/topics/delete', { name: 'x' })).json()).toEqual({
      ok: true,
      topic: topic('in-b'),
    });
    await post(app, 'token-a', '/v1/brokers/heartbeat', heartbeat);
    expect(a.calls.map((c) => c.method)).toEqual(['heartbeat']);
    expect(b.calls.map((c) => c.method)).toEqual(['deleteTopic']);
  });

  it('streams each cluster’s images from its own controller', async () => {
    const { app, serve } = setup();
    const a = new FakeControllerService();
    const b = new FakeControllerService();
    a.current = image(3, [topic('in-a')]);
    b.current = image(9, [topic('in-b')]);
    serve('token-a', { service: a });
    serve('token-b', { service: b });
    const sa = await openStream(app, { token: 'token-a' });
    const sb = await openStream(app, { token: 'token-b' });
    expect(await sa.next()).toMatchObject({ image: { version: 3, topics: [topic('in-a')] } });
    expect(await sb.next()).toMatchObject({ image: { version: 9, topics: [topic('in-b')] } });
    b.publish(image(10));
    expect(await sb.next()).toMatchObject({ image: { version: 10 } });
    sa.destroy();
    expect((await a.called('brokerLost')).args).toEqual([0, 7, 'connection closed']);
    expect(b.count('brokerLost')).toBe(0);
    sb.destroy();
  });
});

describe('controller HTTP API > a cluster whose controller closes', () => {
  it('ends its streams at the next request of the cluster, without reporting their brokers lost', async () => {
    const { app, serve } = setup();
    const old = new FakeControllerService();
    const other = new FakeControllerService();
    serve('token-a', { service: old });
    serve('token-b', { service: other });
    const s = await openStream(app, { token: 'token-a' });
    const untouched = await openStream(app, { token: 'token-b' });
    await s.next();
    await untouched.next();
    serve('token-a', { standby: 'The controller of this cluster is not open yet' });
    expect((await post(app, 'token-a', '/v1/brokers/heartbeat', heartbeat)).statusCode).toBe(503);
    expect(await s.next()).toBeNull();
    await old.called('unsubscribe');
    expect(old.count('brokerLost')).toBe(0);
    other.publish(image(2));
    expect(await untouched.next()).toMatchObject({ image: { version: 2 } });
    untouched.destroy();
  });

  it('ends its streams at the next keep-alive when no request of the cluster comes', async () => {
    const { app, serve, registry } = setup();
    const old = new FakeControllerService();
    serve('token-a', { service: old });
    const s = await openStream(app, { token: 'token-a' });
    await s.next();
    expect(await registry.metrics()).toMatch(/^tributary_controller_image_streams 1$/m);
    // A new controller for the same cluster: the old one's stream would never carry its images.
    serve('token-a', { service: new FakeControllerService() });
    expect(await s.next()).toBeNull();
    await old.called('unsubscribe');
    expect(old.count('brokerLost')).toBe(0);
    expect(await registry.metrics()).toMatch(/^tributary_controller_image_streams 0$/m);
  });

  it('serves the new controller’s stream once the cluster is routed to it', async () => {
    const { app, serve } = setup();
    serve('token-a', { service: new FakeControllerService() });
    const s = await openStream(app, { token: 'token-a' });
    await s.next();
    const fresh = new FakeControllerService();
    fresh.current = image(5);
    serve('token-a', { service: fresh });
    const s2 = await openStream(app, { token: 'token-a' });
    expect(await s2.next()).toMatchObject({ image: { version: 5 } });
    expect(await s.next()).toBeNull();
    s2.destroy();
    expect((await fresh.called('brokerLost')).args).toEqual([0, 7, 'connection closed']);
  });
});
