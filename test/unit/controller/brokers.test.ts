import { describe, expect, it } from '@jest/globals';
import type { RegisterRequest } from '../../../src/controller/api.ts';
import {
  brokerLost,
  expireSessions,
  fenceUnheard,
  heartbeat,
  register,
} from '../../../src/controller/brokers.ts';
import { NO_LEADER } from '../../../src/controller/image.ts';
import type { BrokerSession, ClusterState } from '../../../src/controller/state.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { broker, clusterState, partition, partitionOf, topic } from './fixtures.ts';

function req(nodeId: number, o: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    nodeId,
    host: 'h',
    port: 1000 + nodeId,
    rack: null,
    incarnationId: `inc-${nodeId}`,
    clusterId: null,
    ...o,
  };
}

function reg(state: ClusterState, nodeId: number) {
  return state.brokers.find((b) => b.nodeId === nodeId)!;
}

/** Brokers 0..2 live; t-0 led by 0 with ISR [0,1,2]; solo-0 led by 0 alone. */
function threeBrokers(): ClusterState {
  return clusterState({
    brokers: [broker(0), broker(1), broker(2)],
    topics: [topic('t', [partition(0, [0, 1, 2])]), topic('solo', [partition(0, [0])])],
  });
}

describe('controller > brokers > registration', () => {
  it('registers a new broker fenced, with the next broker epoch, in one version', () => {
    const s = clusterState({ brokers: [] });
    const d = register(s, req(4));
    expect(d.answer).toEqual({ ok: true, brokerEpoch: 100, clusterId: 'cluster-A', controllerEpoch: 1 });
    expect(reg(d.state, 4)).toMatchObject({
      fenced: true,
      shuttingDown: false,
      brokerEpoch: 100,
      port: 1004,
    });
    expect(d.state.nextBrokerEpoch).toBe(101);
    expect(d.state.version).toBe(s.version + 1);
  });

  it('refuses a broker whose data belongs to another cluster with INCONSISTENT_CLUSTER_ID', () => {
    const s = clusterState({ brokers: [] });
    const d = register(s, req(4, { clusterId: 'cluster-B' }));
    expect(d.answer).toMatchObject({ ok: false, errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID });
    expect(d.state).toBe(s);
  });

  it('keeps a live broker live when the same process registers again (the controller changed), with a new epoch', () => {
    const s = threeBrokers();
    const d = register(s, req(0, { incarnationId: 'inc-0' }));
    expect(reg(d.state, 0)).toMatchObject({ fenced: false, brokerEpoch: 100 });
    expect(d.state.topics).toBe(s.topics);
  });

  it('fences the old process first when a broker registers as a new process: its leaderships move, it leaves the ISRs', () => {
    const s = threeBrokers();
    const d = register(s, req(0, { incarnationId: 'restarted' }));
    expect(reg(d.state, 0)).toMatchObject({ fenced: true, incarnationId: 'restarted', brokerEpoch: 100 });
    expect(partitionOf(d.state, 't')).toMatchObject({
      leader: 1,
      isr: [1, 2],
      leaderEpoch: 1,
      partitionEpoch: 1,
    });
    expect(partitionOf(d.state, 'solo')).toMatchObject({ leader: NO_LEADER, isr: [0], leaderEpoch: 1 });
    expect(d.state.version).toBe(s.version + 1);
    expect(d.log).toContain('Fenced broker 0 (it registered again as a new process)');
    expect(d.log).toContain('Moved leadership of 1 partitions from broker 0');
  });
});

describe('controller > brokers > heartbeats', () => {
  it('refuses a stale broker epoch with STALE_BROKER_EPOCH', () => {
    const s = threeBrokers();
    const d = heartbeat(s, { nodeId: 0, brokerEpoch: 9, caughtUp: true, wantShutdown: false });
    expect(d.answer).toMatchObject({ ok: false, errorCode: ErrorCode.STALE_BROKER_EPOCH });
    expect(d.state).toBe(s);
  });

  it('keeps a registered broker fenced until it is caught up, then unfences it and it takes leaderless partitions', () => {
    const s = register(threeBrokers(), req(0, { incarnationId: 'restarted' })).state;
    const waiting = heartbeat(s, { nodeId: 0, brokerEpoch: 100, caughtUp: false, wantShutdown: false });
    expect(waiting.answer).toEqual({ ok: true, fenced: true, shutdownReady: false });
    expect(waiting.state).toBe(s);
    const up = heartbeat(s, { nodeId: 0, brokerEpoch: 100, caughtUp: true, wantShutdown: false });
    expect(up.answer).toEqual({ ok: true, fenced: false, shutdownReady: false });
    expect(partitionOf(up.state, 'solo')).toMatchObject({ leader: 0, leaderEpoch: 2, partitionEpoch: 2 });
    // Leadership elsewhere stays where it is: the ISR expands only when the leader asks.
    expect(partitionOf(up.state, 't')).toMatchObject({ leader: 1, isr: [1, 2] });
    expect(up.state.version).toBe(s.version + 1);
    expect(up.log).toEqual([
      'Unfenced broker 0 (caught up)',
      'Elected broker 0 leader of 1 leaderless partitions',
    ]);
  });

  it('changes nothing for a heartbeat from a live broker', () => {
    const s = threeBrokers();
    const d = heartbeat(s, { nodeId: 1, brokerEpoch: 11, caughtUp: true, wantShutdown: false });
    expect(d.state).toBe(s);
    expect(d.answer).toEqual({ ok: true, fenced: false, shutdownReady: false });
  });
});

