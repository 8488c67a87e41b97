/**
 * Where a partition's leader is picked, and where every partition follows a change in which brokers
 * are live (a fencing, an unfencing, a controlled shutdown): ISR members that may no longer serve
 * leave it, partitions whose leader went away elect another, leaderless partitions elect a broker
 * that came back. As in KRaft, the whole cluster's outcome follows deterministically from the broker
 * registrations, so one store write carries every partition's new leader however many there are.
 *
 * Epochs: a change of leader bumps the leader epoch and the partition epoch; a change of ISR alone
 * bumps the partition epoch; one settling bumps each at most once.
 */
import {
  NO_LEADER,
  replicaKey,
  type BrokerRegistration,
  type PartitionState,
  type TopicState,
} from './image.ts';
import { brokerById, type ClusterState, isEligible } from './state.ts';

export const UNCLEAN_ELECTION_CONFIG = 'unclean.leader.election.enable';

/** Which brokers may do what, as of the state being settled. */
export interface Liveness {
  /** Registered, unfenced, not shutting down: may be elected and may join an ISR. */
  eligible(id: number): boolean;
  /** Registered and unfenced (a shutting-down broker still serves until it exits). */
  unfenced(id: number): boolean;
  /** The broker reported its log of this partition offline (a disk fault). */
  offline(id: number, topicId: string, partition: number): boolean;
}

export function livenessOf(brokers: Iterable<BrokerRegistration> | ClusterState): Liveness {
  const byId = 'brokers' in brokers ? brokerById(brokers) : new Map([...brokers].map((b) => [b.nodeId, b]));
  return {
    eligible: (id) => isEligible(byId.get(id)),
    unfenced: (id) => byId.get(id)?.fenced === false,
    offline: (id, topicId, partition) =>
      byId.get(id)?.offlineReplicas?.includes(replicaKey(topicId, partition)) ?? false,
  };
}

/**
 * Liveness for one partition: a broker whose log of it is offline can neither be elected nor stay in
 * its ISR beside an eligible member (Kafka: a replica on an offline log dir). It still answers for
 * the partition (KAFKA_STORAGE_ERROR), so, like a shutting-down leader, it keeps a leadership that
 * no in-sync replica can take over rather than leave the partition with no leader at all.
 */
export function partitionLiveness(live: Liveness, topicId: string, partition: number): Liveness {
  return {
    eligible: (id) => live.eligible(id) && !live.offline(id, topicId, partition),
    unfenced: live.unfenced,
    offline: live.offline,
  };
}

export function uncleanAllowed(topic: Pick<TopicState, 'configs'>): boolean {
  return topic.configs[UNCLEAN_ELECTION_CONFIG]?.trim().toLowerCase() === 'true';
}

/**
 * The leader for `isr`: the first replica, in replica order, that is in the ISR and eligible; else,
 * where the topic allows unclean election, the first eligible replica outside it (the ISR becomes
 * that replica alone: what it has is now the truth); else NO_LEADER.
 */
export function electLeader(
  replicas: readonly number[],
  isr: readonly number[],
  live: Liveness,
  unclean: boolean,
): { leader: number; isr: readonly number[]; unclean: boolean } {
  const clean = replicas.find((r) => isr.includes(r) && live.eligible(r));
  if (clean !== undefined) return { leader: clean, isr, unclean: false };
  if (unclean) {
    const outside = replicas.find((r) => !isr.includes(r) && live.eligible(r));
    if (outside !== undefined) return { leader: outside, isr: [outside], unclean: true };
  }
  return { leader: NO_LEADER, isr, unclean: false };
}

/** What settling changed, for the log. */
export interface SettleReport {
  /** Old leader → how many partitions it stopped leading with another leader taking over. */
  moved: Map<number, number>;
  /** Old leader → how many partitions it stopped leading with nobody taking over. */
  orphaned: Map<number, number>;
  /** New leader → how many leaderless partitions it took. */
  elected: Map<number, number>;
  /** New leader → how many partitions it took by unclean election. */
  uncleanlyElected: Map<number, number>;
}

export function emptyReport(): SettleReport {
  return { moved: new Map(), orphaned: new Map(), elected: new Map(), uncleanlyElected: new Map() };
}

