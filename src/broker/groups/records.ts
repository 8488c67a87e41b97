/**
 * The records of the offsets topic (`__consumer_offsets`), in Kafka's own on-disk formats so that
 * the topic reads the same to Kafka's tools (`kafka-console-consumer --formatter
 * …GroupMetadataMessageFormatter`) and to us. Keys and values each start with an int16 version:
 *
 *   key v0/v1  OffsetCommitKey    group, topic, partition          → value OffsetCommitValue
 *   key v2     GroupMetadataKey   group                            → value GroupMetadataValue
 *   key v3+    the KIP-848 / share-group records (not used by classic groups; skipped on load)
 *
 * A null value is a tombstone: compaction then drops every record of that key.
 *
 * We write what Kafka 3.9 writes (its MetadataVersion 3.9-IV0): OffsetCommitKey v1, OffsetCommitValue
 * v3 (v1 when the commit carries an expire timestamp, OffsetCommit v2–v4's retention time), and
 * GroupMetadataValue v3; we read every version Kafka defines, the flexible v4 values included.
 *
 * These four schemas are not among the shared Kafka schemas the codec generator reads, so this file
 * encodes them by hand; golden bytes produced by Kafka 3.9.1's generated classes pin the layout in
 * test/unit/broker/groups/records.test.ts. When the schemas join the shared folder, generated codecs
 * replace the bodies below and the tests stay.
 */
import {
  DecodeError,
  Reader,
  sizeOfArrayLength,
  sizeOfBytes,
  sizeOfString,
  Writer,
} from '../../protocol/primitives/index.ts';

export const OFFSETS_TOPIC = '__consumer_offsets';

export interface OffsetCommitKey {
  group: string;
  topic: string;
  partition: number;
}

export interface OffsetCommitValue {
  offset: bigint;
  /** -1 when the consumer did not say (versions before 3 cannot carry it). */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Set only by OffsetCommit v2–v4 with an explicit retention time; null otherwise. */
  expireTimestamp: number | null;
}

export interface GroupMemberRecord {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's selected protocol. */
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  /** When the group entered its current state; -1 when unknown (versions before 2). */
  currentStateTimestamp: number;
  members: GroupMemberRecord[];
}

export type RecordKey =
  | { kind: 'offset'; group: string; topic: string; partition: number }
  | { kind: 'group'; group: string }
  /** A record of another group type (KIP-848 consumer groups, share groups): not ours to read. */
  | { kind: 'other'; version: number };

const OFFSET_COMMIT_KEY_VERSION = 1;
const GROUP_METADATA_KEY_VERSION = 2;
const OFFSET_COMMIT_VALUE_VERSION = 3;
const OFFSET_COMMIT_VALUE_WITH_EXPIRY_VERSION = 1;
const OFFSET_COMMIT_VALUE_MAX_VERSION = 4;
const GROUP_METADATA_VALUE_VERSION = 3;
const GROUP_METADATA_VALUE_MAX_VERSION = 4;

export function encodeOffsetCommitKey(k: OffsetCommitKey): Buffer {
  const w = Writer.alloc(2 + sizeOfString(k.group, false) + sizeOfString(k.topic, false) + 4);
  w.int16(OFFSET_COMMIT_KEY_VERSION);
  w.string(k.group, false);
  w.string(k.topic, false);
  w.int32(k.partition);
  return w.finish();
}

export function encodeGroupMetadataKey(group: string): Buffer {
  const w = Writer.alloc(2 + sizeOfString(group, false));
  w.int16(GROUP_METADATA_KEY_VERSION);
  w.string(group, false);
  return w.finish();
}

export function encodeOffsetCommitValue(v: OffsetCommitValue): Buffer {
  const withExpiry = v.expireTimestamp !== null;
  const version = withExpiry ? OFFSET_COMMIT_VALUE_WITH_EXPIRY_VERSION : OFFSET_COMMIT_VALUE_VERSION;
  const size = 2 + 8 + (withExpiry ? 0 : 4) + sizeOfString(v.metadata, false) + 8 + (withExpiry ? 8 : 0);
  const w = Writer.alloc(size);
  w.int16(version);
  w.int64(v.offset);
  if (!withExpiry) w.int32(v.leaderEpoch);
  w.string(v.metadata, false);
  w.int64(BigInt(v.commitTimestamp));
  if (withExpiry) w.int64(BigInt(v.expireTimestamp!));
  return w.finish();
}

