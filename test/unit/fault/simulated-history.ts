/**
 * Random histories of a correct cluster, for the history checker's property test: a simulated log
 * (several partitions, appended to in order) written by several producers (keyed or not, idempotent
 * or not, with random failures in doubt, definite failures and unanswered sends), read back whole or
 * consumed by groups whose members rebalance at random points and restart from the last commit (an
 * assignment sometimes recorded after the member's first records, with the time of the join, as
 * kafkajs-recorder.ts does when it learns the generation late). The history is a list of events (so anomalies.ts can plant a problem in it) replayed into a History.
 */
import { History, type Assignment, type ConsumedRecord, type SentRecord } from '../../fault/history.ts';

/** A small seeded PRNG (mulberry32): the same seed, the same history. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
export const below = (rand: Rand, n: number): number => Math.floor(rand() * n);
export const pick = <T>(rand: Rand, items: readonly T[]): T => items[below(rand, items.length)]!;

export type Event =
  | { e: 'send'; record: SentRecord; at: number }
  | { e: 'ack'; id: string; partition: number; offset: number; at: number }
  | { e: 'fail'; id: string; definite: boolean; at: number }
  | { e: 'read'; id: string; partition: number; offset: number; at: number }
  | ({ e: 'assigned' } & Assignment & { at: number })
  | ({ e: 'consumed' } & ConsumedRecord & { offset: number; at: number })
  | {
      e: 'commit';
      group: string;
      partition: number;
      offset: number;
      member?: string;
      generation?: number;
      at: number;
    };

export function replay(events: Event[]): History {
  const h = new History();
  for (const ev of events) {
    switch (ev.e) {
      case 'send':
        h.send(ev.record, ev.at);
        break;
      case 'ack':
        h.ack(ev.id, ev.partition, ev.offset, ev.at);
        break;
      case 'fail':
        h.fail(ev.id, ev.definite ? 'refused' : 'timed out', { definite: ev.definite, at: ev.at });
        break;
      case 'read':
        h.read(ev.id, ev.partition, ev.offset, ev.at);
        break;
      case 'assigned':
        h.assigned(ev);
        break;
      case 'consumed':
        h.consumed(ev);
        break;
      case 'commit':
        h.commit(ev.group, ev.partition, ev.offset, ev);
    }
  }
  return h;
}

interface Producer {
  name: string;
  keyed: boolean;
  idempotent: boolean;
  seq: number;
}

interface Group {
  name: string;
  members: string[];
  generation: number;
  /** member → its partitions in this generation */
  owned: Map<string, number[]>;
  /** `${member}/${partition}` → next offset to consume */
  position: Map<string, number>;
  committed: number[];
  /** Assignments not yet recorded: a recorder may learn a join's generation after its first records. */
  unrecorded: Event[];
}

/** 2026-12-05 08:00:00.000 UTC */
const T0 = Date.UTC(2026, 11, 5, 8);

