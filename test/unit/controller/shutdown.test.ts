import { describe, expect, it } from '@jest/globals';
import { heartbeat } from '../../../src/controller/brokers.ts';
import { alterPartition } from '../../../src/controller/isr.ts';
import { expireSessions } from '../../../src/controller/brokers.ts';
import type { ClusterState } from '../../../src/controller/state.ts';
import { broker, clusterState, partition, partitionOf, topic } from './fixtures.ts';

/** Broker 0 leads a (ISR [0,1,2]) and solo (ISR [0]); follows b (leader 1, ISR [1,0]). */
function state(): ClusterState {
  return clusterState({
    brokers: [broker(0), broker(1), broker(2)],
    topics: [
      topic('a', [partition(0, [0, 1, 2], { leaderEpoch: 2, partitionEpoch: 4 })]),
      topic('b', [partition(0, [1, 0])]),
      topic('solo', [partition(0, [0, 1], { isr: [0] })]),
    ],
  });
}

const wantShutdown = { nodeId: 0, brokerEpoch: 10, caughtUp: true, wantShutdown: true };

describe('controller > controlled shutdown', () => {
  it('moves leadership to another live ISR member and leaves every ISR that has another member, in one version', () => {
    const s = state();
    const d = heartbeat(s, wantShutdown);
    expect(d.state.version).toBe(s.version + 1);
    expect(d.state.brokers[0]).toMatchObject({ shuttingDown: true, fenced: false });
    expect(partitionOf(d.state, 'a')).toMatchObject({
      leader: 1,
      isr: [1, 2],
      leaderEpoch: 3,
      partitionEpoch: 5,
    });
    expect(partitionOf(d.state, 'b')).toMatchObject({
      leader: 1,
      isr: [1],
      leaderEpoch: 0,
      partitionEpoch: 1,
    });
    expect(d.log).toEqual([
      'Broker 0 began a controlled shutdown',
      'Moved leadership of 1 partitions from broker 0',
    ]);
  });

  it('keeps leading what nobody else in the ISR can take, and is then ready to go', () => {
    const d = heartbeat(state(), wantShutdown);
    expect(partitionOf(d.state, 'solo')).toMatchObject({ leader: 0, isr: [0], leaderEpoch: 0 });
    expect(d.answer).toEqual({ ok: true, fenced: false, shutdownReady: true });
  });

  it('is not unfenced or re-elected by later heartbeats', () => {
    const s = heartbeat(state(), wantShutdown).state;
    const again = heartbeat(s, { ...wantShutdown, wantShutdown: false });
    expect(again.state).toBe(s);
    expect(again.answer).toEqual({ ok: true, fenced: false, shutdownReady: true });
  });

  it('a shutting-down broker whose session ends is fenced: what it still led has no leader', () => {
    const s = heartbeat(state(), wantShutdown).state;
    const sessions = new Map([
      [0, { lastHeartbeatMs: 0, caughtUp: true }],
      [1, { lastHeartbeatMs: 5000, caughtUp: true }],
      [2, { lastHeartbeatMs: 5000, caughtUp: true }],
    ]);
    const d = expireSessions(s, sessions, 5000, 1000);
    expect(d.answer).toEqual([0]);
    expect(d.state.brokers[0]).toMatchObject({ fenced: true, shuttingDown: false });
    expect(partitionOf(d.state, 'solo')).toMatchObject({ leader: -1, isr: [0], leaderEpoch: 1 });
  });

  it('lets a fenced broker go at once', () => {
    const s = clusterState({ brokers: [broker(0, { fenced: true })] });
    expect(heartbeat(s, wantShutdown)).toMatchObject({
      state: s,
      answer: { ok: true, fenced: true, shutdownReady: true },
    });
  });
});

describe('controller > controlled shutdown > as followers catch up', () => {
  it('hands leadership over as soon as the leader adds a live replica to the ISR', () => {
    const s = heartbeat(state(), wantShutdown).state;
    const solo = partitionOf(s, 'solo');
    const d = alterPartition(s, {
      nodeId: 0,
      brokerEpoch: 10,
      topicId: s.topics[2].topicId,
      partition: 0,
      leaderEpoch: solo.leaderEpoch,
      partitionEpoch: solo.partitionEpoch,
      newIsr: [0, 1],
    });
    expect(d.answer).toMatchObject({
      ok: true,
      state: { leader: 1, isr: [1], leaderEpoch: 1, partitionEpoch: 1 },
    });
    expect(d.log).toEqual([
      'Expanded the ISR of solo-0 from [0] to [1]',
      'Moved leadership of solo-0 from broker 0 to 1',
    ]);
  });
});