/**
 * The ISR an ineligible broker leaves: every eligible member stays. It is never left empty: when no
 * member is eligible, the one that can best claim to hold every committed record stays (the leader
 * while it is unfenced, else any unfenced member, else the last leader) and the partition waits for
 * it to come back, as KRaft keeps the last member of an ISR.
 */
function settledIsr(p: PartitionState, live: Liveness): readonly number[] {
  const kept = p.isr.filter((r) => live.eligible(r));
  if (kept.length === p.isr.length) return p.isr;
  if (kept.length > 0) return kept;
  if (p.isr.includes(p.leader) && live.unfenced(p.leader)) return [p.leader];
  const up = p.isr.find((r) => live.unfenced(r));
  if (up !== undefined) return [up];
  return p.isr.includes(p.leader) ? [p.leader] : [p.isr[0]];
}

/** One partition after a change of liveness; the same object when nothing changes. */
export function settlePartition(
  p: PartitionState,
  live: Liveness,
  unclean: boolean,
  report: SettleReport = emptyReport(),
): PartitionState {
  let isr = settledIsr(p, live);
  let leader = p.leader;
  if (!(leader !== NO_LEADER && isr.includes(leader) && live.eligible(leader))) {
    const e = electLeader(p.replicas, isr, live, false);
    if (e.leader !== NO_LEADER) {
      leader = e.leader;
    } else if (leader !== NO_LEADER && isr.includes(leader) && live.unfenced(leader)) {
      // A shutting-down leader nobody else in the ISR can replace keeps leading until it exits:
      // the partition stays available as long as it can.
    } else {
      const u = electLeader(p.replicas, isr, live, unclean);
      leader = u.leader;
      isr = u.isr;
      if (u.unclean) bump(report.uncleanlyElected, leader);
    }
  }
  const leaderChanged = leader !== p.leader;
  const isrChanged = isr !== p.isr && !sameMembers(isr, p.isr);
  if (!leaderChanged && !isrChanged) return p;
  if (leaderChanged) {
    if (p.leader === NO_LEADER) bump(report.elected, leader);
    else if (leader === NO_LEADER) bump(report.orphaned, p.leader);
    else bump(report.moved, p.leader);
  }
  return {
    ...p,
    leader,
    leaderEpoch: leaderChanged ? p.leaderEpoch + 1 : p.leaderEpoch,
    partitionEpoch: p.partitionEpoch + 1,
    isr: [...isr],
  };
}

/** Every topic after a change of liveness, the unchanged ones (and partitions) kept as they were. */
export function settleTopics(
  topics: TopicState[],
  live: Liveness,
  report: SettleReport = emptyReport(),
): TopicState[] {
  let changed = false;
  const next = topics.map((t) => {
    const unclean = uncleanAllowed(t);
    let topicChanged = false;
    const partitions = t.partitions.map((p) => {
      const q = settlePartition(p, partitionLiveness(live, t.topicId, p.partition), unclean, report);
      if (q !== p) topicChanged = true;
      return q;
    });
    if (!topicChanged) return t;
    changed = true;
    return { ...t, partitions };
  });
  return changed ? next : topics;
}

/** The state with `brokers` replaced and every partition settled to them (no version bump). */
export function withBrokers(
  state: ClusterState,
  brokers: BrokerRegistration[],
  report: SettleReport = emptyReport(),
): ClusterState {
  const sorted = [...brokers].sort((a, b) => a.nodeId - b.nodeId);
  const topics = settleTopics(state.topics, livenessOf(sorted), report);
  return { ...state, brokers: sorted, topics };
}

/** Log lines for a settling ("Moved leadership of 12 partitions from broker 2"). */
export function describeReport(report: SettleReport): string[] {
  const lines: string[] = [];
  for (const [from, n] of report.moved) lines.push(`Moved leadership of ${n} partitions from broker ${from}`);
  for (const [from, n] of report.orphaned) {
    lines.push(`${n} partitions led by broker ${from} have no leader now (no live in-sync replica)`);
  }
  for (const [to, n] of report.elected)
    lines.push(`Elected broker ${to} leader of ${n} leaderless partitions`);
  for (const [to, n] of report.uncleanlyElected) {
    lines.push(`Elected broker ${to} leader of ${n} partitions by unclean election (records may be lost)`);
  }
  return lines;
}

function bump(m: Map<number, number>, k: number): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
