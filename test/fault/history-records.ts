/**
 * The history checker's judgement of the log itself (history.ts records, this judges): where each
 * record was read against where it was acknowledged, what sits at each offset, and the order of each
 * producer's records. A pure function of the recorded events, so it can be tested on built histories.
 */
import { clock, type Problem, type ReadEvent, type Recorded } from './history-types.ts';

export interface ReadStats {
  /** Distinct records read. */
  read: number;
  /** A non-idempotent producer's records stored at more than one offset. */
  redelivered: number;
}

const at = (partition: number, offset: bigint): string => `${partition}@${offset}`;
const byOffset = (a: { offset: bigint }, b: { offset: bigint }) =>
  a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0;

/** The problems of the records read, and the counts of what was read into `stats`. */
export function recordProblems(r: Recorded, stats: ReadStats): Problem[] {
  const problems: Problem[] = [];
  /** What was read first at each position; a later read of another id there is a conflict. */
  const byPosition = new Map<string, ReadEvent>();
  /** Where each id was read (distinct positions), and its lowest offset in each partition. */
  const readAt = new Map<string, Set<string>>();
  const first = new Map<string, ReadEvent>();
  for (const e of r.reads) {
    const position = at(e.partition, e.offset);
    const earlier = byPosition.get(position);
    if (earlier && earlier.id !== e.id) {
      problems.push({ kind: 'conflict', detail: `${position} read as ${earlier.id} and as ${e.id}` });
      continue;
    }
    byPosition.set(position, e);
    let positions = readAt.get(e.id);
    if (!positions) readAt.set(e.id, (positions = new Set()));
    positions.add(position);
    const key = `${e.id}/${e.partition}`;
    const lowest = first.get(key);
    if (!lowest || e.offset < lowest.offset) first.set(key, e);
  }

  for (const [id, ack] of r.acks) {
    const positions = readAt.get(id);
    const acked = `${id} acknowledged at ${at(ack.partition, ack.offset)} (${clock(ack.at)})`;
    if (!positions) problems.push({ kind: 'lost', detail: `${acked}, never read` });
    else if (!positions.has(at(ack.partition, ack.offset)))
      problems.push({ kind: 'offset-mismatch', detail: `${acked}, read at ${[...positions].join(', ')}` });
  }

  stats.read = readAt.size;
  for (const [id, positions] of readAt) {
    const sent = r.sent.get(id);
    const where = [...positions].join(', ');
    if (!sent) {
      problems.push({ kind: 'unknown', detail: `${id} read at ${where}` });
      continue;
    }
    if (positions.size > 1) {
      if (sent.idempotent === false) stats.redelivered++;
      else problems.push({ kind: 'duplicate', detail: `${id} (producer ${sent.producer}) read at ${where}` });
    }
    const failure = r.failures.get(id);
    if (failure?.definite && !r.acks.has(id)) {
      problems.push({
        kind: 'unacknowledged-read',
        detail: `${id} failed definitely (${clock(failure.at)}: ${failure.error}), read at ${where}`,
      });
    }
  }

  problems.push(...orderProblems(r, [...first.values()]), ...keyOrderProblems(r));
  return problems;
}

/**
 * Per partition and producer, its unkeyed records in offset order must be in send order. Each record
 * counts at its lowest offset: a non-idempotent producer's retry stores a later copy legitimately,
 * and an idempotent one's second copy is already a duplicate.
 */
function orderProblems(r: Recorded, firstReads: ReadEvent[]): Problem[] {
  const streams = new Map<string, Array<{ seq: number; offset: bigint; id: string }>>();
  for (const { id, partition, offset } of firstReads) {
    const sent = r.sent.get(id);
    if (!sent || sent.key !== undefined) continue;
    const key = `${sent.producer}/${partition}`;
    let stream = streams.get(key);
    if (!stream) streams.set(key, (stream = []));
    stream.push({ seq: sent.seq, offset, id });
  }
  const problems: Problem[] = [];
  for (const [key, stream] of streams) {
    stream.sort(byOffset);
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

/**
 * Per producer and key, its acknowledged records (where they were acknowledged) must all be in one
 * partition, in send order.
 */
function keyOrderProblems(r: Recorded): Problem[] {
  const keys = new Map<string, Array<{ id: string; seq: number; partition: number; offset: bigint }>>();
  for (const [id, ack] of r.acks) {
    const sent = r.sent.get(id);
    if (sent?.key === undefined) continue;
    const k = `producer ${sent.producer} key ${JSON.stringify(sent.key)}`;
    let records = keys.get(k);
    if (!records) keys.set(k, (records = []));
    records.push({ id, seq: sent.seq, partition: ack.partition, offset: ack.offset });
  }
  const problems: Problem[] = [];
  for (const [k, records] of keys) {
    const partitions = new Map<number, typeof records>();
    for (const rec of records) {
      const list = partitions.get(rec.partition);
      if (list) list.push(rec);
      else partitions.set(rec.partition, [rec]);
    }
    if (partitions.size > 1) {
      const where = [...partitions].map(([p, l]) => `${l[0]!.id} in ${p}`).join(', ');
      problems.push({
        kind: 'key-order',
        detail: `${k}: acknowledged in ${partitions.size} partitions (${where})`,
      });
    }
    for (const [partition, list] of partitions) {
      list.sort(byOffset);
      for (let i = 1; i < list.length; i++) {
        const [a, b] = [list[i - 1]!, list[i]!];
        if (b.seq < a.seq) {
          problems.push({
            kind: 'key-order',
            detail: `${k}: ${b.id} (sent ${b.seq}) at ${at(partition, b.offset)} after ${a.id} (sent ${a.seq}) at ${at(partition, a.offset)}`,
          });
        }
      }
    }
  }
  return problems;
}
