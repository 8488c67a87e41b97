/**
 * The input fault injector's encoder: writes a value of a message's shape at one version by walking
 * the codec's `schema` (src/protocol/primitives/schema.ts) — not through the codec itself, so that it
 * can also write what no codec would: unknown tagged fields in flexible structs, and one sabotaged
 * length prefix (a huge array count, an overlong compact varint, a length that lies, a negative one)
 * with everything after it written as if nothing had happened.
 *
 * Every count or length prefix it writes is a numbered "site"; `sites` after a clean encoding says
 * how many there are to choose from.
 */
import type { FieldSchema, MessageSchema } from '../../src/protocol/primitives/index.ts';
import { inSpan } from '../../src/protocol/primitives/index.ts';
import type { Rng } from './fuzz-random.ts';
import type { FuzzValue } from './fuzz-values.ts';

export const SABOTAGES = ['huge-count', 'bad-varint', 'length-lie', 'negative-length'] as const;
export type Sabotage = (typeof SABOTAGES)[number];

export interface EncodeOptions {
  /** Chance that a flexible struct also carries unknown tagged fields. */
  unknownTags?: number;
  sabotage?: { site: number; kind: Sabotage };
}

type PrefixKind = 'array' | 'string' | 'bytes' | 'tags';

/** Growable output, with the few writes the wire needs. */
class Out {
  readonly parts: Buffer[] = [];

  raw(b: Buffer): void {
    this.parts.push(b);
  }

  int(v: number, size: 1 | 2 | 4, unsigned = false): void {
    const b = Buffer.alloc(size);
    if (unsigned) b.writeUIntBE(v, 0, size);
    else b.writeIntBE(v, 0, size);
    this.parts.push(b);
  }

