/**
 * Rebuilds the groups of one offsets partition from its records: the last record of each key
 * wins, a tombstone deletes, and a group is what its last GroupMetadata record says (Stable with
 * its members, or Empty) plus its committed offsets. A group with offsets but no metadata record is
 * a "simple" group (offsets committed with generation -1): Empty, without a protocol type.
 */
import type { Logger } from '../../common/logger.ts';
import { ClassicGroup, type GroupEnv } from './group.ts';
import type { CommittedOffset } from './offsets.ts';
import type { OffsetsLog } from './offsets-store.ts';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeRecordKey,
  type GroupMetadataValue,
} from './records.ts';

interface LatestOffset {
  topic: string;
  partition: number;
  value: CommittedOffset | null;
}

export interface LoadedPartition {
  /** Not yet serving: the caller registers them, then calls `onLoaded()` on each. */
  groups: ClassicGroup[];
  /** Records that could not be read (each logged), skipped so the other groups still load. */
  skipped: number;
}

export async function loadGroups(log: OffsetsLog, env: GroupEnv, logger: Logger): Promise<LoadedPartition> {
  const metadata = new Map<string, GroupMetadataValue | null>();
  const offsets = new Map<string, Map<string, LatestOffset>>();
  let skipped = 0;
  await log.load((record) => {
    try {
      const key = decodeRecordKey(record.key);
      if (key.kind === 'group') {
        metadata.set(key.group, record.value === null ? null : decodeGroupMetadataValue(record.value));
      } else if (key.kind === 'offset') {
        let byPartition = offsets.get(key.group);
        if (!byPartition) offsets.set(key.group, (byPartition = new Map()));
        const value = record.value === null ? null : decodeOffsetCommitValue(record.value);
        byPartition.set(`${key.topic}\0${key.partition}`, {
          topic: key.topic,
          partition: key.partition,
          value,
        });
      }
    } catch (err) {
      skipped++;
      logger.warn({ err }, 'Skipped an unreadable offsets topic record');
    }
  });
  const groups: ClassicGroup[] = [];
  for (const groupId of new Set([...metadata.keys(), ...offsets.keys()])) {
    const value = metadata.get(groupId) ?? null;
    const committed = [...(offsets.get(groupId)?.values() ?? [])].filter((o) => o.value !== null);
    if (value === null && committed.length === 0) continue;
    const group = value ? ClassicGroup.fromRecord(groupId, value, env) : new ClassicGroup(groupId, env);
    for (const o of committed) group.offsets.set(o.topic, o.partition, o.value!);
    groups.push(group);
  }
  return { groups, skipped };
}
