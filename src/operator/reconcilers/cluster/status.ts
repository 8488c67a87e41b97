/**
 * A Cluster's status, as a plain function of the Cluster and its StatefulSet: how many brokers
 * exist and are ready, where clients bootstrap, and the three conditions.
 *
 * - Ready: every desired broker exists and is ready, and the StatefulSet controller has acted on
 *   the latest spec.
 * - Progressing: moving towards the spec — creating, the StatefulSet not yet caught up, scaling,
 *   brokers starting for the first time since the spec changed, or brokers still on an older pod
 *   template (the StatefulSet updates `OnDelete`: they take the new one when restarted).
 * - Degraded: serving less well than the spec asks — applying the children failed, or brokers that
 *   were ready at this generation no longer are.
 *
 * The fields written here are the ones this function owns; the broker registry (`brokers`,
 * `clusterId`, `metadataVersion`) is the metadata controller's and is not touched.
 */

import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Cluster, ClusterStatus } from '../../api/index.ts';
import {
  Degraded,
  findCondition,
  Progressing,
  Ready,
  setConditions,
  type ConditionUpdate,
} from '../../runtime/conditions.ts';
import { ports } from './children.ts';
import { bootstrapAddress, selectorLabels } from './names.ts';

const OWNED_CONDITIONS: readonly string[] = [Ready, Progressing, Degraded];

export type OwnedClusterStatus = Pick<
  ClusterStatus,
  'observedGeneration' | 'replicas' | 'readyReplicas' | 'selector' | 'bootstrapServers' | 'conditions'
>;

export interface ObservedChildren {
  /** The StatefulSet as last read or applied; absent if it does not exist (yet). */
  readonly statefulSet?: StatefulSet;
  /** Why applying the children failed, when it did. */
  readonly applyError?: string;
}

export interface StatusEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly note: string;
}

export interface ClusterStatusResult {
  readonly status: OwnedClusterStatus;
  /** It differs from the Cluster's current status: write it. */
  readonly changed: boolean;
  /** Condition changes worth an Event. */
  readonly events: StatusEvent[];
}

export function clusterStatus(
  cluster: Cluster & { metadata: { namespace: string } },
  observed: ObservedChildren,
  nowMs: number,
): ClusterStatusResult {
  const generation = cluster.metadata.generation ?? 0;
  const desired = cluster.spec.replicas;
  const sts = observed.statefulSet;
  const replicas = sts?.status?.replicas ?? 0;
  const ready = sts?.status?.readyReplicas ?? 0;
  const updated = sts?.status?.updatedReplicas ?? 0;
  const caughtUp =
    sts !== undefined && (sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 1);
  const previous = cluster.status?.conditions;

  // Ready at this generation (or degraded from it): a broker that stops being ready is a fault,
  // not a start-up.
  const atThisGeneration = (type: string) => {
    const c = findCondition(previous, type);
    return c?.observedGeneration === generation ? c : undefined;
  };
  const degradedBefore = atThisGeneration(Degraded);
  const wasReady =
    atThisGeneration(Ready)?.status === 'True' ||
    (degradedBefore?.status === 'True' && degradedBefore.reason === 'BrokersUnavailable');

  const allReady = caughtUp && replicas === desired && ready >= desired;
  const readyNote = `${ready} of ${desired} brokers ready`;
  const updates: ConditionUpdate[] = [
    allReady
      ? { type: Ready, status: 'True', reason: 'AllBrokersReady', message: readyNote }
      : { type: Ready, status: 'False', reason: sts ? 'BrokersNotReady' : 'Creating', message: readyNote },
    progressing({ sts, caughtUp, replicas, ready, updated, desired, wasReady }),
    observed.applyError !== undefined
      ? { type: Degraded, status: 'True', reason: 'ApplyFailed', message: observed.applyError }
      : wasReady && caughtUp && replicas === desired && ready < desired
        ? {
            type: Degraded,
            status: 'True',
            reason: 'BrokersUnavailable',
            message: `${desired - ready} of ${desired} brokers not ready`,
          }
        : { type: Degraded, status: 'False', reason: 'AsExpected', message: '' },
  ];
  const conditions = updates.map((c) => ({ ...c, observedGeneration: generation }));

  const set = setConditions(previous, conditions, nowMs);
  const status: OwnedClusterStatus = {
    observedGeneration: generation,
    replicas,
    readyReplicas: ready,
    selector: Object.entries(selectorLabels(cluster.metadata.name))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    bootstrapServers: bootstrapAddress(
      cluster.metadata.name,
      cluster.metadata.namespace,
      ports(cluster).kafka,
    ),
    // Only its own: the metadata controller's conditions on the same list are applied by it
    // (src/operator/metadata/projector.ts), under its own field manager.
    conditions: set.conditions.filter((c) =>
      OWNED_CONDITIONS.includes(c.type),
    ) as OwnedClusterStatus['conditions'],
  };
  const before = cluster.status;
  const changed =
    set.changed ||
    before?.observedGeneration !== status.observedGeneration ||
    before?.replicas !== status.replicas ||
    before?.readyReplicas !== status.readyReplicas ||
    before?.selector !== status.selector ||
    before?.bootstrapServers !== status.bootstrapServers;
  return { status, changed, events: events(previous, conditions, desired) };
}

function progressing(s: {
  sts: StatefulSet | undefined;
  caughtUp: boolean;
  replicas: number;
  ready: number;
  updated: number;
  desired: number;
  wasReady: boolean;
}): ConditionUpdate {
  const yes = (reason: string, message: string): ConditionUpdate => ({
    type: Progressing,
    status: 'True',
    reason,
    message,
  });
  if (!s.sts) return yes('Creating', "Creating the brokers' StatefulSet");
  if (!s.caughtUp) return yes('Applying', 'The StatefulSet controller has not yet acted on the latest spec');
  if (s.replicas !== s.desired) return yes('Scaling', `${s.replicas} of ${s.desired} brokers exist`);
  if (s.ready < s.desired && !s.wasReady)
    return yes('BrokersStarting', `${s.ready} of ${s.desired} brokers ready`);
  if (s.updated < s.replicas) {
    return yes(
      'RestartPending',
      `${s.replicas - s.updated} of ${s.replicas} brokers run an older pod template; they take the new one when restarted`,
    );
  }
  return { type: Progressing, status: 'False', reason: 'UpToDate', message: 'The brokers match the spec' };
}

function events(
  previous: ClusterStatus['conditions'],
  next: readonly ConditionUpdate[],
  desired: number,
): StatusEvent[] {
  const out: StatusEvent[] = [];
  const was = (type: string) => findCondition(previous, type)?.status;
  const now = (type: string) => next.find((c) => c.type === type)!;
  const ready = now(Ready);
  if (ready.status === 'True' && was(Ready) !== 'True') {
    out.push({ type: 'Normal', reason: 'ClusterReady', note: `All ${desired} brokers are ready` });
  } else if (ready.status === 'False' && was(Ready) === 'True') {
    out.push({ type: 'Warning', reason: 'ClusterNotReady', note: ready.message ?? '' });
  }
  const degraded = now(Degraded);
  if (degraded.status === 'True' && degraded.reason === 'BrokersUnavailable' && was(Degraded) !== 'True') {
    out.push({ type: 'Warning', reason: 'BrokersUnavailable', note: degraded.message ?? '' });
  }
  return out;
}
