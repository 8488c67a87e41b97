import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../../src/common/clock.ts';
import { silentLogger } from '../../../../src/common/logger.ts';
import { ErrorCode } from '../../../../src/protocol/error-codes.ts';
import { ClassicGroup } from '../../../../src/broker/groups/group.ts';
import {
  assignmentOf,
  consumerProtocols,
  join,
  joinWithId,
  newGroup,
  sync,
  type Harness,
} from './group-harness.ts';

/** Two members in a Stable generation: `a` leads with partition 0, `b` has partition 1. */
function stableTwo(h: Harness): { a: string; b: string; generation: number } {
  const a = joinWithId(h, { clientId: 'a' });
  const b = joinWithId(h, { clientId: 'b' });
  // `a` completed generation 1 alone; `b` started the next rebalance, which waits for `a`.
  expect(a.box.result?.generationId).toBe(1);
  const again = join(h, { memberId: a.memberId, clientId: 'a' });
  const generation = again.result!.generationId;
  expect(b.box.result?.generationId).toBe(generation);
  const assignments = new Map([
    [a.memberId, assignmentOf([0])],
    [b.memberId, assignmentOf([1])],
  ]);
  sync(h, { memberId: a.memberId, generationId: generation, assignments });
  sync(h, { memberId: b.memberId, generationId: generation });
  expect(h.group.state).toBe('Stable');
  return { a: a.memberId, b: b.memberId, generation };
}

