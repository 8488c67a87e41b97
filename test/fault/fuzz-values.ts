/**
 * Hostile values for the input fault injector: for one message version, a value of the generated
 * interface's shape (walked from the codec's `schema`) whose fields are plausible, extreme or
 * nonsensical — counts and partitions at -1 and 2^31-1, null wherever the version allows it, empty
 * and very long strings, unknown topics and ids, odd acks, records batches good and bad.
 *
 * Only fields the version carries are set; the rest are left out (the encoder skips them). Names
 * and ids in `targets.forbidden` (a witness client's topic) are never produced, so a request that a
 * fuzzer could make legitimately destructive (DeleteTopics, DeleteRecords, AlterConfigs…) cannot
 * touch what the witness checks. Time-like fields stay under a second: a long poll or a rebalance
 * that waits as long as it was told is not a hang, and would only slow the run down.
 */
import type { FieldSchema, MessageSchema } from '../../src/protocol/primitives/index.ts';
import { inSpan } from '../../src/protocol/primitives/index.ts';
import { ConsumerProtocolAssignment } from '../../src/protocol/messages/consumer-protocol-assignment.ts';
import { ConsumerProtocolSubscription } from '../../src/protocol/messages/consumer-protocol-subscription.ts';
import { SchemaEncoder } from './fuzz-encode.ts';
import { fuzzRecords } from './fuzz-records.ts';
import type { Rng } from './fuzz-random.ts';

export interface FuzzTargets {
  /** Topics requests may name besides random ones (never the witness's). */
  readonly topics: readonly string[];
  /** Their ids (base64url, as the codecs carry uuids). */
  readonly topicIds: readonly string[];
  readonly groups: readonly string[];
  /** Member ids of a live group member, so group requests get past "unknown member". */
  readonly members: readonly string[];
  /** Producer ids the broker handed out (InitProducerId), so idempotent writes reach their checks. */
  readonly producerIds: readonly number[];
  /** Names and ids no request may carry: drawn by chance, they are replaced. */
  readonly forbidden: ReadonlySet<string>;
}

export type FuzzValue = Record<string, unknown>;

const INT_LIMITS: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** A fixed recent time (2026-11), so that a case's bytes depend on its seed alone. */
export const RECENT = 1_796_000_000_000;

const CONFIG_NAMES = [
  'retention.ms',
  'retention.bytes',
  'cleanup.policy',
  'min.insync.replicas',
  'max.message.bytes',
  'segment.bytes',
  'message.timestamp.type',
  'compression.type',
  'no.such.config',
  '',
];
const CONFIG_VALUES = ['-1', '0', '1', '-2', 'compact', 'delete,compact', 'abc', '9223372036854775808', ''];

/** Per message: how many array elements may still be drawn (keeps a frame to tens of kilobytes). */
interface Budget {
  elements: number;
  /** Bytes of long strings, bytes and records fields. */
  bytes: number;
}

export class ValueGenerator {
  readonly #rng: Rng;
  readonly #targets: FuzzTargets;
  readonly #schema: MessageSchema;
  readonly #version: number;
  readonly #budget: Budget = { elements: 300, bytes: 150_000 };

  constructor(rng: Rng, targets: FuzzTargets, schema: MessageSchema, version: number) {
    this.#rng = rng;
    this.#targets = targets;
    this.#schema = schema;
    this.#version = version;
  }

  message(): FuzzValue {
    return this.#struct(this.#schema.root);
  }

  #struct(name: string): FuzzValue {
    const fields = this.#schema.structs[name];
    if (!fields) throw new Error(`no struct ${name} in ${this.#schema.root}`);
    const out: FuzzValue = {};
    for (const f of fields) {
      if (inSpan(f.versions, this.#version)) {
        out[f.property] = this.#field(f, name, f.type, inSpan(f.nullable, this.#version));
      }
    }
    return out;
  }

