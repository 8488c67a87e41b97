/**
 * Kafka error codes a record batch can earn (from error-codes.json). A broker answers a Produce
 * with the code; storage recovery treats any of them as the end of the valid log.
 */
export const KafkaErrorCode = {
  /** Bytes damaged or not a batch: a failed CRC, a size that does not add up, an unreadable payload. */
  CORRUPT_MESSAGE: 2,
  /** A batch (or what it decompresses to) above the configured limit. */
  MESSAGE_TOO_LARGE: 10,
  /** Intact bytes that break a rule: an inconsistent record count, an unknown codec, a legacy magic. */
  INVALID_RECORD: 87,
} as const;

/**
 * The one error the records module throws for bad input bytes. Nothing else escapes a decoder or
 * validator fed hostile data: no RangeError from Buffer, no exception from a compression library.
 * (A RangeError still signals a caller's own mistake, such as a negative offset to write.)
 */
export class RecordBatchError extends Error {
  readonly code = 'TRIB_PROTOCOL_RECORD_BATCH';
  /** The Kafka error code to answer with (see KafkaErrorCode). */
  readonly errorCode: number;
  /** Byte position in the buffer that was passed in where the fault was found. */
  readonly position: number;

  constructor(errorCode: number, message: string, position: number, cause?: unknown) {
    super(`${message} (at byte ${position})`, cause === undefined ? undefined : { cause });
    this.name = 'RecordBatchError';
    this.errorCode = errorCode;
    this.position = position;
  }
}

export function corrupt(message: string, position: number, cause?: unknown): RecordBatchError {
  return new RecordBatchError(KafkaErrorCode.CORRUPT_MESSAGE, message, position, cause);
}

export function invalid(message: string, position: number): RecordBatchError {
  return new RecordBatchError(KafkaErrorCode.INVALID_RECORD, message, position);
}

export function tooLarge(message: string, position: number): RecordBatchError {
  return new RecordBatchError(KafkaErrorCode.MESSAGE_TOO_LARGE, message, position);
}
