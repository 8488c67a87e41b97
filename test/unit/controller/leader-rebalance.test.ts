import { describe, expect, it } from '@jest/globals';
import { NO_LEADER, replicaKey } from '../../../src/controller/image.ts';
import {
  aboveThreshold,
  leaderImbalance,
  rebalanceLeaders,
} from '../../../src/controller/leader-rebalance.ts';
import { MemoryStore } from '../../../src/controller/store.ts';
import { broker, clusterState, partition, partitionOf, topic } from './fixtures.ts';
import { type Harness, openController } from './harness.ts';

/**
 * Three live brokers, each preferred for two partitions of `orders`; broker 0 came back from a
 * restart and leads neither of its own (they moved to 1 and 2), brokers 1 and 2 lead theirs.
 */
function afterRestart() {
  return clusterState({
    brokers: [broker(0), broker(1), broker(2)],
    topics: [
      topic('orders', [
        partition(0, [0, 1, 2], { leader: 1, leaderEpoch: 3, partitionEpoch: 4 }),
        partition(1, [1, 2, 0]),
        partition(2, [2, 0, 1]),
        partition(3, [0, 2, 1], { leader: 2, leaderEpoch: 1, partitionEpoch: 2 }),
        partition(4, [1, 0, 2]),
        partition(5, [2, 1, 0]),
      ]),
    ],
  });
}

describe('controller > leader rebalance > imbalance', () => {
  it('counts, per preferred broker, the partitions it does not lead (a leaderless one among them)', () => {
    const state = afterRestart();
    state.topics[0].partitions[1] = partition(1, [1, 2, 0], { leader: NO_LEADER });
    expect(leaderImbalance(state)).toEqual([
      { broker: 0, preferred: 2, notLeading: 2 },
      { broker: 1, preferred: 2, notLeading: 1 },
      { broker: 2, preferred: 2, notLeading: 0 },
    ]);
  });

  it('is above the threshold only when strictly greater, as in Kafka', () => {
    expect(aboveThreshold({ broker: 0, preferred: 10, notLeading: 1 }, 10)).toBe(false);
    expect(aboveThreshold({ broker: 0, preferred: 9, notLeading: 1 }, 10)).toBe(true);
    expect(aboveThreshold({ broker: 0, preferred: 5, notLeading: 0 }, 0)).toBe(false);
    expect(aboveThreshold({ broker: 0, preferred: 5, notLeading: 1 }, 0)).toBe(true);
  });
});

describe('controller > leader rebalance > decision', () => {
  it('elects an imbalanced broker back to the partitions it is preferred for, in one new version', () => {
    const state = afterRestart();
    const d = rebalanceLeaders(state, 10);
    expect(d.answer).toEqual({ imbalanced: [{ broker: 0, preferred: 2, notLeading: 2 }], elected: 2 });
    expect(partitionOf(d.state, 'orders', 0)).toMatchObject({ leader: 0, leaderEpoch: 4, partitionEpoch: 5 });
    expect(partitionOf(d.state, 'orders', 3)).toMatchObject({ leader: 0, leaderEpoch: 2, partitionEpoch: 3 });
    expect(partitionOf(d.state, 'orders', 1)).toBe(partitionOf(state, 'orders', 1));
    expect(d.state.version).toBe(state.version + 1);
    expect(d.log).toEqual([
      'Broker 0 led 0 of the 2 partitions it is preferred for (more than 10% imbalance)',
      'Elected broker 0 leader of 2 partitions by preferred election',
    ]);
  });

  it('leaves a broker at or under the threshold alone', () => {
    const state = afterRestart();
    const d = rebalanceLeaders(state, 100);
    expect(d.answer).toEqual({ imbalanced: [], elected: 0 });
    expect(d.state).toBe(state);
    expect(d.log).toEqual([]);
  });

  it('changes nothing when every preferred replica leads', () => {
    const state = clusterState({
      brokers: [broker(0), broker(1)],
      topics: [topic('orders', [partition(0, [0, 1]), partition(1, [1, 0])])],
    });
    const d = rebalanceLeaders(state, 10);
    expect(d.state).toBe(state);
    expect(d.answer.imbalanced).toEqual([]);
  });

  it('elects only where the preferred replica is in the ISR', () => {
    const state = afterRestart();
    partitionOf(state, 'orders', 3).isr = [2, 1];
    const d = rebalanceLeaders(state, 10);
    expect(d.answer.elected).toBe(1);
    expect(partitionOf(d.state, 'orders', 0).leader).toBe(0);
    expect(partitionOf(d.state, 'orders', 3)).toBe(partitionOf(state, 'orders', 3));
  });

  it.each([
    ['fenced', { fenced: true }],
    ['shutting down', { shuttingDown: true }],
  ])('elects nothing for a preferred replica that is %s, and logs nothing', (_, o) => {
    const state = afterRestart();
    state.brokers[0] = broker(0, o);
    const d = rebalanceLeaders(state, 10);
    expect(d.answer).toEqual({ imbalanced: [{ broker: 0, preferred: 2, notLeading: 2 }], elected: 0 });
    expect(d.state).toBe(state);
    expect(d.log).toEqual([]);
  });

  it('elects nothing where the preferred replica reported its log offline', () => {
    const state = afterRestart();
    state.brokers[0] = broker(0, { offlineReplicas: [replicaKey(state.topics[0].topicId, 0)] });
    const d = rebalanceLeaders(state, 10);
    expect(d.answer.elected).toBe(1);
    expect(partitionOf(d.state, 'orders', 0).leader).toBe(1);
    expect(partitionOf(d.state, 'orders', 3).leader).toBe(0);
  });
});

