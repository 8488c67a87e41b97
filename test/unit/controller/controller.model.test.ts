/**
 * Model-based test of the controller's decisions: random sequences of registrations (same or new
 * process), heartbeats (caught up or not, asking to shut down, stale), lost sessions, session
 * expiries, AlterPartition requests (current or stale epochs, any ISR) and topic creations drive the
 * pure decisions, and after every step the cluster must keep KRaft's promises:
 * - every ISR is non-empty, made of replicas, each once;
 * - a leader is in its ISR, or there is none (-1);
 * - a fenced broker leads nothing and is in no ISR of more than one member;
 * - a shutting-down broker is in no ISR of more than one member, and leads only where it is alone;
 * - leader epochs and partition epochs never decrease; a new leader always comes with a new leader epoch;
 * - the version moves by exactly one at every change and not at all otherwise.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { brokerLost, expireSessions, heartbeat, register } from '../../../src/controller/brokers.ts';
import { NO_LEADER } from '../../../src/controller/image.ts';
import { alterPartition } from '../../../src/controller/isr.ts';
import { type ClusterState, type Decision, newClusterState } from '../../../src/controller/state.ts';
import { createTopic } from '../../../src/controller/topics.ts';

const BROKERS = 4;

type Event =
  | { kind: 'register'; node: number; newProcess: boolean }
  | { kind: 'heartbeat'; node: number; caughtUp: boolean; wantShutdown: boolean; stale: boolean }
  | { kind: 'lost'; node: number }
  | { kind: 'expire'; nodes: number[] }
  | {
      kind: 'alter';
      topic: number;
      partition: number;
      isrMask: number;
      staleLeaderEpoch: boolean;
      asLeader: boolean;
    }
  | { kind: 'create'; rf: number; unclean: boolean };

const node = fc.integer({ min: 0, max: BROKERS - 1 });
const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('register' as const), node, newProcess: fc.boolean() }),
  {
    arbitrary: fc.record({
      kind: fc.constant('heartbeat' as const),
      node,
      caughtUp: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
      wantShutdown: fc.integer({ min: 0, max: 19 }).map((n) => n < 1),
      stale: fc.integer({ min: 0, max: 9 }).map((n) => n < 1),
    }),
    weight: 8,
  },
  fc.record({ kind: fc.constant('lost' as const), node }),
  fc.record({ kind: fc.constant('expire' as const), nodes: fc.subarray([0, 1, 2, 3], { maxLength: 2 }) }),
  {
    arbitrary: fc.record({
      kind: fc.constant('alter' as const),
      topic: fc.nat(5),
      partition: fc.nat(3),
      /** Which replicas the leader keeps in the ISR (it always keeps itself); 16+ adds a stranger. */
      isrMask: fc.nat(17),
      staleLeaderEpoch: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
      asLeader: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
    }),
    weight: 8,
  },
  fc.record({
    kind: fc.constant('create' as const),
    rf: fc.integer({ min: 1, max: 3 }),
    unclean: fc.boolean(),
  }),
);

interface Model {
  state: ClusterState;
  incarnations: number[];
  topicCount: number;
}

function step(m: Model, e: Event): Decision<unknown> {
  const s = m.state;
  const reg = (id: number) => s.brokers.find((b) => b.nodeId === id);
  switch (e.kind) {
    case 'register': {
      if (e.newProcess || m.incarnations[e.node] === 0) m.incarnations[e.node]++;
      return register(s, {
        nodeId: e.node,
        host: 'h',
        port: 1,
        rack: `rack-${e.node % 2}`,
        incarnationId: `inc-${e.node}-${m.incarnations[e.node]}`,
        clusterId: 'c',
      });
    }
    case 'heartbeat': {
      const r = reg(e.node);
      if (!r) return { state: s, answer: null, log: [] };
      return heartbeat(s, { ...e, nodeId: e.node, brokerEpoch: r.brokerEpoch - (e.stale ? 1 : 0) });
    }
    case 'lost':
      return brokerLost(s, e.node, reg(e.node)?.brokerEpoch ?? 0, 'lost');
    case 'expire': {
      const sessions = new Map(
        s.brokers.map((b) => [
          b.nodeId,
          { lastHeartbeatMs: e.nodes.includes(b.nodeId) ? 0 : 1000, caughtUp: true },
        ]),
      );
      return expireSessions(s, sessions, 1000, 500);
    }
    case 'alter': {
      const t = s.topics[e.topic % Math.max(1, s.topics.length)];
      const p = t?.partitions[e.partition % t.partitions.length];
      if (!t || !p) return { state: s, answer: null, log: [] };
      const sender =
        e.asLeader && p.leader !== NO_LEADER ? p.leader : p.replicas[e.partition % p.replicas.length];
      return alterPartition(s, {
        nodeId: sender,
        brokerEpoch: reg(sender)?.brokerEpoch ?? 0,
        topicId: t.topicId,
        partition: p.partition,
        leaderEpoch: p.leaderEpoch - (e.staleLeaderEpoch ? 1 : 0),
        partitionEpoch: p.partitionEpoch,
        newIsr: [
          ...p.replicas.filter((r, i) => r === p.leader || (e.isrMask & (1 << i)) !== 0),
          ...(e.isrMask >= 16 ? [BROKERS] : []),
        ],
      });
    }
    case 'create':
      return createTopic(
        s,
        {
          name: `t${m.topicCount}`,
          numPartitions: 4,
          replicationFactor: e.rf,
          assignments: [],
          configs: e.unclean ? { 'unclean.leader.election.enable': 'true' } : {},
        },
        {
          defaults: { numPartitions: 1, replicationFactor: 1, deleteTopicEnable: true },
          topicId: `topic-${m.topicCount++}`.padEnd(22, 'A'),
        },
      );
  }
}