  /** `nullable`: whether the version allows null here (never for an array's elements). */
  #field(f: FieldSchema, struct: string, type: string, nullable: boolean): unknown {
    const rng = this.#rng;
    if (type.startsWith('[]')) {
      if (nullable && rng.chance(0.15)) return null;
      const element = type.slice(2);
      const n = this.#count(element);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.#field(f, struct, element, false));
      return out;
    }
    if (this.#schema.structs[type] !== undefined) {
      if (nullable && rng.chance(0.2)) return null;
      return this.#struct(type);
    }
    if (nullable && rng.chance(0.15)) return null;
    return this.#primitive(f, struct, type);
  }

  #count(element: string): number {
    const rng = this.#rng;
    const budget = this.#budget;
    let n = rng.pick([0, 1, 1, 1, 2, 3]);
    if (rng.chance(0.05)) n = rng.int(4, this.#schema.structs[element] ? 20 : 200);
    n = Math.min(n, budget.elements);
    budget.elements -= n;
    return n;
  }

  #primitive(f: FieldSchema, struct: string, type: string): unknown {
    const rng = this.#rng;
    switch (type) {
      case 'bool':
        return rng.chance(0.5);
      case 'int64':
        return this.#int64(f.name);
      case 'float64':
        return rng.pick([0, -1, 1.5, Number.NaN, Infinity, -Infinity, Number.MAX_VALUE]);
      case 'uuid':
        return this.#uuid();
      case 'string':
        return this.#string(f.name, struct);
      case 'bytes':
        if (/^(Metadata|Assignment)$/.test(f.name) && rng.chance(0.5)) return this.#consumerProtocol(f.name);
        return rng.bytes(this.#spend(rng.pick([0, rng.int(1, 64), rng.int(100, 4000)])));
      case 'records': {
        const records = fuzzRecords(rng, this.#targets.producerIds);
        return this.#spend(records.length) === records.length ? records : Buffer.alloc(0);
      }
      default: {
        const limits = INT_LIMITS[type];
        if (!limits) throw new Error(`unknown type ${type} of ${struct}.${f.name}`);
        return this.#int(f.name, limits);
      }
    }
  }

  /**
   * A group member's subscription or assignment, as the consumer protocol encodes it (an int16
   * version, then the struct), itself built hostile from its schema: the coordinator reads these.
   */
  #consumerProtocol(field: string): Buffer {
    const rng = this.#rng;
    const codec = field === 'Metadata' ? ConsumerProtocolSubscription : ConsumerProtocolAssignment;
    const version = rng.int(codec.minVersion, codec.maxVersion);
    const value = new ValueGenerator(rng, this.#targets, codec.schema, version).message();
    const body = new SchemaEncoder(codec.schema, version, codec.flexibleFrom, rng).encode(value);
    const head = Buffer.alloc(2);
    head.writeInt16BE(rng.chance(0.9) ? version : rng.pick([codec.maxVersion + 1, -1, 32767]));
    return Buffer.concat([head, body]);
  }

  #int(name: string, [min, max]: [number, number]): number {
    const rng = this.#rng;
    const clamp = (v: number): number => Math.min(max, Math.max(min, v));
    // Sessions at or above group.min.session.timeout.ms (6 s by default) let a member in; a session
    // is not a wait, since a rebalance waits on rebalance timeouts, which stay short.
    if (name === 'SessionTimeoutMs') return clamp(rng.pick([-1, 0, 500, 6000, 10_000]));
    if (/timeout|wait|delay|ms$|backoff/i.test(name)) {
      return clamp(rng.pick([-1, 0, 1, 50, 200, 500, min]));
    }
    if (name === 'Acks') return clamp(rng.pick([-1, 0, 1, -1, 1, 2, -2, max, min]));
    // Creating thousands of partitions is a load, not a fault (a broker takes milliseconds over each):
    // counts are either small or beyond Kafka's 10,000 new partitions per request, and refused.
    if (/^(NumPartitions|Count|ReplicationFactor)$/.test(name)) {
      return clamp(rng.pick([-2, -1, 0, 1, 2, 3, 5, 20_000, max, min]));
    }
    if (/partition|index$|broker|node|replica|leader/i.test(name)) {
      return clamp(rng.pick([0, 0, 1, 2, -1, -2, max, min, rng.int(0, 100)]));
    }
    if (rng.chance(0.6)) return clamp(rng.pick([0, 1, 2, 3, -1]));
    return clamp(rng.pick([min, max, min + 1, max - 1, rng.int(min, max)]));
  }

  #int64(name: string): bigint {
    const rng = this.#rng;
    const MAX = (1n << 63n) - 1n;
    const MIN = -(1n << 63n);
    if (/timestamp|time$/i.test(name)) return rng.pick([-1n, -2n, -3n, 0n, BigInt(RECENT), MAX, MIN]);
    if (name === 'ProducerId' && this.#targets.producerIds.length > 0 && rng.chance(0.5)) {
      return BigInt(rng.pick(this.#targets.producerIds));
    }
    if (rng.chance(0.6)) return rng.pick([0n, 1n, 2n, 5n, 100n, -1n, -2n]);
    return rng.pick([MAX, MIN, MAX - 1n, rng.int64(), -3n]);
  }

  #uuid(): string {
    const rng = this.#rng;
    const known = this.#targets.topicIds;
    const candidate = rng.chance(0.4) && known.length > 0 ? rng.pick(known) : null;
    const id =
      candidate ?? (rng.chance(0.3) ? 'AAAAAAAAAAAAAAAAAAAAAA' : rng.bytes(16).toString('base64url'));
    return this.#targets.forbidden.has(id) ? rng.bytes(16).toString('base64url') : id;
  }

  #string(name: string, struct: string): string {
    const s = this.#stringOf(name, struct);
    return this.#targets.forbidden.has(s) ? `fuzz-${this.#rng.bytes(6).toString('hex')}` : s;
  }

  #stringOf(name: string, struct: string): string {
    const rng = this.#rng;
    const roll = rng.next();
    if (roll < 0.25) return this.#wild();
    if (/config/i.test(struct) && /^(Name|Value|ConfigName)$/.test(name)) {
      return name === 'Value' ? rng.pick(CONFIG_VALUES) : rng.pick(CONFIG_NAMES);
    }
    if (/topic|^name$|resourcename/i.test(name)) {
      if (roll < 0.75 && this.#targets.topics.length > 0) return rng.pick(this.#targets.topics);
      return rng.pick([`fuzz-${rng.bytes(4).toString('hex')}`, '__consumer_offsets', 'a', '.', '..']);
    }
    if (/group/i.test(name) && this.#targets.groups.length > 0 && roll < 0.75) {
      return rng.pick(this.#targets.groups);
    }
    if (/member/i.test(name) && this.#targets.members.length > 0 && roll < 0.75) {
      return rng.pick(this.#targets.members);
    }
    return rng.pick(['', 'a', `fuzz-${rng.bytes(4).toString('hex')}`]);
  }

  /** `n` when the budget has that many bytes left (and takes them), else 0. */
  #spend(n: number): number {
    if (n > this.#budget.bytes) return 0;
    this.#budget.bytes -= n;
    return n;
  }

  /** Strings any field may get: empty, odd characters, long, as long as a non-compact string can be. */
  #wild(): string {
    const rng = this.#rng;
    switch (rng.int(0, 6)) {
      case 0:
        return '';
      case 1:
        return 'x'.repeat(this.#spend(rng.int(250, 300)));
      case 2:
        return 'y'.repeat(this.#spend(rng.chance(0.5) ? 32767 : rng.int(1000, 5000)));
      case 3:
        return 'ü€😀\u0000/\\..';
      case 4:
        return rng.bytes(rng.int(1, 40)).toString('latin1');
      case 5:
        return '__proto__';
      default:
        return `-${rng.int(0, 99)}`;
    }
  }
}
