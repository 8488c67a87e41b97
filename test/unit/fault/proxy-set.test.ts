/**
 * A proxy per broker (test/fault/network.ts ProxySet) on plain TCP: which connections each
 * partition holds — a broker cut from the other brokers keeps its clients, a broker isolated loses
 * them too, a slowed follower's fetches are late but arrive — and that a heal delivers everything.
 * Three servers stand in for the brokers; connections announce themselves by the client id of a
 * first request as a replica fetcher or a client would.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { encodeRequest } from '../../../src/protocol/frame.ts';
import { eventually, freePortRange } from '../../helpers/dev-cluster.ts';
import { ProxySet } from '../../fault/network.ts';

const frame = (clientId: string): Buffer =>
  encodeRequest(
    { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 1, clientId },
    { clientSoftwareName: 'proxy-set-test', clientSoftwareVersion: '1' },
  );

/** Three stand-in brokers on consecutive ports, each counting the client ids that reached it. */
async function brokers(): Promise<{
  base: number;
  seen: (node: number) => string[];
  close: () => Promise<void>;
}> {
  const base = await freePortRange(3);
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  const seen: string[][] = [[], [], []];
  for (let i = 0; i < 3; i++) {
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', (d: Buffer) => seen[i]!.push(d.toString('utf8', 14, 14 + d.readInt16BE(12))));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(base + i, '127.0.0.1', () => resolve()));
    servers.push(server);
  }
  return {
    base,
    seen: (node) => [...seen[node]!].sort(),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ proxies: ProxySet; seen: (node: number) => string[]; send: Send }> {
  const b = await brokers();
  const advertised = await freePortRange(3);
  const proxies = await ProxySet.start({ n: 3, advertised, listen: b.base });
  cleanups.push(b.close, () => proxies.close());
  const send: Send = async (node, clientId) => {
    const s = connect({ host: '127.0.0.1', port: proxies.of(node).port });
    s.on('error', () => undefined);
    cleanups.push(async () => void s.destroy());
    await new Promise<void>((resolve) => s.once('connect', resolve));
    s.write(frame(clientId));
  };
  return { proxies, seen: b.seen, send };
}

type Send = (node: number, clientId: string) => Promise<void>;

const F = (n: number): string => `tributary-replica-fetcher-${n}`;

describe('fault proxies > a cluster', () => {
  it("cuts a broker off from the other brokers both ways while every broker's clients get through", async () => {
    const { proxies, seen, send } = await setup();
    proxies.isolateFromBrokers(0);
    // Followers 1 and 2 fetching from 0; 0 fetching from 1 and 2; 2 fetching from 1; clients everywhere.
    for (const [node, id] of [
      [0, F(1)],
      [0, F(2)],
      [1, F(0)],
      [2, F(0)],
      [1, F(2)],
      [0, 'kafkajs'],
      [1, 'kafkajs'],
      [2, 'kafkajs'],
    ] as const)
      await send(node, id);
    await eventually(() => {
      expect(seen(0)).toEqual(['kafkajs']);
      expect(seen(1)).toEqual(['kafkajs', F(2)]);
      expect(seen(2)).toEqual(['kafkajs']);
    });
    expect(proxies.of(0).held() + proxies.of(1).held() + proxies.of(2).held()).toBe(frame(F(1)).length * 4);
    proxies.heal();
    await eventually(() => {
      expect(seen(0)).toEqual(['kafkajs', F(1), F(2)]);
      expect(seen(1)).toEqual(['kafkajs', F(0), F(2)]);
      expect(seen(2)).toEqual(['kafkajs', F(0)]);
    });
  });

  it('isolates a broker from everyone, its clients included, and lifts only that fault', async () => {
    const { proxies, seen, send } = await setup();
    const lift = proxies.isolate(1);
    for (const [node, id] of [
      [1, 'kafkajs'],
      [1, F(0)],
      [0, F(1)],
      [0, 'kafkajs'],
      [2, F(0)],
    ] as const)
      await send(node, id);
    await eventually(() => {
      expect(seen(0)).toEqual(['kafkajs']);
      expect(seen(2)).toEqual([F(0)]);
    });
    await eventually(() =>
      expect(proxies.of(0).held() + proxies.of(1).held()).toBe(
        2 * frame(F(0)).length + frame('kafkajs').length,
      ),
    );
    expect(seen(1)).toEqual([]);
    lift();
    await eventually(() => {
      expect(seen(0)).toEqual(['kafkajs', F(1)]);
      expect(seen(1)).toEqual(['kafkajs', F(0)]);
    });
  });

  it("slows a follower's replication from every other broker, and nobody else's traffic", async () => {
    const { proxies, seen, send } = await setup();
    proxies.slowReplicationTo(2, 1000);
    const sentAt = Date.now();
    await send(0, F(2));
    await send(0, F(1));
    await send(0, 'kafkajs');
    // The client's and broker 1's requests arrive while broker 2's is still on its way.
    await eventually(() => expect(seen(0)).toEqual(['kafkajs', F(1)]));
    await eventually(() => expect(seen(0)).toEqual(['kafkajs', F(1), F(2)]));
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(990);
  });
});
