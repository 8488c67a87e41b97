/**
 * Partition reassignment (KIP-455) as KRaft's controller does it: AlterPartitionReassignments starts,
 * replaces or cancels one, ListPartitionReassignments shows those in progress, and an ISR expansion
 * (./isr.ts) completes one.
 *
 * Moving a partition from replicas R to a target T happens in three steps, each one state change:
 * 1. grow: the replicas become T followed by R − T, with `addingReplicas` T − R and
 *    `removingReplicas` R − T; leader and ISR stay. The brokers of T − R create the log and follow.
 * 2. catch up: the leader asks for each new replica to join the ISR once it has caught up.
 * 3. complete, in the AlterPartition change that puts the last adding replica in the ISR: the
 *    replicas become T, the ISR loses the removed replicas, and a leader outside T hands over to the
 *    first in-sync eligible replica of T (a new leader epoch). The removed brokers delete their logs.
 * A reassignment that adds nothing completes at once when a replica of T is in the ISR. A null target
 * cancels: the replicas go back to R (the current ones less the adding), refused when no replica of R
 * is in the ISR any more (it would need an unclean election). A new target for a partition already
 * moving starts over from its current replica set, as KRaft does.
 *
 * Pure, as every decision: epochs are bumped once per changed partition (the leader epoch only when
 * the leader changes) and the caller persists the one new state.
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import type {
  AlterReassignmentsResult,
  ElectionTarget,
  ListReassignmentsResult,
  OngoingReassignment,
  PartitionReassignmentResult,
  ReassignmentTarget,
  TopicReassignmentResult,
} from './api.ts';
import { type Liveness, livenessOf, partitionLiveness, settlePartition } from './election.ts';
import { NO_LEADER, type PartitionState } from './image.ts';
import { type ClusterState, type Decision, findPartition, successor, withPartition } from './state.ts';

type Outcome = { next: PartitionState; log: string | null } | { errorCode: number; errorMessage: string };

export function reassignmentInProgress(p: PartitionState): boolean {
  return p.addingReplicas !== undefined || p.removingReplicas !== undefined;
}

/**
 * `p` with `replicas` as its whole replica set and no reassignment: the ISR keeps its members among
 * them, and a leader outside them (or no longer eligible) gives way to the first eligible in-sync one.
 * Epochs as in `p` (the caller bumps them); null when no replica of the set is in the ISR, or none
 * could lead where `p` had a leader.
 */
function withReplicas(p: PartitionState, replicas: readonly number[], live: Liveness): PartitionState | null {
  const isr = replicas.filter((r) => p.isr.includes(r));
  if (isr.length === 0) return null;
  const draft: PartitionState = {
    partition: p.partition,
    leader: isr.includes(p.leader) ? p.leader : NO_LEADER,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
    replicas: [...replicas],
    isr,
  };
  const settled = settlePartition(draft, live, false);
  if (settled.leader === NO_LEADER && p.leader !== NO_LEADER) return null;
  return { ...settled, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch };
}

/** `after` as the next version of `before`: the partition epoch bumped, the leader epoch if the leader changed. */
function bumped(before: PartitionState, after: PartitionState): PartitionState {
  return {
    ...after,
    leaderEpoch: after.leader === before.leader ? before.leaderEpoch : before.leaderEpoch + 1,
    partitionEpoch: before.partitionEpoch + 1,
  };
}

/**
 * The reassignment of `p` completed, when every adding replica is in its ISR and a target replica
 * can lead; else `p` itself. Epochs are left as they are: this is part of the caller's change.
 */
export function completeReassignment(p: PartitionState, live: Liveness): PartitionState {
  if (!reassignmentInProgress(p)) return p;
  if (!(p.addingReplicas ?? []).every((r) => p.isr.includes(r))) return p;
  const removing = p.removingReplicas ?? [];
  return (
    withReplicas(
      p,
      p.replicas.filter((r) => !removing.includes(r)),
      live,
    ) ?? p
  );
}

