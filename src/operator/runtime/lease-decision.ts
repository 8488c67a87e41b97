/**
 * What a leader-election candidate should do with a Lease, as a plain function of what it has
 * seen and the time: create it, acquire it, renew it, or wait.
 *
 * Expiry is judged the way client-go judges it — against the candidate's own clock, from when *it*
 * first saw the current record — never by comparing the holder's `renewTime` with local time, so
 * clocks that disagree between nodes cannot make a live lease look expired. A lease whose holder is
 * empty has been released and is free at once.
 */

import { kubeMicroTime } from './time.ts';

/** The fields of `coordination.k8s.io/v1` LeaseSpec that election uses. */
export interface LeaseRecord {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

/** A record as this candidate saw it, and when (its clock) it first saw that exact record. */
export interface Observation {
  readonly record: LeaseRecord;
  readonly atMs: number;
}

/**
 * The observation after reading `record` at `nowMs`: the previous one if the record is unchanged
 * (its holder has not renewed since), else a new one starting now. `undefined` if there is no Lease.
 */
export function observe(
  previous: Observation | undefined,
  record: LeaseRecord | undefined,
  nowMs: number,
): Observation | undefined {
  if (record === undefined) return undefined;
  if (previous !== undefined && sameRecord(previous.record, record)) return previous;
  return { record, atMs: nowMs };
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    (a.holderIdentity ?? '') === (b.holderIdentity ?? '') &&
    a.renewTime === b.renewTime &&
    a.acquireTime === b.acquireTime &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0) &&
    a.leaseDurationSeconds === b.leaseDurationSeconds
  );
}

export interface DecisionInput {
  readonly identity: string;
  readonly nowMs: number;
  /** This candidate's lease duration, written into the record when it takes or renews the lease. */
  readonly leaseDurationMs: number;
  /** The Lease as last observed; `undefined` when no Lease object exists. */
  readonly observed: Observation | undefined;
}

export type LeaseDecision =
  /** No Lease exists: create it, holding it. */
  | { readonly action: 'create'; readonly record: LeaseRecord }
  /** The lease is free or expired: take it over (one more transition). */
  | { readonly action: 'acquire'; readonly record: LeaseRecord; readonly previousHolder: string }
  /** We hold it: extend it. */
  | { readonly action: 'renew'; readonly record: LeaseRecord }
  /** Someone else holds a live lease: try again later; it expires at `expiresAtMs` unless renewed. */
  | { readonly action: 'wait'; readonly holder: string; readonly expiresAtMs: number };

export function decideLease(input: DecisionInput): LeaseDecision {
  const { identity, nowMs, observed } = input;
  const now = kubeMicroTime(nowMs);
  const durationSeconds = Math.max(1, Math.ceil(input.leaseDurationMs / 1000));
  if (observed === undefined) {
    return {
      action: 'create',
      record: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      },
    };
  }
  const current = observed.record;
  const holder = current.holderIdentity ?? '';
  if (holder === identity) {
    return {
      action: 'renew',
      record: {
        ...current,
        leaseDurationSeconds: durationSeconds,
        renewTime: now,
        acquireTime: current.acquireTime ?? now,
      },
    };
  }
  if (holder !== '') {
    // The holder's own duration, as it wrote it: it promised to renew within that.
    const holderDurationMs = (current.leaseDurationSeconds ?? durationSeconds) * 1000;
    const expiresAtMs = observed.atMs + holderDurationMs;
    if (nowMs < expiresAtMs) return { action: 'wait', holder, expiresAtMs };
  }
  return {
    action: 'acquire',
    previousHolder: holder,
    record: {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: (current.leaseTransitions ?? 0) + 1,
    },
  };
}

/**
 * The record a leader writes when it lets go: no holder, so other candidates take it at once. The
 * 1 s duration is for candidates that judge only by expiry (client-go's own release does the same).
 */
export function releasedRecord(current: LeaseRecord, nowMs: number): LeaseRecord {
  const now = kubeMicroTime(nowMs);
  return { ...current, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
}
