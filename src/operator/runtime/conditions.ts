/**
 * Status conditions, as Kubernetes API conventions define them: a list keyed by `type`, each with
 * a `status` (True, False, Unknown), a CamelCase `reason`, a human `message`, the
 * `observedGeneration` it was computed for, and a `lastTransitionTime` that moves only when
 * `status` changes — so "Ready for 3 days" stays true across reconciles that rewrite the message.
 *
 * Tributary's kinds report three: Ready (serving), Progressing (moving towards the spec: a roll,
 * a scale, a reassignment) and Degraded (serving less well than the spec asks).
 */

import type { Condition } from 'kubernetes-types/meta/v1.js';
import { kubeTime } from './time.ts';

export const Ready = 'Ready';
export const Progressing = 'Progressing';
export const Degraded = 'Degraded';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface ConditionUpdate {
  readonly type: string;
  readonly status: ConditionStatus;
  /** CamelCase, machine-readable: `BrokersStarting`, `AllPartitionsInSync`. */
  readonly reason: string;
  readonly message?: string;
  /** `metadata.generation` of the object the condition was computed from. */
  readonly observedGeneration?: number;
}

export interface SetConditionResult {
  readonly conditions: Condition[];
  /** Anything differs from before (a status write is needed). */
  readonly changed: boolean;
  /** `status` differs from before, or the condition is new (worth an Event). */
  readonly transitioned: boolean;
}

/** The API's rule for a condition reason. */
const REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const MAX_MESSAGE = 32_768;

/**
 * Returns `conditions` with `update` applied (a new array; the input is not changed): the
 * condition of that type replaced in place, or appended. `lastTransitionTime` becomes `nowMs` only
 * if the status changed or the condition is new.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  nowMs: number,
): SetConditionResult {
  if (!REASON.test(update.reason)) {
    throw new RangeError(
      `condition reason ${JSON.stringify(update.reason)} is not CamelCase as the API requires`,
    );
  }
  const list = conditions ?? [];
  const index = list.findIndex((c) => c.type === update.type);
  const previous = index < 0 ? undefined : list[index];
  const transitioned = previous === undefined || previous.status !== update.status;
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: (update.message ?? '').slice(0, MAX_MESSAGE),
    lastTransitionTime: transitioned ? kubeTime(nowMs) : previous.lastTransitionTime,
    ...(update.observedGeneration === undefined ? {} : { observedGeneration: update.observedGeneration }),
  };
  const changed =
    transitioned ||
    previous.reason !== next.reason ||
    previous.message !== next.message ||
    previous.observedGeneration !== next.observedGeneration;
  if (!changed) return { conditions: [...list], changed: false, transitioned: false };
  const out = [...list];
  if (index < 0) out.push(next);
  else out[index] = next;
  return { conditions: out, changed, transitioned };
}

/** Applies several updates in order; `changed`/`transitioned` if any of them is. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  nowMs: number,
): SetConditionResult {
  let result: SetConditionResult = {
    conditions: [...(conditions ?? [])],
    changed: false,
    transitioned: false,
  };
  for (const update of updates) {
    const r = setCondition(result.conditions, update, nowMs);
    result = {
      conditions: r.conditions,
      changed: result.changed || r.changed,
      transitioned: result.transitioned || r.transitioned,
    };
  }
  return result;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The condition is there, True, and computed for `generation` (when given). */
export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: string,
  generation?: number,
): boolean {
  const c = findCondition(conditions, type);
  return c?.status === 'True' && (generation === undefined || c.observedGeneration === generation);
}