describe('classic group > joining', () => {
  it('asks a v4+ member without an id to rejoin with one, then makes the first joiner leader', () => {
    const h = newGroup();
    const first = join(h, { clientId: 'client-1' });
    expect(first.result).toMatchObject({ errorCode: ErrorCode.MEMBER_ID_REQUIRED, memberId: 'client-1-1' });
    expect(h.group.size).toBe(0);
    const second = join(h, { clientId: 'client-1', memberId: 'client-1-1' });
    expect(second.result).toMatchObject({
      errorCode: ErrorCode.NONE,
      generationId: 1,
      leader: 'client-1-1',
      memberId: 'client-1-1',
      protocolType: 'consumer',
      protocolName: 'range',
    });
    expect(second.result!.members.map((m) => m.memberId)).toEqual(['client-1-1']);
    expect(h.group.state).toBe('CompletingRebalance');
  });

  it('adds a member at once before v4 (no member id required)', () => {
    const h = newGroup();
    const r = join(h, { requireKnownMemberId: false });
    expect(r.result).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1 });
  });

  it("relays the leader's assignment to every member through SyncGroup and becomes Stable", () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    expect(h.group.member(a)!.assignment).toEqual(assignmentOf([0]));
    expect(h.group.member(b)!.assignment).toEqual(assignmentOf([1]));
    const late = sync(h, { memberId: b, generationId: generation });
    expect(late.result).toMatchObject({ errorCode: ErrorCode.NONE, protocolName: 'range' });
    expect(late.result!.assignment).toEqual(assignmentOf([1]));
    expect(h.stored.at(-1)!.members.map((m) => m.assignment)).toEqual([assignmentOf([0]), assignmentOf([1])]);
  });

  it("holds followers' SyncGroup until the leader's assignment is stored", () => {
    const h = newGroup({ storeMode: 'queued' });
    const a = joinWithId(h, { clientId: 'a' });
    const gen = a.box.result!.generationId;
    const followerless = sync(h, {
      memberId: a.memberId,
      generationId: gen,
      assignments: new Map([[a.memberId, assignmentOf([0, 1])]]),
    });
    expect(followerless.result).toBeNull();
    expect(h.group.state).toBe('CompletingRebalance');
    h.completeStore();
    expect(followerless.result?.assignment).toEqual(assignmentOf([0, 1]));
    expect(h.group.state).toBe('Stable');
  });

  it('waits group.initial.rebalance.delay.ms for more members, extending it while they arrive', () => {
    const h = newGroup({ config: { initialRebalanceDelayMs: 3000 } });
    const a = joinWithId(h, { clientId: 'a' });
    h.clock.advance(2000);
    const b = joinWithId(h, { clientId: 'b' });
    h.clock.advance(1000); // the first delay ends, but b arrived during it: another delay
    expect(a.box.result).toBeNull();
    h.clock.advance(2999);
    expect(a.box.result).toBeNull();
    h.clock.advance(1);
    expect(a.box.result).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1 });
    expect(b.box.result).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1 });
    expect(a.box.result!.members).toHaveLength(2);
  });

  it('never extends the initial delay past the rebalance timeout', () => {
    const h = newGroup({ config: { initialRebalanceDelayMs: 3000 } });
    const a = joinWithId(h, { clientId: 'a', rebalanceTimeoutMs: 5000 });
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      if (!a.box.result) joinWithId(h, { clientId: `x${i}`, rebalanceTimeoutMs: 5000 });
    }
    expect(a.box.result?.generationId).toBe(1);
    expect(h.clock.now() - 1_000_000).toBeLessThanOrEqual(5000);
  });

  it('selects the protocol that all members support, by their votes', () => {
    const h = newGroup({ config: { initialRebalanceDelayMs: 100 } });
    const a = joinWithId(h, { clientId: 'a', protocols: consumerProtocols(['range', 'roundrobin']) });
    joinWithId(h, { clientId: 'b', protocols: consumerProtocols(['roundrobin', 'range']) });
    joinWithId(h, { clientId: 'c', protocols: consumerProtocols(['roundrobin', 'sticky', 'range']) });
    h.clock.advance(200); // members arrived during the first delay: it was extended once
    expect(a.box.result?.protocolName).toBe('roundrobin');
  });

  it('rebalances when a member joins a Stable group, telling heartbeats REBALANCE_IN_PROGRESS', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    const c = joinWithId(h, { clientId: 'c' });
    expect(h.group.state).toBe('PreparingRebalance');
    expect(h.group.heartbeat({ memberId: a, generationId: generation, groupInstanceId: null })).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    const ra = join(h, { memberId: a, clientId: 'a' });
    expect(ra.result).toBeNull();
    const rb = join(h, { memberId: b, clientId: 'b' });
    for (const r of [ra, rb, c.box])
      expect(r.result).toMatchObject({ errorCode: ErrorCode.NONE, generationId: generation + 1 });
    expect(ra.result!.members).toHaveLength(3);
    expect(rb.result!.members).toHaveLength(0);
  });

  it('answers a JoinGroup or SyncGroup superseded by a retry at once, so no request is left hanging', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    const first = join(h, { memberId: a, clientId: 'a' });
    const retry = join(h, { memberId: a, clientId: 'a' });
    expect(first.result?.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    join(h, { memberId: b, clientId: 'b' });
    expect(retry.result).toMatchObject({ errorCode: ErrorCode.NONE, generationId: generation + 1 });
    const s1 = sync(h, { memberId: b, generationId: generation + 1 });
    const s2 = sync(h, { memberId: b, generationId: generation + 1 });
    expect(s1.result?.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(s2.result).toBeNull();
    sync(h, { memberId: a, generationId: generation + 1 });
    expect(s2.result?.errorCode).toBe(ErrorCode.NONE);
  });

  it('returns the current generation to a follower that rejoins a Stable group unchanged', () => {
    const h = newGroup();
    const { b, generation } = stableTwo(h);
    const r = join(h, { memberId: b, clientId: 'b' });
    expect(r.result).toMatchObject({ errorCode: ErrorCode.NONE, generationId: generation });
    expect(h.group.state).toBe('Stable');
  });
});