describe('controller > brokers > session expiry', () => {
  const sessions = (ms: Record<number, number>) =>
    new Map<number, BrokerSession>(
      Object.entries(ms).map(([id, t]) => [Number(id), { lastHeartbeatMs: t, caughtUp: true }]),
    );

  it('fences every broker whose last heartbeat is older than the session timeout, in one change', () => {
    const s = threeBrokers();
    const d = expireSessions(s, sessions({ 0: 1000, 1: 1000, 2: 9000 }), 10_001, 9000);
    expect(d.answer).toEqual([0, 1]);
    expect(d.state.version).toBe(s.version + 1);
    expect(partitionOf(d.state, 't')).toMatchObject({
      leader: 2,
      isr: [2],
      leaderEpoch: 1,
      partitionEpoch: 1,
    });
    expect(d.log.slice(0, 2)).toEqual([
      'Fenced broker 0 (session expired)',
      'Fenced broker 1 (session expired)',
    ]);
  });

  it('fences nobody within the session timeout', () => {
    const s = threeBrokers();
    expect(expireSessions(s, sessions({ 0: 1000, 1: 1000, 2: 1000 }), 10_000, 9000).state).toBe(s);
  });
});

describe('controller > brokers > lost sessions', () => {
  it('fences a broker whose session ended', () => {
    const d = brokerLost(threeBrokers(), 0, 10, 'connection closed');
    expect(d.answer).toBe(true);
    expect(reg(d.state, 0).fenced).toBe(true);
    expect(d.log[0]).toBe('Fenced broker 0 (connection closed)');
  });

  it('ignores the loss of an older broker epoch (the broker registered again since)', () => {
    const s = threeBrokers();
    expect(brokerLost(s, 0, 3, 'connection closed')).toMatchObject({ answer: false, state: s });
  });
});

describe('controller > brokers > takeover after the old controller went silent', () => {
  const NOW = 100_000;
  const WINDOW = 1500;

  it('fences the unfenced brokers nobody heard from, once the live ones have been asking for a window', () => {
    const heard = new Map([
      [1, { first: NOW - 3000, last: NOW - 100 }],
      [2, { first: NOW - 2500, last: NOW - 400 }],
    ]);
    const d = fenceUnheard(threeBrokers(), heard, NOW, WINDOW);
    expect(d.answer).toEqual([0]);
    expect(reg(d.state, 0).fenced).toBe(true);
    expect(partitionOf(d.state, 't').leader).not.toBe(0);
    expect(partitionOf(d.state, 'solo').leader).toBe(NO_LEADER);
    expect(d.log[0]).toBe('Fenced broker 0 (not heard from since the controller moved)');
  });

  it('fences a broker heard from only long ago, as one never heard from', () => {
    const heard = new Map([
      [0, { first: NOW - 9000, last: NOW - 5000 }],
      [1, { first: NOW - 3000, last: NOW - 100 }],
      [2, { first: NOW - 3000, last: NOW - 100 }],
    ]);
    expect(fenceUnheard(threeBrokers(), heard, NOW, WINDOW).answer).toEqual([0]);
  });

  it('fences nobody after a graceful hand-over: the brokers began asking only a moment ago', () => {
    const heard = new Map([[1, { first: NOW - 200, last: NOW - 10 }]]);
    const d = fenceUnheard(threeBrokers(), heard, NOW, WINDOW);
    expect(d.answer).toEqual([]);
    expect(d.state.brokers.every((b) => !b.fenced)).toBe(true);
  });

  it('fences nobody when it heard from nobody', () => {
    expect(fenceUnheard(threeBrokers(), new Map(), NOW, WINDOW).answer).toEqual([]);
  });
});
