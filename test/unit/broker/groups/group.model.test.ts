/**
 * Model-based test of the classic group: random sequences of client actions (joins, syncs,
 * heartbeats, leaves, commits, crashes, restarts), store outcomes and clock jumps drive one group,
 * while a small reference model records what the protocol has promised so far — which members a
 * generation has, who leads it, what its leader assigned — and every answer and every state is
 * checked against it. Then every client still running behaves like a real consumer until the group
 * settles, and the settled group must hold exactly those clients, each with the partitions its
 * leader gave it, every partition once.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ErrorCode } from '../../../../src/protocol/error-codes.ts';
import {
  type JoinResult,
  selectProtocol,
  type SyncResult,
} from '../../../../src/broker/groups/membership.ts';
import { consumerProtocols, newGroup, type Harness } from './group-harness.ts';

const PARTITIONS = 6;
const CLIENTS = 4;
const MAX_SIZE = 3;
/** Client 3's session outlasts the rebalance timeout, so a join phase can end without it. */
const SESSION_MS = [10_000, 10_000, 10_000, 25_000];
const REBALANCE_MS = 20_000;

type Action =
  /** What a well-behaved consumer does next: join, sync, or heartbeat. */
  | { kind: 'step'; client: number }
  | { kind: 'join'; client: number; protocols: number; v4: boolean }
  | { kind: 'sync'; client: number }
  | { kind: 'heartbeat'; client: number }
  | { kind: 'leave'; client: number }
  | { kind: 'commit'; client: number }
  | { kind: 'crash'; client: number }
  | { kind: 'restart'; client: number }
  | { kind: 'staleSync'; client: number; generationDelta: number }
  | { kind: 'strangerHeartbeat' }
  | { kind: 'badProtocolJoin'; client: number }
  | { kind: 'store'; ok: boolean }
  | { kind: 'advance'; ms: number };

/** Protocol lists clients may join with: every pair shares 'range'. */
const PROTOCOL_LISTS = [['range'], ['range', 'roundrobin'], ['roundrobin', 'range']];

interface Client {
  index: number;
  /** Clients 0 and 1 are static members (group.instance.id), the others dynamic. */
  instanceId: string | null;
  incarnation: number;
  alive: boolean;
  memberId: string;
  generation: number;
  /** The last JoinGroup answer of this incarnation's current generation, until it syncs. */
  joined: JoinResult | null;
  synced: boolean;
  assignment: Buffer | null;
  busy: boolean;
  protocols: number;
  /** Told to stop for good (GROUP_MAX_SIZE_REACHED, FENCED_INSTANCE_ID): a real client would. */
  fatal: boolean;
}

/** What the protocol has promised, generation by generation, as seen from outside the group. */
interface Model {
  lastGeneration: number;
  /** Keys (instance id, else member id) of each generation's members, from its leader's answer. */
  generationMembers: Map<number, Set<string>>;
  generationLeader: Map<number, string>;
  /** What each generation's leader assigned, by member key. */
  leaderAssignment: Map<number, Map<string, string>>;
  /** Member id → key, for every id any answer has named. */
  keyOf: Map<string, string>;
  /** Keys given a successful JoinGroup answer, by generation. */
  joinedGeneration: Map<number, Set<string>>;
  /** Requests sent and not answered yet: every one must be answered in the end. */
  outstanding: number;
  failures: string[];
}

function newModel(): Model {
  return {
    lastGeneration: 0,
    generationMembers: new Map(),
    generationLeader: new Map(),
    leaderAssignment: new Map(),
    keyOf: new Map(),
    joinedGeneration: new Map(),
    outstanding: 0,
    failures: [],
  };
}

const assignmentBytes = (partitions: number[]): Buffer => Buffer.from(JSON.stringify(partitions));
const partitionsOf = (b: Buffer): number[] => (b.length === 0 ? [] : (JSON.parse(b.toString()) as number[]));

class World {
  readonly h: Harness;
  readonly model = newModel();
  readonly clients: Client[];
  #strangers = 0;

  /** Queued stores complete only when an action says so (and may fail); others complete at once. */
  constructor(queuedStores: boolean) {
    this.h = newGroup({
      storeMode: queuedStores ? 'queued' : 'immediate',
      config: { initialRebalanceDelayMs: 3000, maxSize: MAX_SIZE },
    });
    this.clients = Array.from({ length: CLIENTS }, (_, index) => ({
      index,
      instanceId: index < 2 ? `instance-${index}` : null,
      incarnation: 0,
      alive: true,
      memberId: '',
      generation: -1,
      joined: null,
      synced: false,
      assignment: null,
      busy: false,
      protocols: index % PROTOCOL_LISTS.length,
      fatal: false,
    }));
  }

