/**
 * One anomaly of a chosen kind planted in a clean simulated history (simulated-history.ts), for the
 * history checker's property test: each plant changes as little as it can, so that the checker must
 * report that kind and no other. A plant returns undefined when the history has nothing to plant it
 * on (no keyed producer with two acknowledged records of a key, no commit above zero…).
 */
import type { AnomalyKind } from '../../fault/history.ts';
import { pick, type Event, type Rand } from './simulated-history.ts';

type Plant = (events: Event[], rand: Rand) => Event[] | undefined;
type Of<E extends Event['e']> = Extract<Event, { e: E }>;

const all = <E extends Event['e']>(events: Event[], e: E) => events.filter((ev): ev is Of<E> => ev.e === e);
const last = (events: Event[]) => Math.max(...events.map((ev) => ev.at)) + 1;
const isRead = (ev: Event): ev is Of<'read'> | Of<'consumed'> => ev.e === 'read' || ev.e === 'consumed';

/** Where each id was stored (distinct positions), from what was read or consumed. */
function stored(events: Event[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const ev of events.filter(isRead)) {
    const set = out.get(ev.id) ?? new Set();
    out.set(ev.id, set.add(`${ev.partition}@${ev.offset}`));
  }
  return out;
}

/** Two acknowledged records stored once each, sent in one order and stored in the other. */
function swapTwo(events: Event[], rand: Rand, keyed: boolean): Event[] | undefined {
  const sent = new Map(all(events, 'send').map((ev) => [ev.record.id, ev.record]));
  const where = stored(events);
  const streams = new Map<string, string[]>();
  for (const ack of all(events, 'ack')) {
    const r = sent.get(ack.id)!;
    if ((r.key !== undefined) !== keyed || where.get(ack.id)?.size !== 1) continue;
    const k = `${r.producer}/${r.key ?? ''}/${ack.partition}`;
    streams.set(k, [...(streams.get(k) ?? []), ack.id]);
  }
  const candidates = [...streams.values()].filter((ids) => ids.length > 1);
  if (candidates.length === 0) return undefined;
  const ids = pick(rand, candidates);
  const a = pick(rand, ids);
  const b = pick(
    rand,
    ids.filter((id) => id !== a),
  );
  const swap = (id: string) => (id === a ? b : id === b ? a : id);
  return events.map((ev) => (ev.e === 'ack' || isRead(ev) ? { ...ev, id: swap(ev.id) } : ev));
}

export const PLANTS: Record<AnomalyKind, Plant> = {
  lost: (events, rand) => {
    const acks = all(events, 'ack');
    if (acks.length === 0) return undefined;
    const { id } = pick(rand, acks);
    return events.filter((ev) => !(isRead(ev) && ev.id === id));
  },
  'offset-mismatch': (events, rand) => {
    const sent = new Map(all(events, 'send').map((ev) => [ev.record.id, ev.record]));
    const acks = all(events, 'ack').filter((ev) => sent.get(ev.id)!.key === undefined);
    if (acks.length === 0) return undefined;
    const ack = pick(rand, acks);
    return events.map((ev) => (ev === ack ? { ...ack, offset: ack.offset + 1000 } : ev));
  },
  duplicate: (events, rand) => {
    const idempotent = new Set(
      all(events, 'send')
        .filter((ev) => ev.record.idempotent !== false)
        .map((ev) => ev.record.id),
    );
    const acks = all(events, 'ack').filter((ev) => idempotent.has(ev.id));
    if (acks.length === 0) return undefined;
    const { id, partition, offset } = pick(rand, acks);
    return [...events, { e: 'read', id, partition, offset: offset + 1000, at: last(events) }];
  },
  conflict: (events, rand) => {
    const read = pick(rand, events.filter(isRead));
    const other = pick(rand, all(events, 'send')).record.id;
    if (other === read.id) return undefined;
    const { partition, offset } = read;
    return [...events, { e: 'read', id: other, partition, offset, at: last(events) }];
  },
  unknown: (events) => [...events, { e: 'read', id: 'ghost', partition: 0, offset: 5000, at: last(events) }],
  'unacknowledged-read': (events, rand) => {
    const where = stored(events);
    const acks = all(events, 'ack').filter((ev) => where.has(ev.id));
    if (acks.length === 0) return undefined;
    const ack = pick(rand, acks);
    return events.map((ev): Event =>
      ev === ack ? { e: 'fail', id: ack.id, definite: true, at: ack.at } : ev,
    );
  },
  order: (events, rand) => swapTwo(events, rand, false),
  'key-order': (events, rand) => swapTwo(events, rand, true),
  'commit-regression': (events, rand) => {
    const commits = all(events, 'commit').filter((ev) => ev.offset > 0);
    if (commits.length === 0) return undefined;
    const { group, partition } = pick(rand, commits);
    const highest = Math.max(
      ...commits.filter((c) => c.group === group && c.partition === partition).map((c) => c.offset),
    );
    return [...events, { e: 'commit', group, partition, offset: highest - 1, at: last(events) }];
  },
  'consumer-backwards': (events, rand) => {
    if (rand() < 0.5) {
      // The same record handed twice in one generation.
      const again = pick(rand, all(events, 'consumed'));
      const i = events.indexOf(again);
      return [...events.slice(0, i + 1), again, ...events.slice(i + 1)];
    }
    // A member starting a newly assigned partition one below the offset its group had committed.
    const commits = all(events, 'commit');
    const options = all(events, 'assigned').flatMap((a) =>
      a.partitions.map((partition) => {
        const before = commits.filter(
          (c) => c.group === a.group && c.partition === partition && c.at <= a.at,
        );
        return { a, partition, committed: Math.max(0, ...before.map((c) => c.offset)) };
      }),
    );
    const usable = options.filter((o) => o.committed > 0);
    if (usable.length === 0) return undefined;
    const { a, partition, committed } = pick(rand, usable);
    const offset = committed - 1;
    const id = events.filter(isRead).find((ev) => ev.partition === partition && ev.offset === offset)!.id;
    const { group, member, generation } = a;
    const i = events.indexOf(a);
    const early: Event = {
      e: 'consumed',
      group,
      member,
      generation: generation!,
      partition,
      offset,
      id,
      at: a.at,
    };
    return [...events.slice(0, i + 1), early, ...events.slice(i + 1)];
  },
  'split-ownership': (events, rand) => {
    const commits = all(events, 'commit');
    if (rand() < 0.5 && commits.length > 0) {
      const c = pick(rand, commits);
      const i = events.indexOf(c);
      return [...events.slice(0, i + 1), { ...c, member: 'intruder' }, ...events.slice(i + 1)];
    }
    const a = pick(
      rand,
      all(events, 'assigned').filter((ev) => ev.partitions.length > 0),
    );
    return [...events, { ...a, member: 'intruder', partitions: [pick(rand, a.partitions)] }];
  },
};
