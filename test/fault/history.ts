/**
 * A record of what clients did against a Kafka-compatible cluster, and the judgement of it (issue 12).
 *
 * Producers record each send (with the producer, its place in the producer's sequence, an optional
 * key, and whether the producer was idempotent), the acknowledgement with its offset, or the failure
 * — in doubt (a timeout, a disconnect: it may have been written) or definite (the client knows it was
 * not). Readers record each record they saw at its offset; consumer groups record each member's
 * assignment after a join, each record consumed (member, generation, partition, offset), and each
 * commit that succeeded. Every event carries a time (ms since the epoch, `Date.now()` by default).
 *
 * `check()` then reports, by kind ({@link ANOMALY_KINDS}): acknowledged records lost; records read at
 * another offset than acknowledged; duplicates of an idempotent producer; two records at one offset;
 * records nobody sent; records read whose send definitely failed; a producer's unkeyed records of a
 * partition out of send order, and a key's acknowledged records split over partitions or out of send
 * order; committed offsets going back; a consumer going back (within a generation, or below what its
 * group had committed when it was assigned the partition); two members owning a partition in one
 * generation. A record in doubt may be read or not; a non-idempotent producer's record stored twice is
 * counted (at-least-once), not reported; a consumer group re-reading from its committed offset after a
 * rebalance is allowed.
 *
 * It knows nothing of the broker (it imports nothing from src/), so the same checks judge Apache
 * Kafka. Records are told apart by an id the test puts in them (a header or the value). The checks
 * themselves are pure functions in history-records.ts and history-consumers.ts.
 */
import { consumerProblems } from './history-consumers.ts';
import { recordProblems, type ReadStats } from './history-records.ts';
import type { Assignment, ConsumedRecord, HistoryReport, Recorded, SentRecord } from './history-types.ts';

export * from './history-types.ts';

export class History {
  readonly #r: Recorded = {
    sent: new Map(),
    acks: new Map(),
    failures: new Map(),
    reads: [],
    assignments: [],
    commits: [],
  };
  #n = 0;

  /** A send attempt (before the client is asked to send it). */
  send(record: SentRecord, at = Date.now()): void {
    if (this.#r.sent.has(record.id)) throw new Error(`record ${record.id} was sent twice by the test`);
    this.#r.sent.set(record.id, { ...record, at });
  }

  /** The client acknowledged `id` at `offset` of `partition`. */
  ack(id: string, partition: number, offset: bigint | number, at = Date.now()): void {
    this.#r.acks.set(id, { partition, offset: BigInt(offset), at });
  }

  /**
   * The client gave up on `id`: in doubt by default (it may have been written, and may be read), or
   * `definite` when the client knows it was not written (then reading it is a problem).
   */
  fail(id: string, error: string, o: { definite?: boolean; at?: number } = {}): void {
    this.#r.failures.set(id, { error, definite: o.definite ?? false, at: o.at ?? Date.now() });
  }

  /** A plain read (not a group's consumer) saw `id` at `offset` of `partition`. */
  read(id: string, partition: number, offset: bigint | number, at = Date.now()): void {
    this.#r.reads.push({ id, partition, offset: BigInt(offset), at, n: this.#n++ });
  }

  /** A member's partitions after it joined `group` (record every join, an empty list included). */
  assigned(a: Assignment): void {
    this.#r.assignments.push({ ...a, partitions: [...a.partitions], at: a.at ?? Date.now(), n: this.#n++ });
  }

  /** A member of a group was handed a record: a read, and a step of that member's consumption. */
  consumed(c: ConsumedRecord): void {
    const { group, member, generation } = c;
    this.#r.reads.push({
      id: c.id,
      partition: c.partition,
      offset: BigInt(c.offset),
      at: c.at ?? Date.now(),
      n: this.#n++,
      consumer: { group, member, generation },
    });
  }

  /** Group `group` committed `offset` for `partition` (of one topic); the commit succeeded. */
  commit(
    group: string,
    partition: number,
    offset: bigint | number,
    o: { member?: string; generation?: number; at?: number } = {},
  ): void {
    this.#r.commits.push({
      group,
      partition,
      offset: BigInt(offset),
      member: o.member,
      generation: o.generation,
      at: o.at ?? Date.now(),
      n: this.#n++,
    });
  }

  /** What was recorded, as the checks see it (for tests of recorders, and for digging into a report). */
  recorded(): Readonly<Recorded> {
    return this.#r;
  }

  /** The judgement of everything recorded so far. */
  check(): HistoryReport {
    const r = this.#r;
    const stats: ReadStats = { read: 0, redelivered: 0 };
    const problems = [...recordProblems(r, stats)];
    const consumers = consumerProblems(r);
    problems.push(...consumers.problems);
    let inDoubt = 0;
    let unanswered = 0;
    let failedDefinitely = 0;
    for (const id of r.sent.keys()) {
      if (r.acks.has(id)) continue;
      const failure = r.failures.get(id);
      if (!failure) unanswered++;
      else if (failure.definite) failedDefinitely++;
      else inDoubt++;
    }
    return {
      sent: r.sent.size,
      acknowledged: r.acks.size,
      failed: r.failures.size,
      inDoubt: inDoubt + unanswered,
      unanswered,
      failedDefinitely,
      read: stats.read,
      redelivered: stats.redelivered,
      consumed: consumers.consumed,
      reconsumed: consumers.reconsumed,
      assignments: r.assignments.length,
      commits: r.commits.length,
      problems,
    };
  }
}

/** A summary of a report for assertion messages: the counts, and the first few problems. */
export function summarize(report: HistoryReport): string {
  const counts = new Map<string, number>();
  for (const p of report.problems) counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1);
  const kinds = [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'no problems';
  const first = report.problems.slice(0, 5).map((p) => `\n  ${p.kind}: ${p.detail}`);
  return `${report.sent} sent, ${report.acknowledged} acknowledged, ${report.failed} failed, ${report.read} read: ${kinds}${first.join('')}`;
}
