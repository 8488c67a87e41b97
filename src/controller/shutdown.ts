/**
 * Controlled shutdown (a heartbeat with wantShutdown): the broker is marked shutting down, every
 * partition it leads moves to another live ISR member (a leader epoch bump), and it leaves every
 * ISR that has another member; partitions nobody else can take stay led by it until it exits, when
 * its session ends and it is fenced as any lost broker is. It may exit once it leads nothing that
 * another live in-sync replica could take: a rolling restart then costs clients nothing.
 */
import { describeReport, emptyReport, livenessOf, withBrokers } from './election.ts';
import type { ClusterState, Decision } from './state.ts';
import { successor } from './state.ts';

/** Marks `nodeId` shutting down and moves what it leads (no-op if already so, or fenced, or unknown). */
export function beginShutdown(state: ClusterState, nodeId: number): Decision<void> {
  const reg = state.brokers.find((b) => b.nodeId === nodeId);
  if (!reg || reg.fenced || reg.shuttingDown) return { state, answer: undefined, log: [] };
  const report = emptyReport();
  const brokers = state.brokers.map((b) => (b.nodeId === nodeId ? { ...b, shuttingDown: true } : b));
  const next = successor(state, withBrokers(state, brokers, report));
  return {
    state: next,
    answer: undefined,
    log: [`Broker ${nodeId} began a controlled shutdown`, ...describeReport(report)],
  };
}

/** Whether `nodeId` leads nothing that another live in-sync replica could take over. */
export function shutdownReady(state: ClusterState, nodeId: number): boolean {
  const live = livenessOf(state);
  return !state.topics.some((t) =>
    t.partitions.some((p) => p.leader === nodeId && p.isr.some((r) => r !== nodeId && live.eligible(r))),
  );
}
