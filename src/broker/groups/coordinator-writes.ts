/**
 * The group coordinator's writes to the offsets topic: a group's metadata (acknowledged with the
 * error a client should see), the tombstones that delete a group and its offsets, and appends whose
 * failure is logged and answered UNKNOWN_SERVER_ERROR rather than thrown.
 */
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { ClassicGroup } from './group.ts';
import { type CoordinatorRecord, groupWriteError } from './offsets-store.ts';
import type { OffsetsPartitions, OwnedPartition } from './ownership.ts';
import {
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  type GroupMetadataValue,
} from './records.ts';

/** Writes a group's metadata to its offsets partition; `done` gets the Kafka error code (0: stored). */
export function storeGroup(
  partitions: OffsetsPartitions,
  log: Logger,
  group: ClassicGroup,
  value: GroupMetadataValue,
  done: (errorCode: number) => void,
): void {
  const owned = partitions.ownerOf(group.groupId);
  const record = { key: encodeGroupMetadataKey(group.groupId), value: encodeGroupMetadataValue(value) };
  const write = owned ? owned.log.append([record]) : Promise.resolve(ErrorCode.NOT_COORDINATOR);
  write
    .then(groupWriteError, () => ErrorCode.UNKNOWN_SERVER_ERROR)
    .then(done)
    .catch((err: unknown) => log.error({ err, group: group.groupId }, 'Group failed after a write'));
}

/** Tombstones for these offsets of the group, and for the group itself when `withGroup`. */
export function tombstones(
  group: ClassicGroup,
  offsets: Array<{ topic: string; partition: number }>,
  withGroup: boolean,
): CoordinatorRecord[] {
  const records: CoordinatorRecord[] = offsets.map((o) => ({
    key: encodeOffsetCommitKey({ group: group.groupId, topic: o.topic, partition: o.partition }),
    value: null,
  }));
  if (withGroup) records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
  return records;
}

/** Appends to an owned offsets partition: the append's error code, UNKNOWN_SERVER_ERROR if it threw. */
export function appendRecords(
  owned: OwnedPartition,
  records: CoordinatorRecord[],
  log: Logger,
): Promise<number> {
  return owned.log.append(records).catch((err: unknown) => {
    log.error({ err, partition: owned.partition }, 'Offsets topic write failed');
    return ErrorCode.UNKNOWN_SERVER_ERROR;
  });
}
