/**
 * The consumer protocol's embedded payloads: the `metadata` a consumer puts in JoinGroup (its
 * subscription) and the `assignment` a leader hands out in SyncGroup. Both are opaque bytes to
 * the group protocol itself, laid out as `int16 version` and then ConsumerProtocolSubscription or
 * ConsumerProtocolAssignment at that version.
 *
 * Versions only ever append fields, so a version newer than we know is read with the newest
 * layout we know and the rest ignored — what the Java client's ConsumerProtocol does, and why the
 * schemas say new versions may not remove or reorder fields.
 */
import {
  ConsumerProtocolAssignment,
  defaultConsumerProtocolAssignment,
} from './messages/consumer-protocol-assignment.ts';
import {
  ConsumerProtocolSubscription,
  defaultConsumerProtocolSubscription,
} from './messages/consumer-protocol-subscription.ts';
import { DecodeError, EncodeError, Reader, type MessageCodec, Writer } from './primitives/index.ts';

export type { ConsumerProtocolAssignment, ConsumerProtocolSubscription };

/** A decoded payload with the version its writer put in front of it (possibly newer than ours). */
export type Versioned<T> = T & { version: number };

function encode<T>(codec: MessageCodec<T>, value: T, version: number): Buffer {
  if (!Number.isInteger(version) || version < codec.minVersion || version > codec.maxVersion) {
    throw new EncodeError(`${codec.name} has no version ${version}`);
  }
  const w = Writer.alloc(2 + codec.size(value, version));
  w.int16(version);
  codec.write(w, value, version);
  return w.finish();
}

function decode<T>(codec: MessageCodec<T>, buf: Buffer): Versioned<T> {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < codec.minVersion) throw new DecodeError(`${codec.name} has no version ${version}`, 0);
  const value = codec.read(r, Math.min(version, codec.maxVersion));
  return { ...value, version };
}

/**
 * A consumer's JoinGroup metadata. Fields an older version cannot carry are dropped, as the Java
 * client drops them: every field added after v0 is marked ignorable in Kafka's schema.
 */
export function encodeSubscription(
  subscription: Partial<ConsumerProtocolSubscription> & Pick<ConsumerProtocolSubscription, 'topics'>,
  version: number = ConsumerProtocolSubscription.maxVersion,
): Buffer {
  return encode(
    ConsumerProtocolSubscription,
    { ...defaultConsumerProtocolSubscription(), ...subscription },
    version,
  );
}

/** Reads a consumer's JoinGroup metadata; `userData` is a view into `buf`. */
export function decodeSubscription(buf: Buffer): Versioned<ConsumerProtocolSubscription> {
  return decode(ConsumerProtocolSubscription, buf);
}

/** A member's SyncGroup assignment. */
export function encodeAssignment(
  assignment: Partial<ConsumerProtocolAssignment> & Pick<ConsumerProtocolAssignment, 'assignedPartitions'>,
  version: number = ConsumerProtocolAssignment.maxVersion,
): Buffer {
  return encode(
    ConsumerProtocolAssignment,
    { ...defaultConsumerProtocolAssignment(), ...assignment },
    version,
  );
}

/** Reads a member's SyncGroup assignment; `userData` is a view into `buf`. */
export function decodeAssignment(buf: Buffer): Versioned<ConsumerProtocolAssignment> {
  return decode(ConsumerProtocolAssignment, buf);
}