/** A clean history: the checker must find nothing wrong in it. */
export function simulate(rand: Rand): Event[] {
  const events: Event[] = [];
  let t = T0;
  const partitions = 1 + below(rand, 3);
  const log: string[][] = Array.from({ length: partitions }, () => []);
  const producers: Producer[] = [
    { name: 'plain', keyed: false, idempotent: true, seq: 0 },
    { name: 'keyed', keyed: true, idempotent: rand() < 0.5, seq: 0 },
    { name: 'any', keyed: rand() < 0.5, idempotent: rand() < 0.5, seq: 0 },
  ];
  const groups: Group[] = Array.from({ length: 1 + below(rand, 2) }, (_, g) => ({
    name: `g${g}`,
    members: Array.from({ length: 2 + below(rand, 2) }, (_, m) => `g${g}-m${m}`),
    generation: 0,
    owned: new Map(),
    position: new Map(),
    committed: new Array<number>(partitions).fill(0),
    unrecorded: [],
  }));
  const record = (g: Group) => events.push(...g.unrecorded.splice(0));

  const append = (partition: number, id: string) => log[partition]!.push(id) - 1;

  const produce = (p: Producer) => {
    const seq = p.seq++;
    const id = `${p.name}-${seq}`;
    const key = p.keyed ? `k${below(rand, 4)}` : undefined;
    const partition = key ? Number(key.slice(1)) % partitions : below(rand, partitions);
    events.push({
      e: 'send',
      record: { id, producer: p.name, seq, partition, key, idempotent: p.idempotent },
      at: t,
    });
    const outcome = rand();
    if (outcome < 0.7) {
      let offset = append(partition, id);
      if (!p.idempotent && rand() < 0.2) offset = append(partition, id); // a retry stored it again
      events.push({ e: 'ack', id, partition, offset, at: t });
    } else if (outcome < 0.8) {
      append(partition, id);
      events.push({ e: 'fail', id, definite: false, at: t });
    } else if (outcome < 0.88) {
      events.push({ e: 'fail', id, definite: false, at: t });
    } else if (outcome < 0.95) {
      events.push({ e: 'fail', id, definite: true, at: t });
    } else if (rand() < 0.5) {
      append(partition, id); // never answered, but written
    }
  };

  const rebalance = (g: Group) => {
    record(g);
    t++; // strictly after everything the previous generation did
    g.generation++;
    const active = g.members.filter(() => rand() < 0.7);
    if (active.length === 0) active.push(pick(rand, g.members));
    g.owned = new Map(active.map((m) => [m, []]));
    g.position.clear();
    for (let p = 0; p < partitions; p++) {
      const m = pick(rand, active);
      g.owned.get(m)!.push(p);
      g.position.set(`${m}/${p}`, g.committed[p]!);
    }
    for (const [member, owned] of g.owned) {
      const { name: group, generation } = g;
      const assigned: Event = { e: 'assigned', group, member, generation, partitions: owned, at: t };
      if (rand() < 0.3) g.unrecorded.push(assigned);
      else events.push(assigned);
    }
    t++; // and what the members do next after it, as kafkajs-recorder.ts times it
  };

  const consume = (g: Group, member: string, partition: number): boolean => {
    const offset = g.position.get(`${member}/${partition}`)!;
    const id = log[partition]![offset];
    if (id === undefined) return false;
    g.position.set(`${member}/${partition}`, offset + 1);
    events.push({
      e: 'consumed',
      group: g.name,
      member,
      generation: g.generation,
      partition,
      offset,
      id,
      at: t,
    });
    return true;
  };

  const commit = (g: Group, member: string) => {
    record(g);
    for (const partition of g.owned.get(member)!) {
      const offset = g.position.get(`${member}/${partition}`)!;
      g.committed[partition] = offset;
      events.push({ e: 'commit', group: g.name, partition, offset, member, generation: g.generation, at: t });
    }
  };

  for (const g of groups) rebalance(g);
  const steps = 60 + below(rand, 160);
  for (let step = 0; step < steps; step++) {
    t += below(rand, 3);
    const action = rand();
    const g = pick(rand, groups);
    const member = pick(rand, [...g.owned.keys()]);
    const owned = g.owned.get(member)!;
    if (action < 0.45) produce(pick(rand, producers));
    else if (action < 0.8) {
      if (owned.length > 0) consume(g, member, pick(rand, owned));
    } else if (action < 0.92) commit(g, member);
    else rebalance(g);
    if (rand() < 0.3) record(g);
  }
  for (const g of groups) record(g);

  t++;
  if (rand() < 0.5) {
    for (const [partition, ids] of log.entries())
      for (const [offset, id] of ids.entries()) events.push({ e: 'read', id, partition, offset, at: t });
  }
  for (const g of groups) {
    for (const [member, owned] of g.owned) {
      for (const partition of owned) while (consume(g, member, partition));
      if (rand() < 0.5) commit(g, member);
    }
  }
  return events;
}
