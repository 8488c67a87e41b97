/**
 * The fault proxy (test/fault/proxy.ts) on plain TCP: how it tells replica fetchers from clients by
 * the client id of their first request, and what cuts, one-way cuts, slow links, heals and close do
 * to the bytes and to the ends of the stream. A target server stands in for the broker and records
 * what reaches it; a RawClient against an in-process broker checks a real Kafka exchange.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { encodeRequest } from '../../../src/protocol/frame.ts';
import { eventually } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { clientIdOf, FaultProxy, peerOf } from '../../fault/proxy.ts';

/** A stand-in broker: records what each connection sent and whether it ended. */
class Target {
  readonly conns: Array<{ socket: Socket; got: Buffer; ended: boolean }> = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
    server.on('connection', (socket) => {
      const c = { socket, got: Buffer.alloc(0), ended: false };
      this.conns.push(c);
      socket.on('data', (d: Buffer) => (c.got = Buffer.concat([c.got, d])));
      socket.on('close', () => (c.ended = true));
      socket.on('error', () => undefined);
    });
  }

  static async start(): Promise<Target> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return new Target(server);
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A client socket that collects what it receives. */
async function dial(port: number): Promise<{ socket: Socket; got: () => Buffer; closed: () => boolean }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let got = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  return { socket, got: () => got, closed: () => closed };
}

/** A Kafka request frame (ApiVersions v3) whose header carries `clientId`. */
const frame = (clientId: string | null): Buffer =>
  encodeRequest(
    { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 7, clientId },
    { clientSoftwareName: 'proxy-test', clientSoftwareVersion: '1' },
  );

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ target: Target; proxy: FaultProxy }> {
  const target = await Target.start();
  const proxy = await FaultProxy.start({ port: 0, target: { port: target.port } });
  cleanups.push(
    () => target.close(),
    () => proxy.close(),
  );
  return { target, proxy };
}

/** The target's only connection, once it has received `bytes` bytes. */
const received = (target: Target, bytes: number, i = 0): Promise<Buffer> =>
  eventually(() => {
    const got = target.conns[i]?.got;
    if (!got || got.length < bytes) throw new Error(`the target has ${got?.length ?? 0} of ${bytes} bytes`);
    return got;
  });

describe('fault proxy > telling peers apart', () => {
  it.each([
    ['tributary-replica-fetcher-2', 'broker-2'],
    ['broker-1-fetcher-0', 'broker-1'],
    ['broker-12-fetcher-3', 'broker-12'],
    ['kafkajs', 'client'],
    ['tributary-replica-fetcher-x', 'client'],
    [null, 'client'],
  ])('takes client id %j for %s', (clientId, peer) => {
    expect(peerOf(clientId)).toBe(peer);
  });

  it('reads the client id from a request header, once all of it has arrived', () => {
    const f = frame('broker-3-fetcher-0');
    expect(clientIdOf(f)).toBe('broker-3-fetcher-0');
    expect(clientIdOf(f.subarray(0, 20))).toBeUndefined();
    expect(clientIdOf(f.subarray(0, 10))).toBeUndefined();
    expect(clientIdOf(frame(null))).toBeNull();
  });

  it('classifies a connection by its first request, even split across writes, and forwards it whole', async () => {
    const { target, proxy } = await setup();
    const f = frame('tributary-replica-fetcher-1');
    const c = await dial(proxy.port);
    c.socket.write(f.subarray(0, 9));
    await eventually(() => expect(proxy.peers()).toEqual(['unknown']));
    c.socket.write(f.subarray(9));
    await eventually(() => expect(proxy.peers()).toEqual(['broker-1']));
    expect((await received(target, f.length)).equals(f)).toBe(true);
  });
});

