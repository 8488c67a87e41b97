/**
 * A broker's heartbeat reports the partitions whose log is offline there (a disk fault): the
 * controller moves their leadership to an in-sync replica, takes the broker out of their ISRs, keeps
 * it out (no election, no AlterPartition back in) until it registers as a new process, and leaves a
 * partition nobody can take over with the leader it has.
 */
import { describe, expect, it } from '@jest/globals';
import { heartbeat, register } from '../../../src/controller/brokers.ts';
import { alterPartition } from '../../../src/controller/isr.ts';
import type { ClusterState } from '../../../src/controller/state.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { broker, clusterState, partition, partitionOf, topic } from './fixtures.ts';

/** Brokers 0..2 live; t-0 and t-1 led by 0 with ISR [0,1,2]; solo-0 led by 0 alone. */
function threeBrokers(): ClusterState {
  return clusterState({
    brokers: [broker(0), broker(1), broker(2)],
    topics: [
      topic('t', [partition(0, [0, 1, 2]), partition(1, [0, 1, 2])]),
      topic('solo', [partition(0, [0])]),
    ],
  });
}

const idOf = (s: ClusterState, name: string): string => s.topics.find((t) => t.name === name)!.topicId;

function beat(s: ClusterState, nodeId: number, offline?: Array<[string, number]>) {
  return heartbeat(s, {
    nodeId,
    brokerEpoch: 10 + nodeId,
    caughtUp: true,
    wantShutdown: false,
    ...(offline
      ? { offlineReplicas: offline.map(([t, partition]) => ({ topicId: idOf(s, t), partition })) }
      : {}),
  });
}

describe('controller > offline replicas reported in heartbeats', () => {
  it('moves the leadership of an offline replica to an in-sync replica and shrinks the ISR, in one version', () => {
    const s = threeBrokers();
    const d = beat(s, 0, [['t', 0]]);
    expect(d.answer).toMatchObject({ ok: true, fenced: false });
    expect(partitionOf(d.state, 't', 0)).toMatchObject({ leader: 1, leaderEpoch: 1, isr: [1, 2] });
    // Only that partition: t-1 on the same broker is untouched.
    expect(partitionOf(d.state, 't', 1)).toBe(partitionOf(s, 't', 1));
    expect(d.state.version).toBe(s.version + 1);
    expect(d.log[0]).toBe('Broker 0 reports its log offline for 1 more partitions (a disk fault): t-0');
    expect(d.log).toContain('Moved leadership of 1 partitions from broker 0');
  });

  it('changes nothing when the same set is reported again, or when a heartbeat carries none', () => {
    const once = beat(threeBrokers(), 0, [['t', 0]]).state;
    expect(beat(once, 0, [['t', 0]]).state).toBe(once);
    expect(beat(once, 0).state).toBe(once);
  });

  it('keeps the leader of a partition no in-sync replica can take over (it answers KAFKA_STORAGE_ERROR)', () => {
    const d = beat(threeBrokers(), 0, [['solo', 0]]);
    expect(partitionOf(d.state, 'solo', 0)).toMatchObject({ leader: 0, isr: [0] });
  });

  it('refuses to take the replica back into the ISR until the broker registers as a new process', () => {
    const s = beat(threeBrokers(), 0, [['t', 0]]).state;
    const p = partitionOf(s, 't', 0);
    const back = alterPartition(s, {
      nodeId: 1,
      brokerEpoch: 11,
      topicId: idOf(s, 't'),
      partition: 0,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      newIsr: [0, 1, 2],
    });
    expect(back.answer).toMatchObject({ ok: false, errorCode: ErrorCode.INELIGIBLE_REPLICA });
    // Broker 1 fails too: broker 0 is not elected for t-0 (2 is).
    const later = beat(s, 1, [['t', 0]]).state;
    expect(partitionOf(later, 't', 0)).toMatchObject({ leader: 2, isr: [2] });
    // A restart (a new incarnation) forgets the report.
    const restarted = register(later, {
      nodeId: 0,
      host: 'h',
      port: 1,
      rack: null,
      incarnationId: 'inc-0-again',
      clusterId: null,
    }).state;
    expect(restarted.brokers.find((b) => b.nodeId === 0)!.offlineReplicas).toBeUndefined();
    // The same process registering again (a controller change) keeps it.
    const sameProcess = register(later, {
      nodeId: 1,
      host: 'h',
      port: 1,
      rack: null,
      incarnationId: 'inc-1',
      clusterId: null,
    }).state;
    expect(sameProcess.brokers.find((b) => b.nodeId === 1)!.offlineReplicas).toEqual([`${idOf(s, 't')}:0`]);
  });
});