export function encodeGroupMetadataValue(v: GroupMetadataValue): Buffer {
  let size = 2 + sizeOfString(v.protocolType, false) + 4;
  size += sizeOfString(v.protocol, false) + sizeOfString(v.leader, false) + 8;
  size += sizeOfArrayLength(v.members.length, false);
  for (const m of v.members) {
    size += sizeOfString(m.memberId, false) + sizeOfString(m.groupInstanceId, false);
    size += sizeOfString(m.clientId, false) + sizeOfString(m.clientHost, false) + 8;
    size += sizeOfBytes(m.subscription, false) + sizeOfBytes(m.assignment, false);
  }
  const w = Writer.alloc(size);
  w.int16(GROUP_METADATA_VALUE_VERSION);
  w.string(v.protocolType, false);
  w.int32(v.generation);
  w.string(v.protocol, false);
  w.string(v.leader, false);
  w.int64(BigInt(v.currentStateTimestamp));
  w.arrayLength(v.members.length, false);
  for (const m of v.members) {
    w.string(m.memberId, false);
    w.string(m.groupInstanceId, false);
    w.string(m.clientId, false);
    w.string(m.clientHost, false);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(m.subscription, false);
    w.bytes(m.assignment, false);
  }
  return w.finish();
}

/** Reads a record key; throws DecodeError when it is malformed. */
export function decodeRecordKey(buf: Buffer): RecordKey {
  const r = new Reader(buf);
  const version = r.int16();
  if (version === 0 || version === 1) {
    return { kind: 'offset', group: r.string('group'), topic: r.string('topic'), partition: r.int32() };
  }
  if (version === 2) return { kind: 'group', group: r.string('group') };
  if (version < 0) throw new DecodeError(`negative record key version ${version}`, 0);
  return { kind: 'other', version };
}

/**
 * Reads an OffsetCommitValue. A version newer than we know is read with the newest layout we know:
 * Kafka only ever adds tagged fields to these values once they are flexible.
 */
export function decodeOffsetCommitValue(buf: Buffer): OffsetCommitValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0) throw new DecodeError(`negative OffsetCommitValue version ${version}`, 0);
  const v = Math.min(version, OFFSET_COMMIT_VALUE_MAX_VERSION);
  const flexible = v >= 4;
  const offset = r.int64();
  const leaderEpoch = v >= 3 ? r.int32() : -1;
  const metadata = flexible ? r.compactString('metadata') : r.string('metadata');
  const commitTimestamp = Number(r.int64());
  const expireTimestamp = v === 1 ? Number(r.int64()) : null;
  if (flexible) r.skipTaggedFields();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

export function decodeGroupMetadataValue(buf: Buffer): GroupMetadataValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0) throw new DecodeError(`negative GroupMetadataValue version ${version}`, 0);
  const v = Math.min(version, GROUP_METADATA_VALUE_MAX_VERSION);
  const flexible = v >= 4;
  const str = (field: string): string => (flexible ? r.compactString(field) : r.string(field));
  const nullableStr = (): string | null => (flexible ? r.compactNullableString() : r.nullableString());
  // Copies, not views: a loaded group outlives the read buffer it came from.
  const bytes = (field: string): Buffer => Buffer.from(flexible ? r.compactBytes(field) : r.bytes(field));
  const protocolType = str('protocol_type');
  const generation = r.int32();
  const protocol = nullableStr();
  const leader = nullableStr();
  const currentStateTimestamp = v >= 2 ? Number(r.int64()) : -1;
  const count = flexible ? r.compactArrayLength(8, false, 'members') : r.arrayLength(8, false, 'members');
  const members: GroupMemberRecord[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = str('member_id');
    const groupInstanceId = v >= 3 ? nullableStr() : null;
    const clientId = str('client_id');
    const clientHost = str('client_host');
    const rebalanceTimeoutMs = v >= 1 ? r.int32() : -1;
    const sessionTimeoutMs = r.int32();
    const subscription = bytes('subscription');
    const assignment = bytes('assignment');
    if (flexible) r.skipTaggedFields();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      // v0 had one timeout for both, as JoinGroup v0 did.
      rebalanceTimeoutMs: rebalanceTimeoutMs === -1 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  if (flexible) r.skipTaggedFields();
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}