describe('classic group > members leaving and failing', () => {
  it('rebalances when a member leaves, and goes Empty when the last one does', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    expect(h.group.leave([{ memberId: b, groupInstanceId: null }])).toEqual({
      errorCode: ErrorCode.NONE,
      members: [{ memberId: b, groupInstanceId: null, errorCode: ErrorCode.NONE }],
    });
    expect(h.group.state).toBe('PreparingRebalance');
    const r = join(h, { memberId: a, clientId: 'a' });
    expect(r.result).toMatchObject({ generationId: generation + 1, leader: a });
    h.group.leave([{ memberId: a, groupInstanceId: null }]);
    // The rebalance the leave starts completes at once with nobody: a new, empty generation.
    expect(h.group.state).toBe('Empty');
    expect(h.group.size).toBe(0);
    expect(h.group.generationId).toBe(generation + 2);
  });

  it('goes Empty with a new generation, stored without members, once everyone has left', () => {
    const h = newGroup();
    const a = joinWithId(h, { clientId: 'a' });
    sync(h, {
      memberId: a.memberId,
      generationId: 1,
      assignments: new Map([[a.memberId, assignmentOf([0])]]),
    });
    h.group.leave([{ memberId: a.memberId, groupInstanceId: null }]);
    expect(h.group.state).toBe('Empty');
    expect(h.group.generationId).toBe(2);
    expect(h.stored.at(-1)).toMatchObject({
      generation: 2,
      members: [],
      protocol: null,
      protocolType: 'consumer',
    });
  });

  it('expires a member that stops heartbeating after its session timeout', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    const beat = (memberId: string): number =>
      h.group.heartbeat({ memberId, generationId: generation, groupInstanceId: null });
    h.clock.advance(4000);
    expect(beat(a)).toBe(ErrorCode.NONE);
    h.clock.advance(5999);
    expect(beat(a)).toBe(ErrorCode.NONE);
    expect(h.group.has(b)).toBe(true);
    h.clock.advance(1); // b's 10 s session ends
    expect(h.group.has(b)).toBe(false);
    expect(h.group.state).toBe('PreparingRebalance');
    expect(beat(a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(beat(b)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('does not expire a member waiting for its JoinGroup answer; the rebalance timeout drops laggards', () => {
    const h = newGroup();
    const { a, b } = stableTwo(h);
    const ra = join(h, { memberId: a, clientId: 'a' }); // leader rejoins: rebalance, waits for b
    h.clock.advance(15_000); // a's session (10 s) passes while it waits: it stays
    expect(h.group.has(a)).toBe(true);
    expect(h.group.has(b)).toBe(false); // b neither rejoined nor heartbeat: its session expired
    expect(ra.result).toMatchObject({
      errorCode: ErrorCode.NONE,
      members: [expect.objectContaining({ memberId: a })],
    });
  });

  it('removes a member that rejoins too late for the rebalance timeout but keeps heartbeating', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    const ra = join(h, { memberId: a, clientId: 'a', rebalanceTimeoutMs: 20_000 });
    for (let t = 0; t < 5; t++) {
      h.clock.advance(4000);
      h.group.heartbeat({ memberId: b, generationId: generation, groupInstanceId: null });
    }
    h.clock.advance(1);
    expect(ra.result?.generationId).toBe(generation + 1);
    expect(h.group.has(b)).toBe(false);
  });

  it('removes members that heartbeat but do not send SyncGroup within the rebalance timeout', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    join(h, { memberId: a, clientId: 'a' });
    join(h, { memberId: b, clientId: 'b' });
    expect(h.group.state).toBe('CompletingRebalance');
    sync(h, { memberId: a, generationId: generation + 1 }); // the leader syncs; b never does
    const beat = (memberId: string): number =>
      h.group.heartbeat({ memberId, generationId: generation + 1, groupInstanceId: null });
    for (let t = 0; t < 4; t++) {
      h.clock.advance(4999);
      expect(beat(a)).toBe(ErrorCode.NONE);
      expect(beat(b)).toBe(ErrorCode.NONE);
    }
    h.clock.advance(4); // 20 s, the rebalance timeout, since the join phase completed
    expect(h.group.has(b)).toBe(false);
    expect(h.group.state).toBe('PreparingRebalance');
  });

  it('rebalances without a leader that never sends SyncGroup', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    join(h, { memberId: a, clientId: 'a' });
    join(h, { memberId: b, clientId: 'b' });
    const waiting = sync(h, { memberId: b, generationId: generation + 1 });
    for (let t = 0; t < 4; t++) {
      h.clock.advance(4999);
      h.group.heartbeat({ memberId: a, generationId: generation + 1, groupInstanceId: null });
    }
    h.clock.advance(4);
    expect(h.group.has(a)).toBe(false);
    expect(waiting.result?.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it("answers a removed member's waiting JoinGroup with UNKNOWN_MEMBER_ID", () => {
    const h = newGroup();
    const { a, b } = stableTwo(h);
    const rb = join(h, { memberId: b, clientId: 'b', protocols: consumerProtocols(['range'], ['t', 'u']) });
    expect(rb.result).toBeNull();
    h.group.leave([{ memberId: b, groupInstanceId: null }]);
    expect(rb.result).toMatchObject({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID });
    expect(h.group.has(a)).toBe(true);
  });
});

describe('classic group > bad requests', () => {
  function snapshot(h: Harness): unknown {
    const g = h.group;
    return {
      state: g.state,
      generation: g.generationId,
      leader: g.leaderId,
      members: g.members.map((m) => [m.memberId, m.assignment.toString('hex')]),
    };
  }

  it('answers an unknown member id with UNKNOWN_MEMBER_ID and changes nothing', () => {
    const h = newGroup();
    const { generation } = stableTwo(h);
    const before = snapshot(h);
    expect(join(h, { memberId: 'nobody' }).result?.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(sync(h, { memberId: 'nobody', generationId: generation }).result?.errorCode).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(h.group.heartbeat({ memberId: 'nobody', generationId: generation, groupInstanceId: null })).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(h.group.leave([{ memberId: 'nobody', groupInstanceId: null }]).members[0].errorCode).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(h.group.validateOffsetCommit(generation, 'nobody', null)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(snapshot(h)).toEqual(before);
  });

  it('answers an old or future generation with ILLEGAL_GENERATION and changes nothing', () => {
    const h = newGroup();
    const { a, generation } = stableTwo(h);
    const before = snapshot(h);
    for (const g of [generation - 1, generation + 1]) {
      expect(sync(h, { memberId: a, generationId: g }).result?.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
      expect(h.group.heartbeat({ memberId: a, generationId: g, groupInstanceId: null })).toBe(
        ErrorCode.ILLEGAL_GENERATION,
      );
      expect(h.group.validateOffsetCommit(g, a, null)).toBe(ErrorCode.ILLEGAL_GENERATION);
    }
    expect(snapshot(h)).toEqual(before);
  });

  it('refuses a join with another protocol type, or no protocol in common, with INCONSISTENT_GROUP_PROTOCOL', () => {
    const h = newGroup();
    const { a, generation } = stableTwo(h);
    const before = snapshot(h);
    expect(join(h, { protocolType: 'connect' }).result?.errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect(join(h, { protocols: consumerProtocols(['sticky']) }).result?.errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect(join(h, { memberId: a, protocolType: 'connect' }).result?.errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect(
      sync(h, { memberId: a, generationId: generation, protocolName: 'roundrobin' }).result?.errorCode,
    ).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(
      sync(h, { memberId: a, generationId: generation, protocolType: 'connect' }).result?.errorCode,
    ).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(snapshot(h)).toEqual(before);
  });

  it('refuses a join with no protocol type or no protocols into an empty group', () => {
    const h = newGroup();
    expect(join(h, { protocolType: '' }).result?.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(join(h, { protocols: [] }).result?.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(h.group.state).toBe('Empty');
  });

  it('refuses members beyond group.max.size with GROUP_MAX_SIZE_REACHED', () => {
    const h = newGroup({ config: { maxSize: 2 } });
    stableTwo(h);
    const before = snapshot(h);
    const third = join(h, { clientId: 'c', requireKnownMemberId: false });
    expect(third.result).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    expect(snapshot(h)).toEqual(before);
  });

  it('fences the old incarnation of a static member: FENCED_INSTANCE_ID for its requests and commits', () => {
    const h = newGroup();
    const s = join(h, { clientId: 'c', groupInstanceId: 'instance-1' });
    const oldId = s.result!.memberId;
    sync(h, {
      memberId: oldId,
      generationId: 1,
      groupInstanceId: 'instance-1',
      assignments: new Map([[oldId, assignmentOf([0])]]),
    });
    const restarted = join(h, { clientId: 'c', groupInstanceId: 'instance-1' });
    const newId = restarted.result!.memberId;
    expect(newId).not.toBe(oldId);
    const fenced = { memberId: oldId, groupInstanceId: 'instance-1' };
    expect(h.group.heartbeat({ ...fenced, generationId: 1 })).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(sync(h, { ...fenced, generationId: 1 }).result?.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(h.group.validateOffsetCommit(1, oldId, 'instance-1')).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(join(h, { ...fenced }).result?.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(h.group.leave([fenced]).members[0].errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(h.group.members.map((m) => m.memberId)).toEqual([newId]);
    expect(h.group.state).toBe('Stable');
  });
});

describe('classic group > static membership', () => {
  it('keeps the assignment and the generation when a static member restarts, without a rebalance', () => {
    const h = newGroup();
    const a = join(h, { clientId: 'a', groupInstanceId: 'ia' });
    const b = join(h, { clientId: 'b', groupInstanceId: 'ib' });
    const aId = a.result!.memberId;
    const ra = join(h, { memberId: aId, clientId: 'a', groupInstanceId: 'ia' });
    const gen = ra.result!.generationId;
    const bId = b.result!.memberId;
    const assignments = new Map([
      [aId, assignmentOf([0])],
      [bId, assignmentOf([1])],
    ]);
    sync(h, { memberId: aId, generationId: gen, groupInstanceId: 'ia', assignments });
    sync(h, { memberId: bId, generationId: gen, groupInstanceId: 'ib' });
    const rebalancesBefore = h.rebalances;

    // b restarts: it has lost its member id, and comes back with its instance id.
    const rb = join(h, { clientId: 'b', groupInstanceId: 'ib' });
    expect(rb.result).toMatchObject({
      errorCode: ErrorCode.NONE,
      generationId: gen,
      leader: aId,
      skipAssignment: false,
    });
    const newB = rb.result!.memberId;
    expect(h.group.state).toBe('Stable');
    expect(h.rebalances).toBe(rebalancesBefore);
    const s = sync(h, { memberId: newB, generationId: gen, groupInstanceId: 'ib' });
    expect(s.result?.assignment).toEqual(assignmentOf([1]));
    expect(h.stored.at(-1)!.members.map((m) => m.memberId)).toEqual([aId, newB]);
  });

  it('tells a restarted static leader (v9) that it leads but must skip the assignment', () => {
    const h = newGroup();
    const a = join(h, { clientId: 'a', groupInstanceId: 'ia' });
    const aId = a.result!.memberId;
    sync(h, {
      memberId: aId,
      generationId: 1,
      groupInstanceId: 'ia',
      assignments: new Map([[aId, assignmentOf([0])]]),
    });
    const v9 = join(h, { clientId: 'a', groupInstanceId: 'ia' });
    expect(v9.result).toMatchObject({ skipAssignment: true, generationId: 1, leader: v9.result!.memberId });
    expect(v9.result!.members).toHaveLength(1);
    const v8 = join(h, { clientId: 'a', groupInstanceId: 'ia', supportSkippingAssignment: false });
    // Before v9 it is given the previous leader id, so that it does not run the assignor.
    expect(v8.result).toMatchObject({ skipAssignment: false, leader: v9.result!.memberId, members: [] });
    expect(v8.result!.memberId).not.toBe(v9.result!.memberId);
    expect(h.group.state).toBe('Stable');
  });

  it('reverts a static rejoin whose store failed, and answers it with the error', () => {
    const h = newGroup({ storeMode: 'queued' });
    const a = join(h, { clientId: 'a', groupInstanceId: 'ia' });
    const aId = a.result!.memberId;
    sync(h, {
      memberId: aId,
      generationId: 1,
      groupInstanceId: 'ia',
      assignments: new Map([[aId, assignmentOf([0])]]),
    });
    h.completeStore();
    const r = join(h, { clientId: 'a', groupInstanceId: 'ia' });
    expect(r.result).toBeNull();
    h.completeStore(ErrorCode.NOT_COORDINATOR);
    expect(r.result).toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR, memberId: '' });
    expect(h.group.staticMemberId('ia')).toBe(aId);
    expect(h.group.heartbeat({ memberId: aId, generationId: 1, groupInstanceId: 'ia' })).toBe(ErrorCode.NONE);
  });

  it('rebalances when a restarted static member changes the selected protocol', () => {
    const h = newGroup();
    const a = join(h, {
      clientId: 'a',
      groupInstanceId: 'ia',
      protocols: consumerProtocols(['range', 'sticky']),
    });
    const aId = a.result!.memberId;
    sync(h, { memberId: aId, generationId: 1, groupInstanceId: 'ia' });
    const r = join(h, {
      clientId: 'a',
      groupInstanceId: 'ia',
      protocols: consumerProtocols(['sticky', 'range']),
    });
    expect(r.result).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, protocolName: 'sticky' });
  });

  it('keeps an absent static member through a rebalance until its session expires', () => {
    const h = newGroup();
    const a = join(h, { clientId: 'a', groupInstanceId: 'ia' });
    const b = join(h, { clientId: 'b', requireKnownMemberId: false });
    const aId = a.result!.memberId;
    join(h, { memberId: aId, clientId: 'a', groupInstanceId: 'ia' });
    const bId = b.result!.memberId;
    const gen = h.group.generationId;
    sync(h, { memberId: aId, generationId: gen, groupInstanceId: 'ia' });
    sync(h, { memberId: bId, generationId: gen });
    // b rejoins (rebalance); a is away but static: the generation completes with it after the timeout.
    const rb = join(h, { memberId: bId, clientId: 'b', protocols: consumerProtocols(['range'], ['t', 'u']) });
    for (let t = 0; t < 5; t++) {
      h.clock.advance(4000);
      if (h.group.has(aId)) h.group.heartbeat({ memberId: aId, generationId: gen, groupInstanceId: 'ia' });
    }
    h.clock.advance(1);
    expect(rb.result).toMatchObject({ errorCode: ErrorCode.NONE, generationId: gen + 1 });
    expect(h.group.has(aId)).toBe(true);
  });
});

describe('classic group > offset commits', () => {
  it('lets anyone commit with generation -1 to an Empty group, but only members to an active one', () => {
    const h = newGroup();
    expect(h.group.validateOffsetCommit(-1, '', null)).toBe(ErrorCode.NONE);
    const { a, generation } = stableTwo(h);
    expect(h.group.validateOffsetCommit(-1, '', null)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(h.group.validateOffsetCommit(generation, a, null)).toBe(ErrorCode.NONE);
  });

  it('refuses commits while the assignment is being completed, accepts them while preparing', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    join(h, { memberId: a, clientId: 'a' });
    expect(h.group.state).toBe('PreparingRebalance');
    expect(h.group.validateOffsetCommit(generation, b, null)).toBe(ErrorCode.NONE);
    join(h, { memberId: b, clientId: 'b' });
    expect(h.group.state).toBe('CompletingRebalance');
    expect(h.group.validateOffsetCommit(generation + 1, b, null)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });
});

describe('classic group > life cycle', () => {
  it('answers waiting requests NOT_COORDINATOR when unloaded, and leaves no timer behind', () => {
    const h = newGroup();
    const { a } = stableTwo(h);
    const r = join(h, { memberId: a, clientId: 'a' });
    h.group.unload();
    expect(r.result?.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(h.group.state).toBe('Dead');
    expect(h.clock.pendingTimers).toBe(0);
    expect(join(h, {}).result?.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  it('comes back from its record Stable, and expires members that do not heartbeat again', () => {
    const h = newGroup();
    const { a, b, generation } = stableTwo(h);
    const clock = new FakeClock(5_000_000);
    const g = ClassicGroup.fromRecord('g', h.stored.at(-1)!, {
      clock,
      config: { initialRebalanceDelayMs: 0, maxSize: 100, newMemberJoinTimeoutMs: 300_000 },
      log: silentLogger,
      newMemberId: () => 'x',
      store: (_g, _a, done) => done(0),
    });
    g.onLoaded();
    expect(g.state).toBe('Stable');
    expect(g.generationId).toBe(generation);
    expect(g.members.map((m) => m.memberId)).toEqual([a, b]);
    expect(g.leaderId).toBe(a);
    expect(g.member(b)!.assignment).toEqual(assignmentOf([1]));
    expect(g.describe()).toMatchObject({ state: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    clock.advance(6000);
    expect(g.heartbeat({ memberId: a, generationId: generation, groupInstanceId: null })).toBe(
      ErrorCode.NONE,
    );
    clock.advance(6000);
    expect(g.has(b)).toBe(false);
    expect(g.state).toBe('PreparingRebalance');
  });
});
