/**
 * Declarative offset reset (`spec.offsetReset`), decided in two pure steps around the reads the
 * reconciler makes, as `kafka-consumer-groups.sh --reset-offsets --execute` does it:
 *
 * 1. {@link resetScope}: is there a request to carry out, may it run now (only while the group has
 *    no active members: a consumer's next commit would overwrite ours, and the coordinator refuses
 *    an admin's commit while it has members anyway), and which partitions does it move — the named
 *    topics (all their partitions unless named), or every partition the group has an offset for.
 * 2. {@link resetTargets}: from each partition's log start and log end (and the offset at the
 *    timestamp), the offset to commit. Explicit offsets are clamped into [log start, log end], as
 *    Kafka's tool does, and a timestamp after the last record moves to the log end.
 *
 * Each request id is carried out once: once its outcome (Succeeded or Failed) is in status, a spec
 * re-applied by GitOps changes nothing.
 */
import type { OffsetReset, OffsetResetStatus } from '../../api/consumer-group.ts';
import { partitionKey } from '../../kafka/admin.ts';
import type { CommittedOffset, GroupDescription, TopicPartition } from '../../kafka/types.ts';
import { ErrorCode, errorName } from '../../../protocol/error-codes.ts';
import { kubeTime } from '../../runtime/time.ts';
import { describeMembers, INACTIVE_STATES } from './observe.ts';

export type ResetScope =
  /** No request, or this one is done. */
  | { readonly kind: 'none' }
  /** Cannot run now, or cannot run at all: the status to record. */
  | { readonly kind: 'pending' | 'failed'; readonly status: OffsetResetStatus }
  /** Read these partitions' offsets, then {@link resetTargets}. */
  | { readonly kind: 'run'; readonly partitions: readonly TopicPartition[] };

export interface ResetScopeInput {
  readonly reset: OffsetReset | undefined;
  readonly previous: OffsetResetStatus | undefined;
  readonly group: GroupDescription;
  readonly committed: readonly CommittedOffset[];
  /** Partitions of each topic of the cluster (from the metadata image). */
  readonly topics: ReadonlyMap<string, readonly number[]>;
  readonly nowMs: number;
}

export function resetScope(i: ResetScopeInput): ResetScope {
  const { reset, previous } = i;
  if (!reset) return { kind: 'none' };
  if (previous?.requestId === reset.requestId && previous.state !== 'Pending') return { kind: 'none' };
  const status = (state: OffsetResetStatus['state'], message: string): OffsetResetStatus =>
    resetStatus(reset.requestId, state, message, previous, i.nowMs);

  if (!INACTIVE_STATES.has(i.group.state)) {
    const n = i.group.members.length;
    return {
      kind: 'pending',
      status: status(
        'Pending',
        `waiting for the ${n} active member${n === 1 ? '' : 's'} of group ${i.group.groupId} ` +
          `(${i.group.state}) to leave: ${describeMembers(i.group)}; stop its consumers to let the reset run`,
      ),
    };
  }

  const partitions: TopicPartition[] = [];
  if (reset.topics) {
    for (const t of reset.topics) {
      const known = i.topics.get(t.name);
      if (!known) {
        return {
          kind: 'failed',
          status: status('Failed', `topic ${t.name} does not exist in the cluster; nothing was reset`),
        };
      }
      const missing = (t.partitions ?? []).filter((p) => !known.includes(p));
      if (missing.length > 0) {
        return {
          kind: 'failed',
          status: status(
            'Failed',
            `topic ${t.name} has no partition ${missing.join(', ')} (it has ${known.length}); nothing was reset`,
          ),
        };
      }
      for (const p of t.partitions ?? known) partitions.push({ topic: t.name, partition: p });
    }
  } else {
    for (const c of i.committed) {
      if (i.topics.has(c.topic)) partitions.push({ topic: c.topic, partition: c.partition });
    }
    if (partitions.length === 0) {
      return {
        kind: 'failed',
        status: status(
          'Failed',
          `group ${i.group.groupId} has no committed offsets to reset: name the topics in spec.offsetReset.topics`,
        ),
      };
    }
  }
  return { kind: 'run', partitions: sortPartitions(partitions) };
}

