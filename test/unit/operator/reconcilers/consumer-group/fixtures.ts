/** Groups, offsets and log ends as the admin client reads them, for the consumer-group decisions. */
import type { CommittedOffset, GroupDescription } from '../../../../../src/operator/kafka/types.ts';

export const NOW = Date.parse('2024-05-01T12:00:00Z');

export function group(state: string, members = 0): GroupDescription {
  return {
    groupId: 'billing',
    state,
    protocolType: 'consumer',
    protocol: members > 0 ? 'range' : '',
    members: Array.from({ length: members }, (_, i) => ({
      memberId: `billing-${i}-a1b2`,
      groupInstanceId: null,
      clientId: `billing-${i}`,
      host: `/10.0.0.${i + 1}`,
      assignments: [{ topic: 'orders', partitions: [i] }],
    })),
  };
}

export function committed(...entries: Array<[string, number, number]>): CommittedOffset[] {
  return entries.map(([topic, partition, offset]) => ({ topic, partition, offset: BigInt(offset) }));
}

/** `topic:partition` → offset, as listOffsets answers (error 0). */
export function logEnds(...entries: Array<[string, number, number]>) {
  return new Map(entries.map(([t, p, o]) => [`${t}:${p}`, { offset: BigInt(o), errorCode: 0 }]));
}

export function offsets(...entries: Array<[string, number, number]>): Map<string, bigint> {
  return new Map(entries.map(([t, p, o]) => [`${t}:${p}`, BigInt(o)]));
}
