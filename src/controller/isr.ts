/**
 * AlterPartition (KIP-497): the leader asks to shrink or expand a partition's ISR, and the change
 * counts only once the controller has persisted it. The request carries the leader epoch and
 * partition epoch the leader acted on, so a deposed leader, or one that raced another change, is
 * refused with Kafka's codes and retries from the newer image.
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import type { AlterPartitionRequest, AlterPartitionResult } from './api.ts';
import { staleEpoch } from './brokers.ts';
import { livenessOf, partitionLiveness, settlePartition, uncleanAllowed } from './election.ts';
import type { PartitionState } from './image.ts';
import { completeReassignment, reassignmentInProgress } from './reassign.ts';
import { type ClusterState, type Decision, fail, successor } from './state.ts';

export function alterPartition(
  state: ClusterState,
  req: AlterPartitionRequest,
): Decision<AlterPartitionResult> {
  const refuse = (errorCode: number, errorMessage: string): Decision<AlterPartitionResult> => ({
    state,
    answer: fail(errorCode, errorMessage),
    log: [],
  });
  const reg = state.brokers.find((b) => b.nodeId === req.nodeId);
  if (!reg || reg.brokerEpoch !== req.brokerEpoch) {
    return { state, answer: staleEpoch(req.nodeId, reg, req.brokerEpoch), log: [] };
  }
  const topic = state.topics.find((t) => t.topicId === req.topicId);
  if (!topic) return refuse(ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${req.topicId} does not exist.`);
  const p = topic.partitions[req.partition] as PartitionState | undefined;
  const where = `${topic.name}-${req.partition}`;
  if (!p) return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${where} does not exist.`);
  // An older leader epoch first: the sender learns it was deposed, whoever leads now.
  if (req.leaderEpoch < p.leaderEpoch) {
    return refuse(
      ErrorCode.FENCED_LEADER_EPOCH,
      `Leader epoch ${req.leaderEpoch} of ${where} is older than the current ${p.leaderEpoch}.`,
    );
  }
  if (p.leader !== req.nodeId) {
    return refuse(
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
      `Broker ${req.nodeId} is not the leader of ${where} (the leader is ${p.leader}).`,
    );
  }
  if (req.leaderEpoch !== p.leaderEpoch) {
    return refuse(
      ErrorCode.FENCED_LEADER_EPOCH,
      `Leader epoch ${req.leaderEpoch} of ${where} is not the current ${p.leaderEpoch}.`,
    );
  }
  if (req.partitionEpoch !== p.partitionEpoch) {
    return refuse(
      ErrorCode.INVALID_UPDATE_VERSION,
      `Partition epoch ${req.partitionEpoch} of ${where} is not the current ${p.partitionEpoch}.`,
    );
  }
  const isr = req.newIsr;
  if (
    !isr.includes(p.leader) ||
    new Set(isr).size !== isr.length ||
    isr.some((r) => !p.replicas.includes(r))
  ) {
    return refuse(
      ErrorCode.INVALID_REQUEST,
      `The ISR [${isr.join(', ')}] of ${where} must hold the leader ${p.leader}, once each, and only replicas [${p.replicas.join(', ')}].`,
    );
  }
  const live = partitionLiveness(livenessOf(state), topic.topicId, req.partition);
  const ineligible = isr.filter((r) => !p.isr.includes(r) && !live.eligible(r));
  if (ineligible.length > 0) {
    return refuse(
      ErrorCode.INELIGIBLE_REPLICA,
      `Broker(s) ${ineligible.join(', ')} cannot join the ISR of ${where}: fenced, shutting down, unknown or with its log offline.`,
    );
  }
  // Replica order, as every ISR the controller writes.
  const ordered = p.replicas.filter((r) => isr.includes(r));
  if (ordered.length === p.isr.length && ordered.every((r) => p.isr.includes(r))) {
    return { state, answer: { ok: true, state: p }, log: [] };
  }
  // The liveness rules hold after every change: a shutting-down leader that now has a live ISR
  // member to hand over to does so (and leaves the ISR) in this same change. So does a reassignment
  // whose last adding replica just joined (./reassign.ts): one change, one bump of each epoch.
  const settled = completeReassignment(
    settlePartition({ ...p, isr: ordered }, live, uncleanAllowed(topic)),
    live,
  );
  const changed: PartitionState = {
    ...settled,
    leaderEpoch: settled.leader === p.leader ? p.leaderEpoch : p.leaderEpoch + 1,
    partitionEpoch: p.partitionEpoch + 1,
  };
  const next = successor(state, {
    ...state,
    topics: state.topics.map((t) =>
      t === topic ? { ...t, partitions: t.partitions.map((q) => (q === p ? changed : q)) } : t,
    ),
  });
  const verb =
    ordered.length < p.isr.length ? 'Shrank' : ordered.length > p.isr.length ? 'Expanded' : 'Changed';
  return {
    state: next,
    answer: { ok: true, state: changed },
    log: [
      `${verb} the ISR of ${where} from [${p.isr.join(', ')}] to [${changed.isr.join(', ')}]`,
      ...(reassignmentInProgress(p) && !reassignmentInProgress(changed)
        ? [`Completed the reassignment of ${where}: its replicas are [${changed.replicas.join(', ')}]`]
        : []),
      ...(changed.leader === p.leader
        ? []
        : [`Moved leadership of ${where} from broker ${p.leader} to ${changed.leader}`]),
    ],
  };
}