  get group() {
    return this.h.group;
  }

  #fail(message: string): void {
    this.model.failures.push(message);
  }

  #key(memberId: string, instanceId: string | null): string {
    return instanceId ?? memberId;
  }

  // --- sending, with the answers checked against the model as they arrive --------------------

  join(c: Client, o: { protocols?: number; v4?: boolean; protocolType?: string } = {}): void {
    if (!c.alive || c.busy) return;
    c.busy = true;
    const incarnation = c.incarnation;
    if (o.protocols !== undefined) c.protocols = o.protocols;
    const protocols = consumerProtocols(PROTOCOL_LISTS[c.protocols]);
    this.model.outstanding++;
    this.group.join(
      {
        memberId: c.memberId,
        groupInstanceId: c.instanceId,
        clientId: `client-${c.index}`,
        clientHost: '/127.0.0.1',
        rebalanceTimeoutMs: REBALANCE_MS,
        sessionTimeoutMs: SESSION_MS[c.index],
        protocolType: o.protocolType ?? 'consumer',
        protocols,
        requireKnownMemberId: o.v4 ?? true,
        supportSkippingAssignment: true,
        reason: null,
      },
      (r) => {
        this.model.outstanding--;
        // The group holds what a successful JoinGroup sent, not an earlier member's metadata.
        if (r.errorCode === ErrorCode.NONE && !this.group.member(r.memberId)?.matches(protocols)) {
          this.#fail(`${r.memberId} joined, but the group holds other protocols for it`);
        }
        this.#onJoin(c, incarnation, r);
      },
    );
  }

  #onJoin(c: Client, incarnation: number, r: JoinResult): void {
    if (r.errorCode === ErrorCode.NONE) {
      const key = this.#key(r.memberId, c.instanceId);
      this.model.keyOf.set(r.memberId, key);
      let joined = this.model.joinedGeneration.get(r.generationId);
      if (!joined) this.model.joinedGeneration.set(r.generationId, (joined = new Set()));
      joined.add(key);
      if (!this.group.has(r.memberId)) this.#fail(`join answer NONE to ${r.memberId}, not a member`);
      if (r.generationId < this.model.lastGeneration) {
        this.#fail(`join answer for generation ${r.generationId} after ${this.model.lastGeneration}`);
      }
      if (r.members.length > 0) {
        const keys = new Set(r.members.map((m) => this.#key(m.memberId, m.groupInstanceId)));
        for (const m of r.members) this.model.keyOf.set(m.memberId, this.#key(m.memberId, m.groupInstanceId));
        const known = this.model.generationMembers.get(r.generationId);
        if (known && !sameSet(known, keys)) this.#fail(`generation ${r.generationId} has two member lists`);
        this.model.generationMembers.set(r.generationId, keys);
        if (r.leader !== r.memberId) this.#fail(`members list given to non-leader ${r.memberId}`);
      }
      const leader = this.group.member(r.leader);
      const leaderKey = leader
        ? this.#key(leader.memberId, leader.groupInstanceId)
        : (this.model.keyOf.get(r.leader) ?? r.leader);
      const knownLeader = this.model.generationLeader.get(r.generationId);
      if (knownLeader !== undefined && knownLeader !== leaderKey) {
        this.#fail(`generation ${r.generationId} has leaders ${knownLeader} and ${leaderKey}`);
      }
      this.model.generationLeader.set(r.generationId, leaderKey);
    }
    if (c.incarnation !== incarnation) return; // a crashed incarnation's answer: nobody reads it
    c.busy = false;
    switch (r.errorCode) {
      case ErrorCode.NONE:
        c.memberId = r.memberId;
        c.generation = r.generationId;
        c.joined = r;
        c.synced = false;
        return;
      case ErrorCode.MEMBER_ID_REQUIRED:
        c.memberId = r.memberId;
        return;
      case ErrorCode.GROUP_MAX_SIZE_REACHED:
      case ErrorCode.FENCED_INSTANCE_ID:
      case ErrorCode.INCONSISTENT_GROUP_PROTOCOL:
        c.fatal = true;
        this.#reset(c);
        return;
      default:
        this.#reset(c);
    }
  }

  #reset(c: Client): void {
    c.memberId = '';
    c.generation = -1;
    c.joined = null;
    c.synced = false;
    c.assignment = null;
  }

  sync(c: Client, generationDelta = 0): void {
    if (!c.alive || c.busy || c.joined === null) return;
    const r = c.joined;
    const generation = r.generationId + generationDelta;
    const assignments = new Map<string, Buffer>();
    if (generationDelta === 0 && r.leader === c.memberId && !r.skipAssignment && r.members.length > 0) {
      // The leader assigns: partitions round-robin over the members sorted by key.
      const members = [...r.members].sort((x, y) =>
        this.#key(x.memberId, x.groupInstanceId).localeCompare(this.#key(y.memberId, y.groupInstanceId)),
      );
      const byKey = new Map<string, string>();
      members.forEach((m, i) => {
        const mine = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % members.length === i);
        assignments.set(m.memberId, assignmentBytes(mine));
        byKey.set(this.#key(m.memberId, m.groupInstanceId), JSON.stringify(mine));
      });
      this.model.leaderAssignment.set(generation, byKey);
    }
    c.busy = true;
    const incarnation = c.incarnation;
    const memberId = c.memberId;
    const key = this.#key(memberId, c.instanceId);
    this.model.outstanding++;
    this.group.sync(
      {
        generationId: generation,
        memberId,
        groupInstanceId: c.instanceId,
        protocolType: 'consumer',
        protocolName: null,
        assignments,
      },
      (s) => {
        this.model.outstanding--;
        this.#onSync(c, incarnation, memberId, key, generation, s);
      },
    );
  }

  #onSync(
    c: Client,
    incarnation: number,
    memberId: string,
    key: string,
    generation: number,
    s: SyncResult,
  ): void {
    if (s.errorCode === ErrorCode.NONE) {
      if (!this.group.has(memberId)) this.#fail(`assignment given to ${memberId}, not a member`);
      if (generation !== this.group.generationId) {
        this.#fail(`SyncGroup of generation ${generation} answered in generation ${this.group.generationId}`);
      }
      const members = this.model.generationMembers.get(generation);
      if (members && !members.has(key)) this.#fail(`assignment to ${key}, outside generation ${generation}`);
      const fromLeader = this.model.leaderAssignment.get(generation);
      if (!fromLeader) this.#fail(`assignment for generation ${generation} before its leader assigned`);
      else if ((fromLeader.get(key) ?? '[]') !== JSON.stringify(partitionsOf(s.assignment))) {
        this.#fail(`${key} got ${s.assignment.toString()} but its leader gave ${fromLeader.get(key)}`);
      }
    }
    if (c.incarnation !== incarnation) return;
    c.busy = false;
    if (s.errorCode === ErrorCode.NONE) {
      c.synced = true;
      c.assignment = s.assignment;
    } else if (s.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
      c.joined = null;
      c.synced = false;
    } else if (s.errorCode === ErrorCode.FENCED_INSTANCE_ID) {
      c.fatal = true;
      this.#reset(c);
    } else if (s.errorCode !== ErrorCode.ILLEGAL_GENERATION || c.generation === generation) {
      this.#reset(c);
    }
  }

  /** Returns the error, and applies what a consumer does on it. */
  heartbeat(c: Client): void {
    if (!c.alive || c.busy || c.memberId === '' || c.generation < 0) return;
    const error = this.group.heartbeat({
      memberId: c.memberId,
      generationId: c.generation,
      groupInstanceId: c.instanceId,
    });
    if (error === ErrorCode.NONE && !this.group.has(c.memberId))
      this.#fail('heartbeat NONE from a non-member');
    if (error === ErrorCode.NONE && c.generation !== this.group.generationId) {
      this.#fail(`heartbeat of generation ${c.generation} accepted in ${this.group.generationId}`);
    }
    if (error === ErrorCode.REBALANCE_IN_PROGRESS) {
      c.joined = null;
      c.synced = false;
    } else if (error === ErrorCode.FENCED_INSTANCE_ID) {
      c.fatal = true;
      this.#reset(c);
    } else if (error !== ErrorCode.NONE) this.#reset(c);
  }

  leave(c: Client): void {
    if (!c.alive || c.busy || c.memberId === '') return;
    const r = this.group.leave([{ memberId: c.memberId, groupInstanceId: c.instanceId }]);
    if (r.members[0]?.errorCode === ErrorCode.NONE && this.group.has(c.memberId))
      this.#fail('left but still a member');
    this.#reset(c);
  }

  commit(c: Client): void {
    if (!c.alive || c.busy) return;
    const generation = c.memberId === '' ? -1 : c.generation;
    const wasEmpty = this.group.state === 'Empty';
    const error = this.group.validateOffsetCommit(generation, c.memberId, c.instanceId);
    if (error !== ErrorCode.NONE) return;
    // Generation -1 may commit to an Empty group whoever sends it; anything else must be a member
    // of the current generation.
    if (generation < 0 && !wasEmpty) this.#fail(`commit with generation -1 accepted in ${this.group.state}`);
    if (generation >= 0 && !this.group.has(c.memberId))
      this.#fail(`commit accepted from ${c.memberId}, not a member`);
    if (generation >= 0 && this.group.generationId !== generation) {
      this.#fail(`commit accepted for generation ${generation} in ${this.group.generationId}`);
    }
  }

  crash(c: Client): void {
    c.alive = false;
    c.busy = false;
  }

  restart(c: Client): void {
    if (c.alive) return;
    c.alive = true;
    c.fatal = false;
    c.incarnation++;
    this.#reset(c);
  }

  strangerHeartbeat(): void {
    const memberId = `stranger-${++this.#strangers}`;
    const error = this.group.heartbeat({
      memberId,
      generationId: this.group.generationId,
      groupInstanceId: null,
    });
    if (error !== ErrorCode.UNKNOWN_MEMBER_ID && error !== ErrorCode.COORDINATOR_NOT_AVAILABLE) {
      this.#fail(`stranger heartbeat got ${error}`);
    }
  }

  apply(a: Action): void {
    const c = 'client' in a ? this.clients[a.client] : undefined;
    switch (a.kind) {
      case 'step':
        return this.step(c!);
      case 'join':
        return this.join(c!, { protocols: a.protocols, v4: a.v4 });
      case 'badProtocolJoin':
        return this.join(c!, { protocolType: 'connect' });
      case 'sync':
        return this.sync(c!);
      case 'staleSync':
        return this.sync(c!, a.generationDelta);
      case 'heartbeat':
        return this.heartbeat(c!);
      case 'leave':
        return this.leave(c!);
      case 'commit':
        return this.commit(c!);
      case 'crash':
        return this.crash(c!);
      case 'restart':
        return this.restart(c!);
      case 'strangerHeartbeat':
        return this.strangerHeartbeat();
      case 'store':
        if (this.h.pendingStores.length > 0)
          this.h.completeStore(a.ok ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR);
        return;
      case 'advance':
        this.h.clock.advance(a.ms);
    }
  }

  /** What must hold between any two events. */
  checkInvariants(): void {
    const g = this.group;
    if (g.generationId < this.model.lastGeneration) this.#fail(`generation went back to ${g.generationId}`);
    // A generation's members are those that rejoined for it, and static members away for a while.
    const listed = this.model.generationMembers.get(g.generationId);
    const joined = this.model.joinedGeneration.get(g.generationId) ?? new Set();
    for (const key of listed ?? []) {
      if (!joined.has(key) && !key.startsWith('instance-')) {
        this.#fail(`${key} is in generation ${g.generationId} without having rejoined for it`);
      }
    }
    this.model.lastGeneration = g.generationId;
    const members = g.members;
    switch (g.state) {
      case 'Empty':
        if (members.length > 0) this.#fail('Empty group with members');
        break;
      case 'CompletingRebalance':
      case 'Stable':
        if (members.length === 0) this.#fail(`${g.state} group without members`);
        if (g.leaderId === null || !g.has(g.leaderId))
          this.#fail(`${g.state} group whose leader is not a member`);
        if (g.protocolName === null) this.#fail(`${g.state} group without a protocol`);
        // A change of members' protocols that would change the choice must have rebalanced.
        else if (members.length > 0 && selectProtocol(members) !== g.protocolName) {
          this.#fail(`${g.state} group uses ${g.protocolName}, its members would now vote otherwise`);
        }
        for (const m of members) {
          if (!m.protocols.some((p) => p.name === g.protocolName))
            this.#fail(`${m.memberId} lacks the protocol`);
        }
        break;
      default:
    }
    for (const m of members) {
      if (m.awaitingSync && g.state !== 'CompletingRebalance')
        this.#fail(`${m.memberId} awaits sync in ${g.state}`);
      // Join answers wait in PreparingRebalance, and in Stable while a static rejoin is stored.
      if (m.awaitingJoin && g.state === 'CompletingRebalance')
        this.#fail(`${m.memberId} awaits join in ${g.state}`);
      if (m.awaitingJoin && g.state === 'Stable' && this.h.pendingStores.length === 0) {
        this.#fail(`${m.memberId} awaits join in Stable with no store pending`);
      }
    }
    const staticIds = members.filter((m) => m.groupInstanceId !== null).map((m) => m.groupInstanceId);
    if (new Set(staticIds).size !== staticIds.length) this.#fail('two members share an instance id');
    if (members.length > MAX_SIZE && g.state === 'Stable')
      this.#fail(`Stable with ${members.length} members`);
    if (g.state === 'Stable') {
      const fromLeader = this.model.leaderAssignment.get(g.generationId);
      if (!fromLeader) this.#fail(`Stable generation ${g.generationId} without a leader assignment`);
      for (const m of members) {
        const key = this.#key(m.memberId, m.groupInstanceId);
        const expected = fromLeader?.get(key) ?? '[]';
        if (JSON.stringify(partitionsOf(m.assignment)) !== expected) {
          this.#fail(`Stable member ${key} holds ${m.assignment.toString()}, its leader gave ${expected}`);
        }
      }
    }
  }

  /** Every live client now behaves like a consumer; the group must settle around them. */
  step(c: Client): void {
    if (!c.alive || c.fatal || c.busy) return;
    if (c.joined === null && !c.synced) this.join(c);
    else if (c.joined !== null && !c.synced) this.sync(c);
    else this.heartbeat(c);
  }

  settle(): void {
    for (let round = 0; round < 400; round++) {
      for (const c of this.clients) {
        this.step(c);
        this.checkInvariants();
      }
      while (this.h.pendingStores.length > 0) this.h.completeStore();
      this.checkInvariants();
      if (this.#settled()) return;
      this.h.clock.advance(1000);
      this.checkInvariants();
    }
    this.#fail(`did not settle: ${this.group.state}, ${this.group.size} members`);
  }

  #settled(): boolean {
    const g = this.group;
    const running = this.clients.filter((c) => c.alive && !c.fatal);
    if (running.length === 0) return g.size === 0;
    return (
      g.state === 'Stable' &&
      running.every((c) => c.synced && g.has(c.memberId) && c.generation === g.generationId) &&
      g.size === running.length
    );
  }

  checkSettled(): void {
    if (this.model.outstanding !== 0) this.#fail(`${this.model.outstanding} requests never answered`);
    const running = this.clients.filter((c) => c.alive && !c.fatal);
    if (running.length === 0) return;
    const seen = new Map<number, string>();
    for (const c of running) {
      for (const p of partitionsOf(c.assignment ?? Buffer.alloc(0))) {
        if (seen.has(p)) this.#fail(`partition ${p} assigned to ${seen.get(p)} and ${c.memberId}`);
        seen.set(p, c.memberId);
      }
    }
    if (seen.size !== PARTITIONS) this.#fail(`only ${seen.size} of ${PARTITIONS} partitions assigned`);
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

const client = fc.integer({ min: 0, max: CLIENTS - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 40, arbitrary: fc.record({ kind: fc.constant('step' as const), client }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      client,
      protocols: fc.integer({ min: 0, max: 2 }),
      v4: fc.boolean(),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('sync' as const), client }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), client }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), client }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), client }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), client }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restart' as const), client }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('staleSync' as const),
      client,
      generationDelta: fc.constantFrom(-1, 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('strangerHeartbeat' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('badProtocolJoin' as const), client }) },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('store' as const),
      ok: fc.constantFrom(true, true, true, false),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.constantFrom(0, 100, 500, 1000, 3000, 3000, 9999, 10_001, 20_001),
    }),
  },
);

describe('classic group > model', () => {
  it('keeps its promises under random joins, syncs, heartbeats, leaves, crashes and clock jumps', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(action, { minLength: 10, maxLength: 150, size: 'max' }),
        (queued, actions) => {
          const w = new World(queued);
          for (const a of actions) {
            w.apply(a);
            w.checkInvariants();
          }
          w.settle();
          w.checkSettled();
          expect(w.model.failures).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
