/**
 * The follower side's fetchers, one per leader broker (Kafka's ReplicaFetcherManager with one
 * fetcher thread per source broker): a followed partition sits in exactly one of them, moves when
 * its leader (or the leader's address) changes, and a fetcher left with no partitions stops.
 */
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { BrokerEndpoint } from '../../controller/image.ts';
import type { ProducerStateManager } from '../producer-state-manager.ts';
import { type FetcherSettings, ReplicaFetcher } from './fetcher.ts';
import type { ReplicaPartition } from './partition.ts';

export interface FetcherPoolOptions {
  nodeId: number;
  clock: Clock;
  logger: Logger;
  settings: FetcherSettings;
  producers: ProducerStateManager;
}

export class FetcherPool {
  readonly #o: FetcherPoolOptions;
  readonly #fetchers = new Map<number, ReplicaFetcher>();
  /** Which leader each followed partition is fetched from. */
  readonly #leaderOf = new Map<string, number>();

  constructor(o: FetcherPoolOptions) {
    this.#o = o;
  }

  /** Leader ids with a running fetcher. */
  get leaders(): number[] {
    return [...this.#fetchers.keys()];
  }

  /**
   * Follows `replica` from `leader` at `leaderEpoch`. A partition already followed from that
   * leader at that epoch carries on where it is; anything else starts with truncation.
   */
  follow(p: {
    key: string;
    topic: string;
    topicId: string;
    replica: ReplicaPartition;
    leaderEpoch: number;
    leader: BrokerEndpoint;
  }): void {
    let fetcher = this.#fetchers.get(p.leader.nodeId);
    const address = `${p.leader.host}:${p.leader.port}`;
    if (fetcher && fetcher.address !== address) {
      // The leader restarted at another address: its fetcher starts over there.
      this.#stopFetcher(fetcher);
      fetcher = undefined;
    }
    if (fetcher?.has(p.key, p.leaderEpoch)) return;
    this.unfollow(p.key);
    if (!fetcher) {
      fetcher = new ReplicaFetcher({
        nodeId: this.#o.nodeId,
        leaderId: p.leader.nodeId,
        host: p.leader.host,
        port: p.leader.port,
        clock: this.#o.clock,
        logger: this.#o.logger,
        settings: this.#o.settings,
        producers: this.#o.producers,
      });
      this.#fetchers.set(p.leader.nodeId, fetcher);
    }
    fetcher.follow(p);
    this.#leaderOf.set(p.key, p.leader.nodeId);
  }

  unfollow(key: string): void {
    const leader = this.#leaderOf.get(key);
    if (leader === undefined) return;
    this.#leaderOf.delete(key);
    const fetcher = this.#fetchers.get(leader);
    if (!fetcher) return;
    fetcher.unfollow(key);
    if (fetcher.size === 0) this.#stopFetcher(fetcher);
  }

  async close(): Promise<void> {
    const stopping = [...this.#fetchers.values()].map((f) => f.stop());
    this.#fetchers.clear();
    this.#leaderOf.clear();
    await Promise.all(stopping);
  }

  #stopFetcher(f: ReplicaFetcher): void {
    if (this.#fetchers.get(f.leaderId) === f) this.#fetchers.delete(f.leaderId);
    for (const [key, leader] of this.#leaderOf) if (leader === f.leaderId) this.#leaderOf.delete(key);
    void f.stop();
  }
}