export interface LogOffsets {
  /** Per `topic:partition`. */
  readonly start: ReadonlyMap<string, bigint>;
  readonly end: ReadonlyMap<string, bigint>;
  /** The first offset at or after the request's timestamp, -1 for none (to: timestamp only). */
  readonly atTime?: ReadonlyMap<string, bigint>;
}

/** The offset to commit for each partition. Every partition must have a start and an end. */
export function resetTargets(
  reset: OffsetReset,
  partitions: readonly TopicPartition[],
  log: LogOffsets,
): CommittedOffset[] {
  return partitions.map((tp) => {
    const key = partitionKey(tp);
    const start = log.start.get(key);
    const end = log.end.get(key);
    if (start === undefined || end === undefined) {
      throw new RangeError(`no log offsets for ${tp.topic}-${tp.partition}`);
    }
    let offset: bigint;
    switch (reset.to) {
      case 'earliest':
        offset = start;
        break;
      case 'latest':
        offset = end;
        break;
      case 'timestamp': {
        const at = log.atTime?.get(key) ?? -1n;
        offset = at < 0n ? end : at;
        break;
      }
      case 'offset':
        offset = clamp(BigInt(reset.offset ?? 0), start, end);
        break;
    }
    return { ...tp, offset };
  });
}

/** The outcome of the commit: Succeeded, or Failed naming each partition refused and why. */
export function resetOutcome(
  reset: OffsetReset,
  groupId: string,
  targets: readonly CommittedOffset[],
  errors: ReadonlyArray<TopicPartition & { errorCode: number }>,
  previous: OffsetResetStatus | undefined,
  nowMs: number,
): OffsetResetStatus {
  const failed = errors.filter((e) => e.errorCode !== 0);
  if (failed.length > 0) {
    const list = failed
      .slice(0, 20)
      .map((e) => `${e.topic}-${e.partition}: ${errorName(e.errorCode)}`)
      .join(', ');
    return resetStatus(
      reset.requestId,
      'Failed',
      `the coordinator refused ${failed.length} of ${targets.length} partitions (${list}); ` +
        'the others were reset: request another reset with a new requestId',
      previous,
      nowMs,
    );
  }
  const moved = targets
    .slice(0, 20)
    .map((t) => `${t.topic}-${t.partition} → ${t.offset}`)
    .join(', ');
  const more = targets.length > 20 ? ` and ${targets.length - 20} more` : '';
  return resetStatus(
    reset.requestId,
    'Succeeded',
    `reset ${targets.length} partition${targets.length === 1 ? '' : 's'} of group ${groupId} ` +
      `to ${describeTarget(reset)}: ${moved}${more}`,
    previous,
    nowMs,
  );
}

/** Whether a commit refusal means members joined since the group was read: wait, do not fail. */
export function groupBecameActive(errorCode: number): boolean {
  return (
    errorCode === ErrorCode.UNKNOWN_MEMBER_ID ||
    errorCode === ErrorCode.ILLEGAL_GENERATION ||
    errorCode === ErrorCode.REBALANCE_IN_PROGRESS
  );
}

function resetStatus(
  requestId: string,
  state: OffsetResetStatus['state'],
  message: string,
  previous: OffsetResetStatus | undefined,
  nowMs: number,
): OffsetResetStatus {
  const same = previous?.requestId === requestId && previous.state === state;
  return {
    requestId,
    state,
    message,
    lastTransitionTime: same && previous.lastTransitionTime ? previous.lastTransitionTime : kubeTime(nowMs),
  };
}

function describeTarget(reset: OffsetReset): string {
  switch (reset.to) {
    case 'timestamp':
      return `the first offset at or after ${reset.timestamp}`;
    case 'offset':
      return `offset ${reset.offset} (within each log)`;
    default:
      return `the ${reset.to} offset`;
  }
}

function clamp(v: bigint, lo: bigint, hi: bigint): bigint {
  return v < lo ? lo : v > hi ? hi : v;
}

function sortPartitions(tps: TopicPartition[]): TopicPartition[] {
  const seen = new Set<string>();
  return tps
    .filter((tp) => !seen.has(partitionKey(tp)) && seen.add(partitionKey(tp)))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}
