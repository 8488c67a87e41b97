/**
 * A request the log refuses, with the Kafka error code to answer it with. Kafka errors are data
 * (STYLE habit 3): a handler turns `errorCode` into the partition's error in its response. Faults of
 * the log itself are TributaryErrors (StorageOfflineError) instead.
 */
export class LogRequestError extends Error {
  readonly errorCode: number;

  constructor(errorCode: number, message: string) {
    super(message);
    this.name = 'LogRequestError';
    this.errorCode = errorCode;
  }
}

/** The Kafka error codes the log answers with (error-codes.json). */
export const LogErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  MESSAGE_TOO_LARGE: 10,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_RECORD: 87,
} as const;

export function offsetOutOfRange(
  offset: number,
  logStartOffset: number,
  logEndOffset: number,
): LogRequestError {
  return new LogRequestError(
    LogErrorCode.OFFSET_OUT_OF_RANGE,
    `offset ${offset} is outside the log's range [${logStartOffset}, ${logEndOffset}]`,
  );
}
