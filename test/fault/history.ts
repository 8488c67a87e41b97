/**
 * A record of what clients did against a cluster — sends, acknowledgements with their offsets,
 * reads, committed offsets — and the judgement of it: which acknowledged records were lost, which
 * were written twice, which sit at another offset than the one acknowledged, which came out of a
 * partition in another order than their producer sent them, and which committed offsets went back.
 *
 * It knows nothing of the broker (it imports nothing from src/), so the same checks can judge Apache
 * Kafka. Records are told apart by an id the test puts in them (a header or the value); each has the
 * producer that sent it and its place in that producer's sequence, which is what "order" means: one
 * producer's records to one partition, sent one after the other, must be stored in that order.
 */

export interface SentRecord {
  id: string;
  producer: string;
  /** Its place in the producer's sends, increasing. */
  seq: number;
  partition: number;
}

export interface Problem {
  kind:
    | 'lost' // acknowledged, never read
    | 'duplicate' // read at two offsets
    | 'offset-mismatch' // read at another offset than acknowledged
    | 'order' // one producer's records of a partition stored out of send order
    | 'conflict' // two reads of one offset gave two records
    | 'unknown' // read a record nobody sent
    | 'commit-regression'; // a group's committed offset went back
  detail: string;
}

export interface HistoryReport {
  sent: number;
  acknowledged: number;
  failed: number;
  /** Distinct records read (by id). */
  read: number;
  /** Offset commits recorded. */
  commits: number;
  problems: Problem[];
}

const at = (partition: number, offset: bigint): string => `${partition}@${offset}`;

export class History {
  readonly #sent = new Map<string, SentRecord>();
  readonly #acked = new Map<string, { partition: number; offset: bigint }>();
  readonly #failed = new Map<string, string>();
  /** Where each id was read (distinct positions). */
  readonly #readAt = new Map<string, Set<string>>();
  /** What was read at each position. */
  readonly #byPosition = new Map<string, { id: string; partition: number; offset: bigint }>();
  readonly #problems: Problem[] = [];
  readonly #commits = new Map<string, bigint>();
  #commitCount = 0;

  /** A send attempt (before the client is asked to send it). */
  send(record: SentRecord): void {
    if (this.#sent.has(record.id)) throw new Error(`record ${record.id} was sent twice by the test`);
    this.#sent.set(record.id, record);
  }

  /** The client acknowledged `id` at `offset` of `partition`. */
  ack(id: string, partition: number, offset: bigint | number): void {
    this.#acked.set(id, { partition, offset: BigInt(offset) });
  }

  /** The client gave up on `id` (it may or may not have been written: that is allowed). */
  fail(id: string, error: string): void {
    this.#failed.set(id, error);
  }

  /** A consumer (or a plain read) saw `id` at `offset` of `partition`. */
  read(id: string, partition: number, offset: bigint | number): void {
    const o = BigInt(offset);
    const position = at(partition, o);
    const earlier = this.#byPosition.get(position);
    if (earlier && earlier.id !== id) {
      this.#problems.push({
        kind: 'conflict',
        detail: `${position} read as ${earlier.id} and as ${id}`,
      });
      return;
    }
    this.#byPosition.set(position, { id, partition, offset: o });
    let positions = this.#readAt.get(id);
    if (!positions) this.#readAt.set(id, (positions = new Set()));
    positions.add(position);
  }

  /** Group `group` committed `offset` for `partition` (of one topic). */
  commit(group: string, partition: number, offset: bigint | number): void {
    const key = `${group}/${partition}`;
    const o = BigInt(offset);
    const before = this.#commits.get(key);
    if (before !== undefined && o < before) {
      this.#problems.push({
        kind: 'commit-regression',
        detail: `group ${group} partition ${partition}: committed ${o} after ${before}`,
      });
    }
    this.#commits.set(key, o);
    this.#commitCount++;
  }

  /** The judgement of everything recorded so far. */
  check(): HistoryReport {
    const problems = [...this.#problems];
    for (const [id, { partition, offset }] of this.#acked) {
      const positions = this.#readAt.get(id);
      if (!positions) {
        problems.push({ kind: 'lost', detail: `${id} acknowledged at ${at(partition, offset)}, never read` });
      } else if (!positions.has(at(partition, offset))) {
        problems.push({
          kind: 'offset-mismatch',
          detail: `${id} acknowledged at ${at(partition, offset)}, read at ${[...positions].join(', ')}`,
        });
      }
    }
    for (const [id, positions] of this.#readAt) {
      if (!this.#sent.has(id))
        problems.push({ kind: 'unknown', detail: `${id} read at ${[...positions].join(', ')}` });
      if (positions.size > 1)
        problems.push({ kind: 'duplicate', detail: `${id} read at ${[...positions].join(', ')}` });
    }
    problems.push(...this.#orderProblems());
    return {
      sent: this.#sent.size,
      acknowledged: this.#acked.size,
      failed: this.#failed.size,
      read: this.#readAt.size,
      commits: this.#commitCount,
      problems,
    };
  }

  /** Per partition and producer, the records in offset order must be in send order. */
  #orderProblems(): Problem[] {
    const streams = new Map<string, Array<{ seq: number; offset: bigint; id: string }>>();
    for (const { id, partition, offset } of this.#byPosition.values()) {
      const sent = this.#sent.get(id);
      if (!sent) continue;
      const key = `${sent.producer}/${partition}`;
      let stream = streams.get(key);
      if (!stream) streams.set(key, (stream = []));
      stream.push({ seq: sent.seq, offset, id });
    }
    const problems: Problem[] = [];
    for (const [key, stream] of streams) {
      stream.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
      for (let i = 1; i < stream.length; i++) {
        const [a, b] = [stream[i - 1]!, stream[i]!];
        if (b.seq < a.seq) {
          problems.push({
            kind: 'order',
            detail: `producer/partition ${key}: ${b.id} (sent ${b.seq}) at ${b.offset} after ${a.id} (sent ${a.seq}) at ${a.offset}`,
          });
        }
      }
    }
    return problems;
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
