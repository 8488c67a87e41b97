/**
 * Network faults on a whole cluster: one {@link FaultProxy} in front of each broker, addressed by
 * node id, and the partitions a test wants expressed over them — a broker cut off from the other
 * brokers while clients still reach it, a broker cut off from everyone — plus a `tributary dev`
 * cluster whose brokers advertise the proxies' ports, so that clients and replication both travel
 * through them.
 *
 * A cut between brokers A and B is made on both proxies: A's fetchers reaching B through B's proxy,
 * B's fetchers reaching A through A's. The proxies know no broker, so this works in front of
 * Apache Kafka as well (its fetchers' client ids are recognised too). Tributary's brokers also talk
 * to the controller, over HTTP: a second set of proxies, one per broker, can sit on that path, so a
 * leader can be cut off from the controller as well as from its followers (the whole of 2013).
 */
import {
  freePortRange,
  startDevCluster,
  type DevCluster,
  type StartDevClusterOptions,
} from '../helpers/dev-cluster.ts';
import { FaultProxy, type Peer, type ProxyOptions } from './proxy.ts';

const isBroker = (peer: Peer): boolean => peer !== 'client';

/** One proxy per broker, addressed by node id. */
export class ProxySet {
  readonly #proxies: FaultProxy[];

  private constructor(proxies: FaultProxy[]) {
    this.#proxies = proxies;
  }

  /**
   * Proxies on advertised+i forwarding to listen+i (or listen[i]), for i in 0..n-1; 'tcp' for
   * another protocol than Kafka's (see {@link ProxyOptions}).
   */
  static async start(o: {
    n: number;
    advertised: number;
    listen: number | readonly number[];
    protocol?: ProxyOptions['protocol'];
  }): Promise<ProxySet> {
    const proxies: FaultProxy[] = [];
    const target = (i: number): number => (typeof o.listen === 'number' ? o.listen + i : o.listen[i]!);
    try {
      for (let i = 0; i < o.n; i++) {
        proxies.push(
          await FaultProxy.start({
            port: o.advertised + i,
            target: { port: target(i) },
            name: `broker-${i}`,
            protocol: o.protocol,
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
  /** In front of each broker's Kafka listener. */
  proxies: ProxySet;
  /** On each broker's HTTP link to the controller (with `controllerLinks`), else null. */
  controllerLinks: ProxySet | null;
  /**
   * Cuts broker `nodeId` off from the other brokers and from the controller while clients still
   * reach it (needs `controllerLinks`). Returns the lift.
   */
  isolateFromCluster(nodeId: number): () => void;
  /** Lifts every fault, on both sets of proxies. */
  heal(): void;
  /** Stops the cluster, then the proxies (healed first, so that a controlled shutdown can proceed). */
  stop(): Promise<void>;
}

/**
 * `tributary dev --brokers N` with a {@link FaultProxy} in front of each broker: the brokers listen
 * on one range and advertise another, where the proxies listen; `cluster.port(i)` is the proxy's.
 * With `controllerLinks`, each broker also reaches the controller through a proxy of its own
 * (`tributary dev --broker-controller-port`).
 */
export async function startProxiedDevCluster(
  o: StartDevClusterOptions & { controllerLinks?: boolean } = {},
): Promise<ProxiedDevCluster> {
  const { controllerLinks: withLinks, ...options } = o;
  const n = o.brokers ?? 3;
  // N Kafka ports, the controller's, N admin ports, the N Kafka proxies, the N controller proxies.
  const port = await freePortRange(4 * n + 1);
  const controllerPort = port + n;
  const advertised = port + 2 * n + 1;
  const linkBase = port + 3 * n + 1;
  const started: ProxySet[] = [];
  let cluster: DevCluster;
  try {
    started.push(await ProxySet.start({ n, advertised, listen: port }));
    if (withLinks) {
      const listen = Array.from({ length: n }, () => controllerPort);
      started.push(await ProxySet.start({ n, advertised: linkBase, listen, protocol: 'tcp' }));
    }
    cluster = await startDevCluster({
      ...options,
      brokers: n,
      port,
      advertisedPort: advertised,
      ...(withLinks ? { brokerControllerPort: linkBase } : {}),
    });
  } catch (err) {
    await Promise.all(started.map((p) => p.close()));
    throw err;
  }
  const [proxies, links] = [started[0]!, started[1] ?? null];
  const heal = (): void => started.forEach((p) => p.heal());
  return {
    cluster,
    proxies,
    controllerLinks: links,
    isolateFromCluster(nodeId) {
      if (!links)
        throw new Error('isolateFromCluster needs startProxiedDevCluster({ controllerLinks: true })');
      const lifts = [proxies.isolateFromBrokers(nodeId), links.of(nodeId).cut()];
      return () => lifts.forEach((lift) => lift());
    },
    heal,
    async stop() {
      heal();
      await cluster.stop();
      await Promise.all(started.map((p) => p.close()));
    },
  };
}
