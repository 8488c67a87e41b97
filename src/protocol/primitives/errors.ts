/**
 * The two faults a codec can raise. Both are about *our* side of a conversation: a peer sent bytes
 * we cannot read (DecodeError — the connection answering it should be closed, as Kafka does), or
 * our own code tried to send a value the chosen version cannot carry (EncodeError — a bug).
 *
 * Nothing else may escape a decoder: no RangeError from Buffer, no TypeError from a missing field.
 */
export class DecodeError extends Error {
  readonly code = 'TRIB_PROTOCOL_DECODE';
  /** Byte position in the buffer where reading failed. */
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} (at byte ${position})`);
    this.name = 'DecodeError';
    this.position = position;
  }
}

export class EncodeError extends Error {
  readonly code = 'TRIB_PROTOCOL_ENCODE';

  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}
