/**
 * A consumer group as the admin client read it, turned into the observed part of
 * `ConsumerGroup.status`: state, protocol, members and their assignments, and per partition the
 * committed offset, the log end offset and the lag. Pure: the reconciler reads, this decides.
 *
 * The lag of a partition is `logEnd - committed`, never below 0 (a commit can be ahead of the log
 * end a follower-turned-leader reports for a moment), and unknown — left out, not 0 — where the
 * log end could not be read: a missing number is honest, a zero would say "caught up".
 */
import type { ConsumerGroupStatus, GroupMember, TopicOffsets } from '../../api/consumer-group.ts';
import { partitionKey } from '../../kafka/admin.ts';
import type { CommittedOffset, GroupDescription } from '../../kafka/types.ts';

/** States in which a group has no members that could commit over an admin's commit. */
export const INACTIVE_STATES: ReadonlySet<string> = new Set(['Empty', 'Dead']);

export interface Observation {
  readonly group: GroupDescription;
  readonly committed: readonly CommittedOffset[];
  /** Log end (high watermark) by `topic:partition`; an error or a negative offset is unknown. */
  readonly logEnd: ReadonlyMap<string, { readonly offset: bigint; readonly errorCode: number }>;
}

export type ObservedStatus = Required<
  Pick<ConsumerGroupStatus, 'groupId' | 'state' | 'members' | 'totalLag' | 'topics'>
> &
  Pick<ConsumerGroupStatus, 'protocol' | 'memberDetails'>;

export function observedStatus(o: Observation): ObservedStatus {
  const byTopic = new Map<string, TopicOffsets['partitions']>();
  for (const c of o.committed) {
    let list = byTopic.get(c.topic);
    if (!list) byTopic.set(c.topic, (list = []));
    const end = o.logEnd.get(partitionKey(c));
    const known = end !== undefined && end.errorCode === 0 && end.offset >= 0n;
    list.push({
      partition: c.partition,
      offset: Number(c.offset),
      ...(known
        ? {
            logEndOffset: Number(end.offset),
            lag: Number(end.offset > c.offset ? end.offset - c.offset : 0n),
          }
        : {}),
    });
  }
  let totalLag = 0;
  const topics = [...byTopic]
    .sort(([a], [b]) => compare(a, b))
    .map(([name, partitions]) => {
      partitions.sort((a, b) => a.partition - b.partition);
      const lag = partitions.reduce((n, p) => n + (p.lag ?? 0), 0);
      totalLag += lag;
      return { name, lag, partitions };
    });
  const members = [...o.group.members].sort((a, b) => compare(a.memberId, b.memberId));
  return {
    groupId: o.group.groupId,
    state: o.group.state,
    ...(o.group.protocol ? { protocol: o.group.protocol } : {}),
    members: members.length,
    ...(members.length > 0
      ? {
          memberDetails: members.map((m): GroupMember => ({
            memberId: m.memberId,
            ...(m.groupInstanceId ? { groupInstanceId: m.groupInstanceId } : {}),
            clientId: m.clientId,
            host: m.host,
            ...(m.assignments.length > 0
              ? {
                  assignments: [...m.assignments]
                    .sort((a, b) => compare(a.topic, b.topic))
                    .map((a) => ({ topic: a.topic, partitions: [...a.partitions] })),
                }
              : {}),
          })),
        }
      : {}),
    totalLag,
    topics,
  };
}

/** "member consumer-1-6f0c… (client billing-1 on /10.0.0.7)", for conditions that name members. */
export function describeMembers(group: GroupDescription, max = 10): string {
  const named = group.members
    .slice(0, max)
    .map((m) => `${m.memberId} (client ${m.clientId} on ${m.host})`)
    .join(', ');
  const more = group.members.length - max;
  return more > 0 ? `${named} and ${more} more` : named;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
