/**
 * The catalogue of Tributary's internal errors: faults that close a connection, fail a reconcile
 * or stop a partition. Kafka's own error codes (NOT_LEADER_OR_FOLLOWER, …) are not here: those are
 * data, sent back in responses.
 *
 * Every code is stable once released (operators grep logs and alerts for it) and is documented in
 * docs/errors.md; a unit test fails when the two disagree. Declare new errors with `defineError`
 * below, never by hand, so that each code is written down exactly once.
 */

import { inspect } from 'node:util';

/** Base of every catalogued error. `code` is the stable part; the message is for humans. */
export class TributaryError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TributaryError';
    this.code = code;
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

/** A class made by `defineError`: `new ConfigInvalidError({ … }, { cause })`. */
export interface TributaryErrorClass<Code extends string, Params> {
  new (
    params: Params,
    options?: ErrorOptions,
  ): TributaryError & { readonly code: Code; readonly params: Params };
  readonly code: Code;
}

const definedCodes = new Set<string>();

/**
 * Makes one catalogue entry. The message template takes a parameter object rather than positional
 * `%s` slots so the compiler checks every call site; the parameters stay on the error as `params`
 * for structured logs.
 */
function defineError<const Code extends string, Params>(
  code: Code,
  message: (params: Params) => string,
): TributaryErrorClass<Code, Params> {
  if (definedCodes.has(code)) throw new Error(`Error code ${code} is defined twice`);
  definedCodes.add(code);

  const name = classNameFor(code);
  const cls = class extends TributaryError {
    static readonly code = code;
    declare readonly code: Code;
    readonly params: Params;

    constructor(params: Params, options?: ErrorOptions) {
      super(code, message(params), options);
      this.name = name;
      this.params = params;
    }
  };
  // Stack traces, and pino's `type` (taken from the constructor), then read `StorageOfflineError`
  // instead of an anonymous class.
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** `TRIB_STORAGE_OFFLINE` → `StorageOfflineError`, the name each entry is exported under. */
function classNameFor(code: string): string {
  const words = code
    .replace(/^TRIB_/, '')
    .toLowerCase()
    .split('_');
  return `${words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Error`;
}

/**
 * Codes raised by classes that live beside their code rather than in this file: the protocol
 * codecs' DecodeError and EncodeError (src/protocol/primitives/errors.ts) and the record-batch
 * RecordBatchError (src/protocol/records/errors.ts) stay free of `common/` imports so generated and
 * hot-path code can use them alone. The catalogue test keeps this list honest.
 */
const PROTOCOL_ERROR_CODES = [
  'TRIB_PROTOCOL_DECODE',
  'TRIB_PROTOCOL_ENCODE',
  'TRIB_PROTOCOL_RECORD_BATCH',
] as const;

// inspect rather than JSON.stringify: a bad value may be undefined, a bigint or a cyclic object.
const show = (value: unknown): string => inspect(value, { breakLength: Infinity, depth: 2 });

function describeAllowed(allowed: string | readonly unknown[]): string {
  return typeof allowed === 'string' ? allowed : `one of ${allowed.map(show).join(', ')}`;
}

export const ConfigInvalidError = defineError(
  'TRIB_CONFIG_INVALID',
  (p: { field: string; value: unknown; allowed: string | readonly unknown[] }) =>
    `Config field ${p.field} has invalid value ${show(p.value)}; allowed: ${describeAllowed(p.allowed)}`,
);
export type ConfigInvalidError = InstanceType<typeof ConfigInvalidError>;

export const StorageOfflineError = defineError(
  'TRIB_STORAGE_OFFLINE',
  (p: { topic: string; partition: number }) =>
    `Partition ${p.topic}-${p.partition} is offline after an I/O failure`,
);
export type StorageOfflineError = InstanceType<typeof StorageOfflineError>;

export const StorageCorruptError = defineError(
  'TRIB_STORAGE_CORRUPT',
  (p: { path: string; position?: number; reason: string }) =>
    `${p.path} is corrupt${p.position === undefined ? '' : ` at byte ${p.position}`}: ${p.reason}`,
);
export type StorageCorruptError = InstanceType<typeof StorageCorruptError>;

export const ControllerDeposedError = defineError(
  'TRIB_CONTROLLER_DEPOSED',
  (p: { reason: string }) => `This controller has been deposed: ${p.reason}`,
);
export type ControllerDeposedError = InstanceType<typeof ControllerDeposedError>;

/** Every code Tributary can raise; docs/errors.md documents each one. */
export const ERROR_CODES: readonly string[] = Object.freeze([...PROTOCOL_ERROR_CODES, ...definedCodes]);