/** One partition's reassignment to `target` (null: cancel), on its own. */
export function reassignPartition(
  state: ClusterState,
  name: string,
  p: PartitionState,
  target: readonly number[] | null,
  live: Liveness,
): Outcome {
  const invalid = (why: string): Outcome => ({
    errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    errorMessage: why,
  });
  const adding = p.addingReplicas ?? [];
  if (target === null) {
    if (!reassignmentInProgress(p)) {
      return {
        errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
        errorMessage: `No ongoing reassignment for partition ${name}.`,
      };
    }
    const original = p.replicas.filter((r) => !adding.includes(r));
    const reverted = withReplicas(p, original, live);
    if (!reverted) {
      return invalid(
        `Cannot cancel the reassignment of ${name}: no replica of [${original.join(', ')}] is in the ISR [${p.isr.join(', ')}] to lead it.`,
      );
    }
    return {
      next: bumped(p, reverted),
      log: `Cancelled the reassignment of ${name}: its replicas are [${original.join(', ')}] again`,
    };
  }
  if (target.length === 0) return invalid(`The replica assignment of ${name} is empty.`);
  if (new Set(target).size !== target.length) {
    return invalid(
      `Duplicate brokers not allowed in the replica assignment of ${name}: ${target.join(', ')}.`,
    );
  }
  const known = new Set(state.brokers.map((b) => b.nodeId));
  const unknown = target.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    return invalid(
      `The replica assignment of ${name} includes unregistered broker(s) ${unknown.join(', ')}.`,
    );
  }
  const joining = target.filter((r) => !p.replicas.includes(r));
  const leaving = p.replicas.filter((r) => !target.includes(r));
  const same = target.length === p.replicas.length && target.every((r, i) => p.replicas[i] === r);
  if (same && !reassignmentInProgress(p)) return { next: p, log: null };
  const moving = `${name} from [${p.replicas.join(', ')}] to [${target.join(', ')}]`;
  if (joining.length === 0) {
    const done = withReplicas(p, target, live);
    if (done) return { next: bumped(p, done), log: `Reassigned ${moving}` };
  }
  const grown: PartitionState = {
    ...p,
    replicas: [...target, ...leaving],
    addingReplicas: joining,
    removingReplicas: leaving,
    partitionEpoch: p.partitionEpoch + 1,
  };
  return { next: grown, log: `Started reassigning ${moving}` };
}

/**
 * The reassignments of one AlterPartitionReassignments request. A partition named twice is
 * reassigned twice, the second starting from the first's outcome.
 */
export function alterPartitionReassignments(
  state: ClusterState,
  targets: readonly ReassignmentTarget[],
): Decision<AlterReassignmentsResult> {
  const live = livenessOf(state);
  const current = new Map(state.topics.map((t) => [t.name, t]));
  const results: TopicReassignmentResult[] = [];
  const log: string[] = [];
  for (const target of targets) {
    const partitions: PartitionReassignmentResult[] = [];
    for (const { partition: index, replicas } of target.partitions) {
      const found = findPartition(current, target.topic, index);
      if (!('topic' in found)) {
        partitions.push({ partition: index, ...found });
        continue;
      }
      const { topic, partition: p } = found;
      const name = `${topic.name}-${index}`;
      const outcome = reassignPartition(
        state,
        name,
        p,
        replicas,
        partitionLiveness(live, topic.topicId, index),
      );
      if ('errorCode' in outcome) {
        partitions.push({ partition: index, ...outcome });
        continue;
      }
      if (outcome.next !== p) current.set(topic.name, withPartition(topic, outcome.next));
      if (outcome.log) log.push(outcome.log);
      partitions.push({
        partition: index,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        partitionEpoch: outcome.next.partitionEpoch,
      });
    }
    results.push({ topic: target.topic, partitions });
  }
  const answer: AlterReassignmentsResult = { ok: true, results };
  const topics = state.topics.map((t) => current.get(t.name) ?? t);
  if (topics.every((t, i) => t === state.topics[i])) return { state, answer, log: [] };
  return { state: successor(state, { ...state, topics }), answer, log };
}

/**
 * The reassignments in progress among the partitions named (every partition when null). Unknown
 * topics and partitions, and those not moving, are left out, as KRaft does.
 */
export function listPartitionReassignments(
  state: ClusterState,
  targets: readonly ElectionTarget[] | null,
): ListReassignmentsResult {
  const byName = new Map(state.topics.map((t) => [t.name, t]));
  const asked =
    targets ?? state.topics.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partition) }));
  const topics: Array<{ topic: string; partitions: OngoingReassignment[] }> = [];
  for (const target of asked) {
    const topic = byName.get(target.topic);
    if (!topic) continue;
    const partitions: OngoingReassignment[] = [];
    for (const index of new Set(target.partitions)) {
      const p = topic.partitions[index];
      if (p === undefined || !reassignmentInProgress(p)) continue;
      partitions.push({
        partition: index,
        replicas: [...p.replicas],
        addingReplicas: [...(p.addingReplicas ?? [])],
        removingReplicas: [...(p.removingReplicas ?? [])],
      });
    }
    if (partitions.length > 0) topics.push({ topic: topic.name, partitions });
  }
  return { ok: true, topics };
}
