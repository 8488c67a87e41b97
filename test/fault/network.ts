/**
 * Network faults on a whole cluster: one {@link FaultProxy} in front of each broker, addressed by
 * node id, and the partitions a test wants expressed over them — a broker cut off from the other
 * brokers while clients still reach it, a broker cut off from everyone — plus a `tributary dev`
 * cluster whose brokers advertise the proxies' ports, so that clients and replication both travel
 * through them.
 *
 * A cut between brokers A and B is made on both proxies: A's fetchers reaching B through B's proxy,
 * B's fetchers reaching A through A's. The proxies know no broker, so this works in front of
 * Apache Kafka as well (its fetchers' client ids are recognised too).
 */
import {
  freePortRange,
  startDevCluster,
  type DevCluster,
  type StartDevClusterOptions,
} from '../helpers/dev-cluster.ts';
import { FaultProxy, type Peer } from './proxy.ts';

const isBroker = (peer: Peer): boolean => peer !== 'client';

/** One proxy per broker, addressed by node id. */
export class ProxySet {
  readonly #proxies: FaultProxy[];

  private constructor(proxies: FaultProxy[]) {
    this.#proxies = proxies;
  }

  /** Proxies on advertised+i forwarding to listen+i, for i in 0..n-1. */
  static async start(o: { n: number; advertised: number; listen: number }): Promise<ProxySet> {
    const proxies: FaultProxy[] = [];
    try {
      for (let i = 0; i < o.n; i++) {
        proxies.push(
          await FaultProxy.start({
            port: o.advertised + i,
            target: { port: o.listen + i },
            name: `broker-${i}`,
          }),
        );
      }
    } catch (err) {
      await Promise.all(proxies.map((p) => p.close()));
      throw err;
    }
    return new ProxySet(proxies);
  }

  get size(): number {
    return this.#proxies.length;
  }

  /** The proxy in front of broker `nodeId`. */
  of(nodeId: number): FaultProxy {
    const p = this.#proxies[nodeId];
    if (!p) throw new Error(`no proxy for broker ${nodeId}`);
    return p;
  }

  /**
   * Cuts broker `nodeId` off from every other broker, both ways — its followers cannot fetch from
   * it and it cannot fetch from its leaders — while clients still reach every broker. Returns the lift.
   */
  isolateFromBrokers(nodeId: number): () => void {
    const self: Peer = `broker-${nodeId}`;
    return this.#each((p, i) =>
      i === nodeId ? p.cut({ peers: isBroker }) : p.cut({ peers: (x) => x === self }),
    );
  }

  /** Cuts broker `nodeId` off from everyone, brokers and clients. Returns the lift. */
  isolate(nodeId: number): () => void {
    const self: Peer = `broker-${nodeId}`;
    return this.#each((p, i) => (i === nodeId ? p.cut() : p.cut({ peers: (x) => x === self })));
  }

  /**
   * Delays broker `follower`'s replication from every other broker by `ms` each way (its fetch
   * requests and their responses). Returns the lift.
   */
  slowReplicationTo(follower: number, ms: number): () => void {
    const self: Peer = `broker-${follower}`;
    return this.#each((p, i) =>
      i === follower ? () => undefined : p.slow(ms, { peers: (x) => x === self }),
    );
  }

  /** Lifts every fault on every proxy; held bytes are delivered. */
  heal(): void {
    for (const p of this.#proxies) p.heal();
  }

  async close(): Promise<void> {
    await Promise.all(this.#proxies.map((p) => p.close()));
  }

  #each(fault: (p: FaultProxy, nodeId: number) => () => void): () => void {
    const lifts = this.#proxies.map(fault);
    return () => lifts.forEach((lift) => lift());
  }
}

export interface ProxiedDevCluster {
  cluster: DevCluster;
  proxies: ProxySet;
  /** Stops the cluster, then the proxies (healed first, so that a controlled shutdown can proceed). */
  stop(): Promise<void>;
}

/**
 * `tributary dev --brokers N` with a {@link FaultProxy} in front of each broker: the brokers listen
 * on one range and advertise another, where the proxies listen. `cluster.port(i)` is the proxy's.
 */
export async function startProxiedDevCluster(o: StartDevClusterOptions = {}): Promise<ProxiedDevCluster> {
  const n = o.brokers ?? 3;
  // N Kafka ports, the controller's, N admin ports, then the N proxies.
  const port = await freePortRange(3 * n + 1);
  const advertised = port + 2 * n + 1;
  const proxies = await ProxySet.start({ n, advertised, listen: port });
  let cluster: DevCluster;
  try {
    cluster = await startDevCluster({ ...o, brokers: n, port, advertisedPort: advertised });
  } catch (err) {
    await proxies.close();
    throw err;
  }
  return {
    cluster,
    proxies,
    async stop() {
      proxies.heal();
      await cluster.stop();
      await proxies.close();
    },
  };
}
