import { afterEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadBrokerConfig } from '../../../src/broker/config.ts';
import { type Clock, FakeClock, systemClock } from '../../../src/common/clock.ts';
import { ConfigInvalidError } from '../../../src/common/errors.ts';
import { createLogger } from '../../../src/common/logger.ts';
import type { LookupAll } from '../../../src/controller/controller-finder.ts';
import { HttpLink } from '../../../src/controller/http-link.ts';
import { buildControllerApp, type ControllerRoute } from '../../../src/controller/http-server.ts';
import type { MetadataImage } from '../../../src/controller/image.ts';
import { FakeControllerService, image } from './http-fake-service.ts';

const TOKEN = 'addresses-test-token';
const self = { nodeId: 0, host: '127.0.0.1', port: 9092, rack: null };
const MOVED = /^The controller is now at /;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A controller address as an operator replica serves it: its route can be switched between a
 * controller and a standby's 503; every request it gets is counted (as a standby has no streams).
 */
async function replica(o: { host?: string; port?: number; route: ControllerRoute }) {
  const state = { route: o.route, asked: 0 };
  const app = buildControllerApp({
    route: (token) => {
      state.asked++;
      return token === TOKEN ? state.route : null;
    },
    logger: createLogger({ level: 'silent' }),
  });
  await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
  cleanups.push(() => app.close());
  return { state, port: (app.server.address() as AddressInfo).port };
}

async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function link(o: { addresses: Array<{ host: string; port: number }>; clock: Clock; lookup?: LookupAll }) {
  const logged: Array<Record<string, unknown>> = [];
  const l = new HttpLink({
    addresses: o.addresses,
    lookup: o.lookup,
    token: TOKEN,
    clock: o.clock,
    logger: createLogger({
      level: 'info',
      destination: { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) },
    }),
    heartbeatIntervalMs: 20,
  });
  cleanups.push(() => l.close());
  const moves = () => logged.filter((e) => MOVED.test(String(e['msg']))).map((e) => e['msg']);
  return { link: l, logged, moves };
}

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

describe('broker config > controller.address', () => {
  it('takes one HOST:PORT, as before', () => {
    const { config } = loadBrokerConfig({ flags: new Map([['controller.address', 'ctl:9643']]) });
    expect(config.controllerAddress).toEqual([{ host: 'ctl', port: 9643 }]);
  });

  it('takes a comma-separated list, in order', () => {
    const raw = 'op-0.ops.svc:9643, http://10.0.0.7:9700,[::1]:9643';
    const { config } = loadBrokerConfig({ flags: new Map([['controller.address', raw]]) });
    expect(config.controllerAddress).toEqual([
      { host: 'op-0.ops.svc', port: 9643 },
      { host: '10.0.0.7', port: 9700 },
      { host: '::1', port: 9643 },
    ]);
  });

  it.each(['a:1,', 'a:1,,b:2', 'a', 'a:0', 'a:1,b:99999'])('refuses %p, naming the property', (raw) => {
    expect(() => loadBrokerConfig({ flags: new Map([['controller.address', raw]]) })).toThrow(
      ConfigInvalidError,
    );
  });

  it('is unset by default: the broker runs alone', () => {
    expect(loadBrokerConfig({}).config.controllerAddress).toBeNull();
  });
});

