/**
 * The offset-commit loops of bench/groups.ts: one group member commits offsets as fast as the
 * broker acknowledges them, with `consumer.commitOffsets` (OffsetCommit with its generation and
 * member id, as an application committing after processing does). Each loop awaits its commit
 * before sending the next; several loops keep several commits in flight on the member's one
 * coordinator connection. Loops own distinct partitions, so every partition's committed offset
 * ends as the last one its loop committed — which is checked with OffsetFetch afterwards.
 */
import type { Admin } from 'kafkajs';
import type { BenchMember } from './members.ts';

export interface CommitVariant {
  label: string;
  /** Partitions (offsets) in each OffsetCommit request. */
  partitionsPerCommit: number;
  /** Loops, each awaiting its own commits. */
  inFlight: number;
}

export interface CommitFigures {
  commits: number;
  seconds: number;
  /** Partition offsets committed (commits × partitions per commit). */
  offsets: number;
}

/** Offsets only grow, across loops and calls: no commit repeats the one before it. */
let nextOffset = 1;

/** Commits in `variant`'s way for `seconds`; resolves once the last commit is acknowledged. */
export async function commitLoop(
  member: BenchMember,
  topic: string,
  partitions: number,
  variant: CommitVariant,
  seconds: number,
): Promise<CommitFigures & { last: Map<number, number> }> {
  if (variant.partitionsPerCommit * variant.inFlight > partitions) {
    throw new Error(`${variant.label}: needs more than the ${partitions} partitions`);
  }
  const last = new Map<number, number>();
  let commits = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  const loop = async (index: number): Promise<void> => {
    const own = Array.from(
      { length: variant.partitionsPerCommit },
      (_, i) => index * variant.partitionsPerCommit + i,
    );
    while (performance.now() < until) {
      const at = nextOffset++;
      await member.consumer.commitOffsets(own.map((partition) => ({ topic, partition, offset: String(at) })));
      if (member.crashed) throw member.crashed;
      for (const p of own) last.set(p, at);
      commits++;
    }
  };
  await Promise.all(Array.from({ length: variant.inFlight }, (_, i) => loop(i)));
  const elapsed = (performance.now() - start) / 1000;
  return { commits, seconds: elapsed, offsets: commits * variant.partitionsPerCommit, last };
}

/** Throws unless the group's committed offsets are `expected` (OffsetFetch through the admin client). */
export async function expectCommitted(
  admin: Admin,
  groupId: string,
  topic: string,
  expected: Map<number, number>,
): Promise<void> {
  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const got = new Map((fetched?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  for (const [partition, offset] of expected) {
    if (got.get(partition) !== offset) {
      throw new Error(
        `partition ${partition}: committed offset ${got.get(partition) ?? 'none'}, expected ${offset}`,
      );
    }
  }
}
