/**
 * ElectLeaders (KIP-460) as KRaft's controller judges it: an election asked for by an operator
 * (`kafka-leader-election`, the auto-rebalancer), partition by partition, all in one decision.
 *
 * - PREFERRED moves leadership to the first replica when it is eligible and in the ISR;
 *   ELECTION_NOT_NEEDED when it leads already, PREFERRED_LEADER_NOT_AVAILABLE when it cannot.
 * - UNCLEAN acts only on a partition with no leader (ELECTION_NOT_NEEDED otherwise): an eligible
 *   ISR member if there is one, else the first eligible replica outside the ISR, whatever the
 *   topic's `unclean.leader.election.enable` says (asking is the operator's consent), the ISR becoming
 *   that replica alone; ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is eligible.
 * - Unknown topics and partitions are UNKNOWN_TOPIC_OR_PARTITION; null targets mean every partition,
 *   and then the partitions that need no election are left out of the answer (Kafka does the same,
 *   so the tool's output lists only what changed or failed).
 *
 * Pure, as every decision: the epochs are bumped here (leader and partition epoch once each per
 * elected partition) and the caller persists the one new state.
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import type {
  ElectionTarget,
  ElectionType,
  ElectLeadersResult,
  PartitionElectionResult,
  TopicElectionResult,
} from './api.ts';
import { electLeader, type Liveness, livenessOf, partitionLiveness } from './election.ts';
import { NO_LEADER, type PartitionState } from './image.ts';
import { type ClusterState, type Decision, findPartition, successor, withPartition } from './state.ts';

/** Kafka's default message for ELECTION_NOT_NEEDED (ApiError with no message of its own). */
const NOT_NEEDED_MESSAGE = 'Leader election not needed for topic partition.';

type Outcome = { elected: PartitionState } | { errorCode: number; errorMessage: string };

/** One partition's election, on its own. */
export function electPartition(
  topic: string,
  p: PartitionState,
  type: ElectionType,
  live: Liveness,
): Outcome {
  const name = `${topic}-${p.partition}`;
  const notNeeded = { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: NOT_NEEDED_MESSAGE };
  if (type === 'preferred') {
    const preferred = p.replicas[0];
    if (p.leader === preferred) return notNeeded;
    if (!p.isr.includes(preferred) || !live.eligible(preferred)) {
      const why = p.isr.includes(preferred) ? 'is not available' : 'is not in the ISR';
      return {
        errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        errorMessage: `The preferred leader of ${name}, broker ${preferred}, ${why}.`,
      };
    }
    return { elected: withLeader(p, preferred, p.isr) };
  }
  if (p.leader !== NO_LEADER) return notNeeded;
  const e = electLeader(p.replicas, p.isr, live, true);
  if (e.leader === NO_LEADER) {
    return {
      errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
      errorMessage: `No replica of ${name} is available to lead it.`,
    };
  }
  return { elected: withLeader(p, e.leader, e.isr) };
}

function withLeader(p: PartitionState, leader: number, isr: readonly number[]): PartitionState {
  return {
    ...p,
    leader,
    leaderEpoch: p.leaderEpoch + 1,
    partitionEpoch: p.partitionEpoch + 1,
    isr: [...isr],
  };
}

/**
 * The elections of one ElectLeaders request. A partition named twice is elected once: the second
 * sees the first's outcome (ELECTION_NOT_NEEDED).
 */
export function electLeaders(
  state: ClusterState,
  type: ElectionType,
  targets: readonly ElectionTarget[] | null,
): Decision<ElectLeadersResult> {
  const live = livenessOf(state);
  // The topics as elected so far, by name; replaced (copied on write) as partitions change.
  const current = new Map(state.topics.map((t) => [t.name, t]));
  const electedBy = new Map<number, number>();
  const all = targets === null;
  const asked =
    targets ?? state.topics.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partition) }));
  const results: TopicElectionResult[] = [];
  for (const target of asked) {
    const partitions: PartitionElectionResult[] = [];
    for (const index of target.partitions) {
      const found = findPartition(current, target.topic, index);
      if (!('topic' in found)) {
        partitions.push({ partition: index, ...found });
        continue;
      }
      const { topic, partition: p } = found;
      const outcome = electPartition(topic.name, p, type, partitionLiveness(live, topic.topicId, index));
      if ('elected' in outcome) {
        current.set(topic.name, withPartition(topic, outcome.elected));
        electedBy.set(outcome.elected.leader, (electedBy.get(outcome.elected.leader) ?? 0) + 1);
        partitions.push({
          partition: index,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          leaderEpoch: outcome.elected.leaderEpoch,
        });
      } else if (!(all && outcome.errorCode === ErrorCode.ELECTION_NOT_NEEDED)) {
        partitions.push({ partition: index, ...outcome });
      }
    }
    if (!all || partitions.length > 0) results.push({ topic: target.topic, partitions });
  }
  const answer: ElectLeadersResult = { ok: true, results };
  if (electedBy.size === 0) return { state, answer, log: [] };
  const topics = state.topics.map((t) => current.get(t.name) ?? t);
  const how = type === 'preferred' ? 'by preferred election' : 'by unclean election (records may be lost)';
  return {
    state: successor(state, { ...state, topics }),
    answer,
    log: [...electedBy].map(([leader, n]) => `Elected broker ${leader} leader of ${n} partitions ${how}`),
  };
}