  uvarint(v: number): void {
    const bytes: number[] = [];
    let n = v >>> 0;
    while (n >= 0x80) {
      bytes.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    bytes.push(n);
    this.parts.push(Buffer.from(bytes));
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class SchemaEncoder {
  readonly #schema: MessageSchema;
  readonly #version: number;
  readonly #flexible: boolean;
  readonly #rng: Rng;
  readonly #o: EncodeOptions;
  /** Prefix sites written so far. */
  sites = 0;

  constructor(
    schema: MessageSchema,
    version: number,
    flexibleFrom: number | null,
    rng: Rng,
    o: EncodeOptions = {},
  ) {
    this.#schema = schema;
    this.#version = version;
    this.#flexible = flexibleFrom !== null && version >= flexibleFrom;
    this.#rng = rng;
    this.#o = o;
  }

  encode(value: FuzzValue): Buffer {
    const out = new Out();
    this.#struct(out, this.#schema.root, value);
    return out.finish();
  }

  #struct(out: Out, name: string, value: FuzzValue): void {
    const v = this.#version;
    const tagged: Array<{ tag: number; bytes: Buffer }> = [];
    for (const f of this.#schema.structs[name]!) {
      if (!inSpan(f.versions, v)) continue;
      const x = value[f.property];
      if (this.#flexible && inSpan(f.tagged, v)) {
        if (x === undefined) continue;
        const sub = new Out();
        this.#value(sub, f, f.type, x, inSpan(f.nullable, v));
        tagged.push({ tag: f.tag!, bytes: sub.finish() });
      } else {
        this.#value(out, f, f.type, x, inSpan(f.nullable, v));
      }
    }
    if (!this.#flexible) return;
    const rng = this.#rng;
    if (rng.chance(this.#o.unknownTags ?? 0)) {
      const known = new Set(this.#schema.structs[name]!.map((f) => f.tag).filter((t) => t !== undefined));
      for (let i = rng.int(1, 3); i > 0; i--) {
        const tag = rng.pick([rng.int(0, 20), rng.int(100, 10_000), 2 ** 31 - 1]);
        if (!known.has(tag) && !tagged.some((t) => t.tag === tag)) {
          tagged.push({ tag, bytes: rng.bytes(rng.pick([0, 1, rng.int(2, 40)])) });
        }
      }
    }
    tagged.sort((a, b) => a.tag - b.tag);
    this.#prefix(out, tagged.length, 'tags', true, true);
    for (const t of tagged) {
      out.uvarint(t.tag);
      this.#prefix(out, t.bytes.length, 'tags', true, true);
      out.raw(t.bytes);
    }
  }

  #compact(f: FieldSchema): boolean {
    return this.#flexible && (f.flexible === undefined || inSpan(f.flexible, this.#version));
  }

  /** `nullable`: whether the version allows null here (never for an array's elements). */
  #value(out: Out, f: FieldSchema, type: string, x: unknown, nullable: boolean): void {
    const compact = this.#compact(f);
    if (type.startsWith('[]')) {
      const items = x as unknown[] | null;
      this.#prefix(out, items === null ? null : items.length, 'array', compact);
      for (const item of items ?? []) this.#value(out, f, type.slice(2), item, false);
      return;
    }
    if (this.#schema.structs[type] !== undefined) {
      if (nullable) out.int(x === null ? -1 : 1, 1);
      if (x !== null) this.#struct(out, type, x as FuzzValue);
      return;
    }
    switch (type) {
      case 'bool':
        return out.int(x ? 1 : 0, 1);
      case 'int8':
        return out.int(x as number, 1);
      case 'int16':
        return out.int(x as number, 2);
      case 'uint16':
        return out.int(x as number, 2, true);
      case 'int32':
        return out.int(x as number, 4);
      case 'uint32':
        return out.int(x as number, 4, true);
      case 'int64': {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(x as bigint);
        return out.raw(b);
      }
      case 'float64': {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(x as number);
        return out.raw(b);
      }
      case 'uuid':
        return out.raw(Buffer.from(x as string, 'base64url'));
      case 'string':
      case 'bytes':
      case 'records': {
        const bytes = x === null ? null : typeof x === 'string' ? Buffer.from(x, 'utf8') : (x as Buffer);
        this.#prefix(
          out,
          bytes === null ? null : bytes.length,
          type === 'string' ? 'string' : 'bytes',
          compact,
        );
        if (bytes !== null) out.raw(bytes);
        return;
      }
      default:
        throw new Error(`unknown type ${type}`);
    }
  }

  /** A count or length (null: the null marker), or the sabotage planned for this site. */
  #prefix(out: Out, n: number | null, kind: PrefixKind, compact: boolean, uvarintOnly = false): void {
    const site = this.sites++;
    const sabotage = this.#o.sabotage?.site === site ? this.#o.sabotage.kind : null;
    // Tagged-field counts and sizes are plain uvarints (no +1): only the damage differs.
    const plain = (m: number): void =>
      uvarintOnly ? out.uvarint(m) : compact ? out.uvarint(m + 1) : fixed(m);
    const fixed = (m: number): void => out.int(m, kind === 'string' ? 2 : 4);
    const max = kind === 'string' && !compact ? 32767 : 2 ** 31 - 1;
    switch (sabotage) {
      case null:
        if (n === null) return compact ? out.uvarint(0) : fixed(-1);
        return plain(n);
      case 'huge-count':
        return compact || uvarintOnly ? out.uvarint(max) : fixed(max);
      case 'bad-varint':
        // Six bytes with the continuation bit on all but the last: more than 32 bits.
        if (compact || uvarintOnly) return out.raw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
        return fixed(-2);
      case 'length-lie':
        return plain(Math.min(max - 1, Math.max(0, (n ?? 0) + this.#rng.pick([1, -1, 7, 1000]))));
      case 'negative-length':
        return compact || uvarintOnly ? out.uvarint(0) : fixed(this.#rng.pick([-2, -100, -(max + 1)]));
    }
  }
}
