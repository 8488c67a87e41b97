/**
 * `ConsumerGroup.status` as a pure function of what the reconciler saw: the observed group (./observe.ts)
 * or why it could not be observed, and the latest offset reset's outcome (./reset.ts).
 *
 * Conditions:
 * - Ready: True once the group has been read for the current generation — also when Kafka has no
 *   such group yet (reason GroupNotFound, state Dead, as Kafka's own tools describe it): declaring
 *   a group before its consumers first run is normal, and `kubectl wait --for=condition=Ready`
 *   should not hang on it. False with ClusterNotFound, ClusterUnavailable, KafkaUnavailable, or
 *   WaitingForMembersToLeave while a deletion waits.
 * - OffsetReset: True when the latest request succeeded; False while it waits (reason
 *   WaitingForMembersToLeave) or after it failed (Failed); absent if none was ever made.
 *
 * When the group cannot be read, the last observation stays (with Ready False saying why): stale
 * numbers marked as such beat none.
 */
import type { ConsumerGroupStatus, OffsetResetStatus } from '../../api/consumer-group.ts';
import { setConditions, type ConditionUpdate } from '../../runtime/conditions.ts';
import type { ObservedStatus } from './observe.ts';

type Conditions = NonNullable<ConsumerGroupStatus['conditions']>;

export type Health =
  | { readonly kind: 'observed'; readonly observed: ObservedStatus; readonly cluster: string }
  | {
      readonly kind: 'unavailable';
      readonly reason:
        'ClusterNotFound' | 'ClusterUnavailable' | 'KafkaUnavailable' | 'WaitingForMembersToLeave';
      readonly message: string;
    };

export interface GroupStatusInput {
  readonly previous: ConsumerGroupStatus | undefined;
  readonly generation: number | undefined;
  readonly health: Health;
  /** The offset reset's new status; absent: the previous one stays. */
  readonly offsetReset?: OffsetResetStatus;
  readonly nowMs: number;
}

export function groupStatus(i: GroupStatusInput): { status: ConsumerGroupStatus; changed: boolean } {
  const previous = i.previous ?? {};
  const generation = i.generation;
  const offsetReset = i.offsetReset ?? previous.offsetReset;
  const updates: ConditionUpdate[] = [readyCondition(i.health, generation)];
  if (offsetReset) updates.push(resetCondition(offsetReset, generation));
  const conditions = setConditions(previous.conditions, updates, i.nowMs).conditions as Conditions;
  const status: ConsumerGroupStatus = {
    ...previous,
    ...(i.health.kind === 'observed' ? withoutAbsent(i.health.observed) : {}),
    ...(offsetReset ? { offsetReset } : {}),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions,
  };
  return { status, changed: canonical(status) !== canonical(i.previous ?? {}) };
}

function readyCondition(health: Health, generation: number | undefined): ConditionUpdate {
  if (health.kind === 'unavailable') {
    return {
      type: 'Ready',
      status: 'False',
      reason: health.reason,
      message: health.message,
      observedGeneration: generation,
    };
  }
  const o = health.observed;
  if (o.state === 'Dead') {
    return {
      type: 'Ready',
      status: 'True',
      reason: 'GroupNotFound',
      message: `group ${o.groupId} does not exist in cluster ${health.cluster} yet: it appears when a consumer joins it or commits offsets`,
      observedGeneration: generation,
    };
  }
  const protocol = o.protocol ? ` (${o.protocol})` : '';
  return {
    type: 'Ready',
    status: 'True',
    reason: 'Observed',
    message: `group ${o.groupId} is ${o.state} with ${o.members} member${o.members === 1 ? '' : 's'}${protocol}, lag ${o.totalLag}`,
    observedGeneration: generation,
  };
}

function resetCondition(r: OffsetResetStatus, generation: number | undefined): ConditionUpdate {
  const message = `request ${r.requestId}: ${r.message ?? r.state}`;
  switch (r.state) {
    case 'Succeeded':
      return {
        type: 'OffsetReset',
        status: 'True',
        reason: 'Succeeded',
        message,
        observedGeneration: generation,
      };
    case 'Failed':
      return {
        type: 'OffsetReset',
        status: 'False',
        reason: 'Failed',
        message,
        observedGeneration: generation,
      };
    case 'Pending':
      return {
        type: 'OffsetReset',
        status: 'False',
        reason: 'WaitingForMembersToLeave',
        message,
        observedGeneration: generation,
      };
  }
}

/** Optional fields the observation leaves out are removed from status, not kept from before. */
function withoutAbsent(o: ObservedStatus): ConsumerGroupStatus {
  return { protocol: undefined, memberDetails: undefined, ...o };
}

/** JSON with sorted keys and without undefined: equal for equal statuses in any key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