describe('controller > leader rebalance > timer', () => {
  const every = 1000;
  const orders = (h: Harness) => h.controller.image().topics.get('orders')!;

  async function open(enabled: boolean) {
    const state = afterRestart();
    const store = new MemoryStore(state);
    const h = await openController({
      store,
      settings: { autoLeaderRebalanceEnable: enabled, leaderImbalanceCheckIntervalMs: every },
    });
    for (const b of state.brokers) h.epochs.set(b.nodeId, b.brokerEpoch);
    return h;
  }

  it('elects the preferred replicas back at the next check, not before', async () => {
    const h = await open(true);
    await h.clock.advanceAsync(every - 1);
    expect(orders(h).partitions[0].leader).toBe(1);
    await h.clock.advanceAsync(1);
    const leaders = orders(h).partitions.map((p) => p.leader);
    expect(leaders).toEqual([0, 1, 2, 0, 1, 2]);
    expect(h.logged).toContain('Elected broker 0 leader of 2 partitions by preferred election');
    await h.controller.close();
  });

  it('keeps checking: a later imbalance is corrected at the check after it', async () => {
    const h = await open(true);
    await h.clock.advanceAsync(every);
    await h.controller.electLeaders('preferred', null);
    await h.controller.fenceBroker(1, 'test');
    expect(orders(h).partitions[1].leader).not.toBe(1);
    await h.join(1, { incarnationId: 'inc-1-again' });
    // Back in the ISR, as its leaders would ask once it caught up.
    const t = orders(h);
    for (const p of t.partitions.filter((q) => !q.isr.includes(1))) {
      const r = await h.controller.alterPartition({
        nodeId: p.leader,
        brokerEpoch: h.epochs.get(p.leader)!,
        topicId: t.topicId,
        partition: p.partition,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
        newIsr: [...p.isr, 1],
      });
      expect(r).toMatchObject({ ok: true });
    }
    await h.clock.advanceAsync(every);
    const leaders = orders(h).partitions.map((p) => p.leader);
    expect(leaders).toEqual([0, 1, 2, 0, 1, 2]);
    await h.controller.close();
  });

  it('never elects with auto.leader.rebalance.enable=false', async () => {
    const h = await open(false);
    await h.clock.advanceAsync(every * 5);
    expect(orders(h).partitions[0].leader).toBe(1);
    await h.controller.close();
  });

  it('stops checking once closed', async () => {
    const h = await open(true);
    await h.controller.close();
    await h.clock.advanceAsync(every * 5);
    expect(orders(h).partitions[0].leader).toBe(1);
  });
});
