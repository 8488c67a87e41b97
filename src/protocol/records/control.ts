import { corrupt, invalid } from './errors.ts';
import { encodeBatch } from './record.ts';

/*
 * Control batches (attributes bit 5) carry one record whose key says what it is — version int16,
 * type int16 — written by the broker, never by a client. Transaction markers (types 0 and 1) have a
 * value too: version int16, coordinatorEpoch int32. KRaft adds other types (2 and up) that a
 * partition log of this broker never holds but a reader must pass over.
 */

export const ControlRecordType = {
  ABORT: 0,
  COMMIT: 1,
} as const;

export const CONTROL_KEY_VERSION = 0;
export const END_TXN_MARKER_VERSION = 0;

export interface ControlKey {
  version: number;
  type: number;
}

export interface EndTxnMarker {
  version: number;
  coordinatorEpoch: number;
}

export function encodeControlKey(type: number, version = CONTROL_KEY_VERSION): Buffer {
  const key = Buffer.allocUnsafe(4);
  key.writeInt16BE(version, 0);
  key.writeInt16BE(type, 2);
  return key;
}

/**
 * Reads a control record's key. Like Kafka, a newer version is read by its first two fields, which
 * every version keeps; fewer than four bytes, or a negative version, are INVALID_RECORD.
 */
export function decodeControlKey(key: Buffer | null): ControlKey {
  if (key === null || key.length < 4)
    throw invalid(`control record key of ${key?.length ?? 'null'} bytes`, 0);
  const version = key.readInt16BE(0);
  if (version < 0) throw invalid(`negative control record key version ${version}`, 0);
  return { version, type: key.readInt16BE(2) };
}

export function encodeEndTxnMarker(coordinatorEpoch: number, version = END_TXN_MARKER_VERSION): Buffer {
  const value = Buffer.allocUnsafe(6);
  value.writeInt16BE(version, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return value;
}

export function decodeEndTxnMarker(value: Buffer | null): EndTxnMarker {
  if (value === null || value.length < 6) {
    throw corrupt(`end transaction marker value of ${value?.length ?? 'null'} bytes`, 0);
  }
  const version = value.readInt16BE(0);
  if (version < 0) throw invalid(`negative end transaction marker version ${version}`, 0);
  return { version, coordinatorEpoch: value.readInt32BE(2) };
}

export interface EndTxnBatchInput {
  commit: boolean;
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  /** When the marker was written (injected, not read from a clock here). */
  timestamp: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}

/** The control batch that commits or aborts a producer's transaction on one partition. */
export function encodeEndTxnBatch(input: EndTxnBatchInput): Buffer {
  return encodeBatch({
    baseOffset: input.baseOffset,
    partitionLeaderEpoch: input.partitionLeaderEpoch,
    transactional: true,
    control: true,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    records: [
      {
        key: encodeControlKey(input.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT),
        value: encodeEndTxnMarker(input.coordinatorEpoch),
        timestamp: input.timestamp,
      },
    ],
  });
}
