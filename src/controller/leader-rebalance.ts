/**
 * Automatic preferred-leader rebalance (`auto.leader.rebalance.enable`), with the semantics of
 * Kafka's controller (KafkaController.checkAndTriggerAutoLeaderRebalance): every
 * `leader.imbalance.check.interval.seconds` each broker's imbalance is the share of the partitions it
 * is preferred for (first in the replica list) that it does not lead; a partition with no leader
 * counts as not led. For each broker whose imbalance is above
 * `leader.imbalance.per.broker.percentage`, the partitions it does not lead are elected back to it
 * where a preferred election can succeed (the broker eligible, in the ISR, not shutting down, its log
 * for the partition not offline), all in one ElectLeaders decision (./elect-leaders.ts).
 *
 * The threshold is strict, as in Kafka: at the default 10 %, a broker preferred for ten partitions
 * and leading nine of them is left alone. KRaft's controller elects every imbalanced partition
 * whatever the percentage; the per-broker threshold is kept because it is the documented meaning of
 * the property and it spares a large cluster an election per partition after every blip.
 *
 * It needs no clock: the interval is the shell's timer, and whether the preferred replica has caught
 * up is already in the ISR (a restarted broker rejoins it only once it has every committed record),
 * so a broker is never made leader of a log it has not finished fetching.
 */
import type { ElectionTarget } from './api.ts';
import { electLeaders, electPartition } from './elect-leaders.ts';
import { livenessOf, partitionLiveness } from './election.ts';
import type { ClusterState, Decision } from './state.ts';

/** Kafka's defaults: on, every 300 s, above 10 %. */
export const REBALANCE_DEFAULTS = {
  autoLeaderRebalanceEnable: true,
  leaderImbalanceCheckIntervalMs: 300_000,
  leaderImbalancePerBrokerPercentage: 10,
} as const;

/** One broker's standing among the partitions it is the preferred replica of. */
export interface BrokerImbalance {
  broker: number;
  /** Partitions whose first replica it is. */
  preferred: number;
  /** Of those, the ones it does not lead. */
  notLeading: number;
}

export interface RebalanceOutcome {
  /** The brokers above the threshold, in broker order. */
  imbalanced: BrokerImbalance[];
  /** How many partitions were elected back to their preferred replica. */
  elected: number;
}

/** Every broker preferred for at least one partition, in broker order. */
export function leaderImbalance(state: ClusterState): BrokerImbalance[] {
  const byBroker = new Map<number, BrokerImbalance>();
  for (const t of state.topics) {
    for (const p of t.partitions) {
      const preferred = p.replicas[0];
      if (preferred === undefined) continue;
      const b = byBroker.get(preferred) ?? { broker: preferred, preferred: 0, notLeading: 0 };
      b.preferred += 1;
      if (p.leader !== preferred) b.notLeading += 1;
      byBroker.set(preferred, b);
    }
  }
  return [...byBroker.values()].sort((a, b) => a.broker - b.broker);
}

/** Whether a broker's imbalance is above `percentage` (strictly, as Kafka compares). */
export function aboveThreshold(b: BrokerImbalance, percentage: number): boolean {
  // Compared in integers: notLeading / preferred > percentage / 100.
  return b.notLeading * 100 > percentage * b.preferred;
}

/**
 * One rebalance check: the preferred elections for every broker above the threshold, as one new
 * state (unchanged, with an empty log, when nothing is to be elected).
 */
export function rebalanceLeaders(
  state: ClusterState,
  imbalancePercentage: number,
): Decision<RebalanceOutcome> {
  const imbalanced = leaderImbalance(state).filter((b) => aboveThreshold(b, imbalancePercentage));
  if (imbalanced.length === 0) return { state, answer: { imbalanced, elected: 0 }, log: [] };
  const brokers = new Set(imbalanced.map((b) => b.broker));
  const live = livenessOf(state);
  const targets: ElectionTarget[] = [];
  for (const t of state.topics) {
    const partitions = t.partitions
      .filter((p) => brokers.has(p.replicas[0]) && p.leader !== p.replicas[0])
      .filter(
        (p) =>
          'elected' in
          electPartition(t.name, p, 'preferred', partitionLiveness(live, t.topicId, p.partition)),
      )
      .map((p) => p.partition);
    if (partitions.length > 0) targets.push({ topic: t.name, partitions });
  }
  const elected = targets.reduce((n, t) => n + t.partitions.length, 0);
  const why = imbalanced.map(
    (b) =>
      `Broker ${b.broker} led ${b.preferred - b.notLeading} of the ${b.preferred} partitions it is ` +
      `preferred for (more than ${imbalancePercentage}% imbalance)`,
  );
  if (elected === 0) return { state, answer: { imbalanced, elected }, log: [] };
  const d = electLeaders(state, 'preferred', targets);
  return { state: d.state, answer: { imbalanced, elected }, log: [...why, ...d.log] };
}
