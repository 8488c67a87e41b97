import { DecodeError, EncodeError } from './errors.ts';
import { Reader } from './reader.ts';
import type { MessageSchema } from './schema.ts';
import { Writer } from './writer.ts';

/** What every generated message module exports as its codec object. */
export interface MessageCodec<T> {
  readonly name: string;
  readonly apiKey: number | null;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The first flexible version (compact types, tagged fields), or null when none is. */
  readonly flexibleFrom: number | null;
  isFlexible(version: number): boolean;
  /** A value with every field at its schema default. */
  defaults(): T;
  read(r: Reader, version: number): T;
  size(value: T, version: number): number;
  write(w: Writer, value: T, version: number): void;
  /** Decodes a whole buffer (fields of `records` type stay views into it). */
  decode(buf: Buffer, version: number): T;
  /** Encodes into one buffer of exactly the computed size. */
  encode(value: T, version: number): Buffer;
  /** The message's fields as data, version by version (see ./schema.ts). */
  readonly schema: MessageSchema;
}

interface Definition<T> {
  name: string;
  apiKey: number | null;
  minVersion: number;
  maxVersion: number;
  flexibleFrom: number | null;
  defaults(): T;
  read(r: Reader, version: number): T;
  size(value: T, version: number): number;
  write(w: Writer, value: T, version: number): void;
  schema: MessageSchema;
}

export function defineMessage<T>(d: Definition<T>): MessageCodec<T> {
  const inRange = (version: number): boolean =>
    Number.isInteger(version) && version >= d.minVersion && version <= d.maxVersion;
  return {
    ...d,
    isFlexible: (version) => d.flexibleFrom !== null && version >= d.flexibleFrom,
    decode(buf, version) {
      if (!inRange(version)) throw new DecodeError(`${d.name} has no version ${version}`, 0);
      return d.read(new Reader(buf), version);
    },
    encode(value, version) {
      if (!inRange(version)) throw new EncodeError(`${d.name} has no version ${version}`);
      const w = Writer.alloc(d.size(value, version));
      d.write(w, value, version);
      return w.finish();
    },
  };
}

/** Shared by every default `bytes` field; it has no bytes to mutate. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

export function unsupportedField(struct: string, field: string, version: number): EncodeError {
  return new EncodeError(
    `${struct}.${field} holds a non-default value but version ${version} cannot carry it`,
  );
}

export function nullField(struct: string, field: string, version: number): EncodeError {
  return new EncodeError(`${struct}.${field} is null but is not nullable at version ${version}`);
}