describe('HttpLink > finding the controller among its addresses', () => {
  it('passes a dead port and a standby in one round, with no back-off sleep, and says where it found it', async () => {
    const dead = await deadPort();
    const standby = await replica({ route: { standby: 'not the leader' } });
    const service = new FakeControllerService();
    const leader = await replica({ route: { service } });
    // A clock that never moves: a back-off sleep anywhere in the round would hang start().
    const clock = new FakeClock(1_000);
    const { link: l, moves } = link({
      addresses: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: standby.port },
        { host: '127.0.0.1', port: leader.port },
      ],
      clock,
    });
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    expect(standby.state.asked).toBe(1);
    expect(service.count('register')).toBe(1);
    // The stream went straight to the one that answered last.
    expect(service.count('subscribe')).toBe(1);
    expect(moves()).toEqual([`The controller is now at 127.0.0.1:${leader.port}`]);
  });

  it('passes a replica that does not know its token yet (401) when another is the controller', async () => {
    const unaware = await replica({ route: null });
    const service = new FakeControllerService();
    const leader = await replica({ route: { service } });
    const { link: l } = link({
      addresses: [
        { host: '127.0.0.1', port: unaware.port },
        { host: '127.0.0.1', port: leader.port },
      ],
      clock: new FakeClock(),
    });
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    expect(unaware.state.asked).toBe(1);
    expect(service.count('register')).toBe(1);
  });

  it('counts every address a host name resolves to', async () => {
    const service = new FakeControllerService();
    const leader = await replica({ host: '127.0.0.1', route: { service } });
    // The same port on other loopback addresses: one answers as a standby, the other not at all.
    const standby = await replica({ host: '127.0.0.3', port: leader.port, route: { standby: 'standby' } });
    const lookups: string[] = [];
    const lookup: LookupAll = async (host) => {
      lookups.push(host);
      return [{ address: '127.0.0.2' }, { address: '127.0.0.3' }, { address: '127.0.0.1' }];
    };
    const { link: l, moves } = link({
      addresses: [{ host: 'operator.tributary.svc', port: leader.port }],
      clock: new FakeClock(),
      lookup,
    });
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    expect(lookups).toEqual(['operator.tributary.svc']);
    expect(standby.state.asked).toBe(1);
    expect(service.count('register')).toBe(1);
    expect(moves()).toEqual([`The controller is now at 127.0.0.1:${leader.port}`]);
  });

  it('backs off only once a whole round found no controller', async () => {
    const standby = await replica({ route: { standby: 'not open yet' } });
    const clock = new FakeClock();
    const { link: l, logged } = link({
      addresses: [
        { host: '127.0.0.1', port: await deadPort() },
        { host: '127.0.0.1', port: standby.port },
      ],
      clock,
    });
    const started = l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    started.catch(() => undefined);
    const outage = async () => {
      while (!logged.some((e) => e['msg'] === 'The controller is not reachable; retrying'))
        await new Promise((resolve) => setImmediate(resolve));
    };
    await outage();
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(standby.state.asked).toBe(1);
    // The round is over and waits 100 ms of the clock; then the next round asks again.
    standby.state.route = { service: new FakeControllerService() };
    await clock.advanceAsync(100);
    await started;
    expect(standby.state.asked).toBeGreaterThanOrEqual(2);
    expect(logged.find((e) => e['msg'] === 'The controller is not reachable; retrying')).toMatchObject({
      reason: expect.stringMatching(/is not the controller: not open yet/),
    });
  });

  it('follows the controller to another address when the one it used turns standby', async () => {
    const first = new FakeControllerService();
    const second = new FakeControllerService();
    const a = await replica({ route: { service: first } });
    const b = await replica({ route: { standby: 'not the leader' } });
    const { link: l, moves } = link({
      addresses: [
        { host: '127.0.0.1', port: a.port },
        { host: '127.0.0.1', port: b.port },
      ],
      clock: systemClock,
    });
    const done = applied();
    await l.start({ self, incarnationId: 'i', clusterId: null, onImage: done.onImage });
    await first.called('heartbeat');
    // The operator's leadership moves: the new leader's controller has the broker registered.
    second.current = image(4);
    b.state.route = { service: second };
    a.state.route = { standby: 'lost the Lease' };
    await second.called('heartbeat');
    await second.called('subscribe');
    await done.until(4);
    second.publish(image(5));
    await done.until(5);
    expect(moves()).toEqual([
      `The controller is now at 127.0.0.1:${a.port}`,
      `The controller is now at 127.0.0.1:${b.port}`,
    ]);
    // The old controller's stream ended unreported: nobody fenced the broker.
    expect(first.count('brokerLost')).toBe(0);
    expect(second.count('register')).toBe(0);
  });

  it('resolves the names again at the next round', async () => {
    const service = new FakeControllerService();
    const leader = await replica({ route: { service } });
    let answer = [{ address: '127.0.0.2' }];
    const lookups: string[] = [];
    const lookup: LookupAll = async (host) => {
      lookups.push(host);
      return answer;
    };
    const clock = new FakeClock();
    const { link: l, logged } = link({
      addresses: [{ host: 'operator.tributary.svc', port: leader.port }],
      clock,
      lookup,
    });
    const started = l.start({ self, incarnationId: 'i', clusterId: null, onImage: async () => undefined });
    while (!logged.some((e) => e['msg'] === 'The controller is not reachable; retrying'))
      await new Promise((resolve) => setImmediate(resolve));
    // The operator's pod came up at another address.
    answer = [{ address: '127.0.0.1' }];
    await clock.advanceAsync(100);
    await started;
    expect(lookups).toEqual(['operator.tributary.svc', 'operator.tributary.svc']);
    expect(service.count('register')).toBe(1);
  });
});