function must(ok: boolean, what: string, state: ClusterState): void {
  if (!ok) throw new Error(`${what}\nbrokers: ${JSON.stringify(state.brokers)}`);
}

function checkInvariants(prev: ClusterState, next: ClusterState): void {
  if (next !== prev) must(next.version === prev.version + 1, 'the version moved by one', next);
  const byId = new Map(next.brokers.map((b) => [b.nodeId, b]));
  const before = new Map(
    prev.topics.flatMap((t) => t.partitions.map((p) => [`${t.topicId}/${p.partition}`, p])),
  );
  for (const t of next.topics) {
    for (const p of t.partitions) {
      const where = `${t.name}-${p.partition} ${JSON.stringify(p)}`;
      must(
        p.isr.length > 0 && new Set(p.isr).size === p.isr.length,
        `${where}: ISR non-empty, no repeats`,
        next,
      );
      must(
        p.isr.every((r) => p.replicas.includes(r)),
        `${where}: ISR of replicas`,
        next,
      );
      must(p.leader === NO_LEADER || p.isr.includes(p.leader), `${where}: leader in ISR`, next);
      if (p.isr.length > 1) {
        for (const r of p.isr) {
          const b = byId.get(r);
          must(
            b !== undefined && !b.fenced && !b.shuttingDown,
            `${where}: ${r} may be in a shared ISR`,
            next,
          );
        }
      }
      if (p.leader !== NO_LEADER)
        must(byId.get(p.leader)?.fenced === false, `${where}: leader unfenced`, next);
      const old = before.get(`${t.topicId}/${p.partition}`);
      if (old) {
        must(
          p.leaderEpoch >= old.leaderEpoch && p.partitionEpoch >= old.partitionEpoch,
          `${where}: epochs grow`,
          next,
        );
        if (p.leader !== old.leader)
          must(p.leaderEpoch > old.leaderEpoch, `${where}: new leader, new epoch`, next);
        if (p !== old)
          must(p.partitionEpoch > old.partitionEpoch, `${where}: change, new partition epoch`, next);
      }
    }
  }
}

describe('controller > model', () => {
  it('keeps every partition consistent through any sequence of broker and ISR events', () => {
    const seen = { alters: 0, elections: 0, fencings: 0 };
    fc.assert(
      fc.property(fc.array(event, { minLength: 40, maxLength: 150 }), (events) => {
        const m: Model = {
          state: { ...newClusterState('c'), controllerEpoch: 1, version: 1 },
          incarnations: Array<number>(BROKERS).fill(0),
          topicCount: 0,
        };
        // Start from a working cluster: every broker live, two fully replicated topics.
        const start: Event[] = [
          ...[0, 1, 2, 3].flatMap((n): Event[] => [
            { kind: 'register', node: n, newProcess: true },
            { kind: 'heartbeat', node: n, caughtUp: true, wantShutdown: false, stale: false },
          ]),
          { kind: 'create', rf: 3, unclean: false },
          { kind: 'create', rf: 3, unclean: true },
        ];
        for (const e of start) m.state = step(m, e).state;
        for (const e of events) {
          const prev = m.state;
          const d = step(m, e);
          checkInvariants(prev, d.state);
          if (e.kind === 'alter' && d.state !== prev) seen.alters++;
          if (d.log.some((l) => l.startsWith('Elected'))) seen.elections++;
          if (d.log.some((l) => l.startsWith('Fenced'))) seen.fencings++;
          m.state = d.state;
        }
      }),
      { numRuns: 200 },
    );
    // The runs reached the interesting states, not only refusals.
    expect(seen.alters).toBeGreaterThan(100);
    expect(seen.elections).toBeGreaterThan(100);
    expect(seen.fencings).toBeGreaterThan(100);
  });
});
