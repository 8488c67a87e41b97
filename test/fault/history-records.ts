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
  /** Per partition, the id read first at each offset; a later read of another id there is a conflict. */
  const byPosition = new Map<number, Map<bigint, string>>();
  /** Where each id was read: its distinct positions, in the order they were first read. */
  const readAt = new Map<string, ReadEvent[]>();
  for (const e of r.reads) {
    let offsets = byPosition.get(e.partition);
    if (!offsets) byPosition.set(e.partition, (offsets = new Map()));
    const earlier = offsets.get(e.offset);
    if (earlier !== undefined) {
      if (earlier !== e.id)
        problems.push({
          kind: 'conflict',
          detail: `${at(e.partition, e.offset)} read as ${earlier} and as ${e.id}`,
        });
      continue;
    }
    offsets.set(e.offset, e.id);
    const positions = readAt.get(e.id);
    if (positions) positions.push(e);
    else readAt.set(e.id, [e]);
  }
  const where = (positions: ReadEvent[]) => positions.map((e) => at(e.partition, e.offset)).join(', ');

  for (const [id, ack] of r.acks) {
    const positions = readAt.get(id);
    if (positions?.some((e) => e.partition === ack.partition && e.offset === ack.offset)) continue;
    const acked = `${id} acknowledged at ${at(ack.partition, ack.offset)} (${clock(ack.at)})`;
    if (!positions) problems.push({ kind: 'lost', detail: `${acked}, never read` });
    else problems.push({ kind: 'offset-mismatch', detail: `${acked}, read at ${where(positions)}` });
  }

  stats.read = readAt.size;
  for (const [id, positions] of readAt) {
    const sent = r.sent.get(id);
    if (!sent) {
      problems.push({ kind: 'unknown', detail: `${id} read at ${where(positions)}` });
      continue;
    }
    if (positions.length > 1) {
      if (sent.idempotent === false) stats.redelivered++;
      else
        problems.push({
          kind: 'duplicate',
          detail: `${id} (producer ${sent.producer}) read at ${where(positions)}`,
        });
    }
    const failure = r.failures.get(id);
    if (failure?.definite && !r.acks.has(id)) {
      problems.push({
        kind: 'unacknowledged-read',
        detail: `${id} failed definitely (${clock(failure.at)}: ${failure.error}), read at ${where(positions)}`,
      });
    }
  }

  problems.push(...orderProblems(r, readAt), ...keyOrderProblems(r));
  return problems;
}

/**
 * Per partition and producer, its unkeyed records in offset order must be in send order. Each record
 * counts at its lowest offset: a non-idempotent producer's retry stores a later copy legitimately,
 * and an idempotent one's second copy is already a duplicate.
 */
function orderProblems(r: Recorded, readAt: Map<string, ReadEvent[]>): Problem[] {
  const streams = new Map<string, Array<{ seq: number; offset: bigint; id: string }>>();
  for (const [id, positions] of readAt) {
    const sent = r.sent.get(id);
    if (!sent || sent.key !== undefined) continue;
    const lowest = new Map<number, bigint>();
    for (const { partition, offset } of positions) {
      const before = lowest.get(partition);
      if (before === undefined || offset < before) lowest.set(partition, offset);
    }
    for (const [partition, offset] of lowest) {
      const key = `${sent.producer}/${partition}`;
      const stream = streams.get(key);
      if (stream) stream.push({ seq: sent.seq, offset, id });
      else streams.set(key, [{ seq: sent.seq, offset, id }]);
    }
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