describe('fault proxy > cuts', () => {
  it('holds both ways under a cut, the close included, and delivers everything in order on heal', async () => {
    const { target, proxy } = await setup();
    const c = await dial(proxy.port);
    c.socket.write(frame('kafkajs'));
    await received(target, frame('kafkajs').length);
    proxy.cut();
    c.socket.write('one;');
    c.socket.write('two;');
    target.conns[0]!.socket.write('answer;');
    await eventually(() => expect(proxy.held()).toBe('one;two;answer;'.length));
    c.socket.end();
    // What must not arrive is given time to (a sleep to see nothing happen, not to synchronise).
    await new Promise((r) => setTimeout(r, 200));
    expect(target.conns[0]!.got.length).toBe(frame('kafkajs').length);
    expect(target.conns[0]!.ended).toBe(false);
    expect(c.got().length).toBe(0);

    proxy.heal();
    const got = await received(target, frame('kafkajs').length + 8);
    expect(got.subarray(-8).toString()).toBe('one;two;');
    await eventually(() => expect(c.got().toString()).toBe('answer;'));
    await eventually(() => expect(target.conns[0]!.ended).toBe(true));
  });

  it('cuts one way: requests reach the broker, its answers wait for the heal', async () => {
    const { target, proxy } = await setup();
    const c = await dial(proxy.port);
    proxy.cut({ directions: ['from-broker'] });
    c.socket.write(frame('kafkajs'));
    await received(target, frame('kafkajs').length);
    target.conns[0]!.socket.write('late answer');
    await eventually(() => expect(proxy.held()).toBe('late answer'.length));
    expect(c.got().length).toBe(0);
    proxy.heal();
    await eventually(() => expect(c.got().toString()).toBe('late answer'));
    expect(proxy.held()).toBe(0);
  });

  it("cuts only the peers it names: a replica fetcher's connection is held, a client's flows", async () => {
    const { target, proxy } = await setup();
    const lift = proxy.cut({ peers: (p) => p === 'broker-2' });
    const fetcher = await dial(proxy.port);
    fetcher.socket.write(frame('tributary-replica-fetcher-2'));
    await eventually(() => expect(proxy.held()).toBe(frame('tributary-replica-fetcher-2').length));
    const client = await dial(proxy.port);
    client.socket.write(frame('kafkajs'));
    await eventually(() => expect(target.conns.map((c) => c.got.length)).toContain(frame('kafkajs').length));
    // The fetcher's request is still held after the client's went through.
    expect(target.conns.map((c) => c.got.length)).not.toContain(frame('tributary-replica-fetcher-2').length);
    lift();
    await eventually(() =>
      expect(target.conns.map((c) => c.got.length).sort()).toEqual(
        [frame('kafkajs').length, frame('tributary-replica-fetcher-2').length].sort(),
      ),
    );
  });
});

describe('fault proxy > slow links and closing', () => {
  it('delays each chunk by the given time, in order, and forwards at once when lifted', async () => {
    const { target, proxy } = await setup();
    const c = await dial(proxy.port);
    c.socket.write(frame('kafkajs'));
    await received(target, frame('kafkajs').length);
    const lift = proxy.slow(300);
    const sentAt = Date.now();
    for (const s of ['a', 'b', 'c']) c.socket.write(s);
    const got = await received(target, frame('kafkajs').length + 3);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(290);
    expect(got.subarray(-3).toString()).toBe('abc');
    lift();
    c.socket.write('d');
    await received(target, frame('kafkajs').length + 4);
  });

  it('drops what it holds and closes both ends of every connection on close, and stops listening', async () => {
    const { target, proxy } = await setup();
    const c = await dial(proxy.port);
    c.socket.write(frame('kafkajs'));
    await received(target, frame('kafkajs').length);
    proxy.cut();
    c.socket.write('never delivered');
    await eventually(() => expect(proxy.held()).toBe('never delivered'.length));
    const port = proxy.port;
    await proxy.close();
    await eventually(() => expect(c.closed() && target.conns[0]!.ended).toBe(true));
    expect(target.conns[0]!.got.length).toBe(frame('kafkajs').length);
    await expect(dial(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('fault proxy > other protocols', () => {
  it("forwards another protocol's bytes at once (no Kafka header to wait for), and cuts them like a client's", async () => {
    const target = await Target.start();
    const proxy = await FaultProxy.start({ port: 0, target: { port: target.port }, protocol: 'tcp' });
    cleanups.push(
      () => target.close(),
      () => proxy.close(),
    );
    const c = await dial(proxy.port);
    c.socket.write('GET /');
    await received(target, 5);
    expect(proxy.peers()).toEqual(['client']);
    proxy.cut({ peers: (p) => p === 'client' });
    c.socket.write(' HTTP/1.1');
    await eventually(() => expect(proxy.held()).toBe(9));
    proxy.heal();
    expect((await received(target, 14)).toString()).toBe('GET / HTTP/1.1');
  });
});

describe('fault proxy > in front of a broker', () => {
  let broker: TestBroker | undefined;
  afterEach(async () => {
    await broker?.remove();
    broker = undefined;
  });

  it('holds a Kafka response under a one-way cut and delivers it whole on heal', async () => {
    broker = await startTestBroker();
    const proxy = await FaultProxy.start({ port: 0, target: { port: broker.port } });
    cleanups.push(() => proxy.close());
    const client = await RawClient.connect(proxy.port);
    cleanups.push(() => client.close());
    const before = await client.call<{ errorCode: number }>(ApiKey.ApiVersions, 3, frameBody);
    expect(before.errorCode).toBe(0);
    proxy.cut({ directions: ['from-broker'] });
    const answer = client.call<{ errorCode: number; apiKeys: unknown[] }>(ApiKey.ApiVersions, 3, frameBody);
    await eventually(() => expect(proxy.held()).toBeGreaterThan(0));
    proxy.heal();
    const after = await answer;
    expect(after.errorCode).toBe(0);
    expect(after.apiKeys.length).toBeGreaterThan(10);
  });
});

const frameBody = { clientSoftwareName: 'proxy-test', clientSoftwareVersion: '1' };
