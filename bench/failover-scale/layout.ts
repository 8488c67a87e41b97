/**
 * The partitions bench/failover-scale.ts fails over: `topics` topics of `partitions` partitions each,
 * created with explicit replica assignments so that one broker (the victim) leads every one of them
 * and the others share the following. Spread over several topics because a failover must not cost
 * one store write per topic (shared/DESIGN.md). Each round gets a fresh set (leadership does not
 * move back to a restarted broker by itself), the previous round's deleted.
 */
import type { Admin } from 'kafkajs';

export interface Layout {
  /** Topic names of this round. */
  topics: string[];
  partitions: number;
  /** The broker that leads every partition. */
  victim: number;
  /** Replication factor: the victim and this many minus one of the others. */
  replicationFactor: number;
}

export function layoutFor(o: {
  round: string;
  topics: number;
  partitions: number;
  victim: number;
  replicationFactor: number;
}): Layout {
  return {
    topics: Array.from({ length: o.topics }, (_, i) => `fs-${o.round}-${String(i).padStart(3, '0')}`),
    partitions: o.partitions,
    victim: o.victim,
    replicationFactor: o.replicationFactor,
  };
}

/** Replicas of partition `p`: the victim first (the preferred leader), then the others in turn. */
export function replicasOf(layout: Layout, brokers: number, p: number): number[] {
  const others = Array.from({ length: brokers }, (_, i) => i).filter((b) => b !== layout.victim);
  const followers = Array.from(
    { length: layout.replicationFactor - 1 },
    (_, k) => others[(p + k) % others.length]!,
  );
  return [layout.victim, ...followers];
}

export async function createLayout(admin: Admin, layout: Layout, brokers: number): Promise<void> {
  await admin.createTopics({
    waitForLeaders: false,
    timeout: 60_000,
    topics: layout.topics.map((topic) => ({
      topic,
      replicaAssignment: Array.from({ length: layout.partitions }, (_, p) => ({
        partition: p,
        replicas: replicasOf(layout, brokers, p),
      })),
    })),
  });
}

export interface PartitionView {
  topic: string;
  partition: number;
  leader: number;
  isr: number[];
}

export async function describe(admin: Admin, layout: Layout): Promise<PartitionView[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: layout.topics });
  return topics.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId, leader: p.leader, isr: p.isr })),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls Metadata until `done` holds for every partition of the layout (and the layout is complete);
 * resolves with the time (Date.now()) of the first answer in which it did.
 */
export async function waitUntil(
  admin: Admin,
  layout: Layout,
  done: (p: PartitionView) => boolean,
  o: { timeoutMs: number; intervalMs: number; what: string },
): Promise<number> {
  const deadline = Date.now() + o.timeoutMs;
  const expected = layout.topics.length * layout.partitions;
  let last = '';
  for (;;) {
    try {
      const view = await describe(admin, layout);
      const at = Date.now();
      const pending = view.filter((p) => !done(p));
      if (view.length === expected && pending.length === 0) return at;
      last = `${pending.length} of ${view.length} not yet, e.g. ${JSON.stringify(pending.slice(0, 2))}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${o.what}: not after ${o.timeoutMs} ms: ${last}`);
    await sleep(o.intervalMs);
  }
}
