/**
 * Hostile requests, one case at a time, for any (API key, version): the input fault injector's
 * entry point, shared by the integration test and any longer soak.
 *
 * A case is one of
 * - `valid`: a structurally valid request with adversarial values (./fuzz-values.ts), sometimes
 *   with unknown tagged fields and an odd client id;
 * - a sabotaged body (./fuzz-encode.ts): the same with one count or length prefix damaged;
 * - a broken frame (./fuzz-frames.ts): truncated, padded, a size prefix that lies, a header naming
 *   an unknown API or an unsupported version.
 * Each is rebuilt from (seed, API, version, index) alone; `describeCase` names it for a failure message.
 */
import { requestHeaderVersion } from '../../src/protocol/frame.ts';
import { type ApiDescriptor, ApiKey } from '../../src/protocol/messages/index.ts';
import { SABOTAGES, type Sabotage, SchemaEncoder } from './fuzz-encode.ts';
import { FRAME_FAULTS, type FrameFault, type Unserved, breakFrame } from './fuzz-frames.ts';
import { caseSeed, Rng } from './fuzz-random.ts';
import { type FuzzTargets, type FuzzValue, ValueGenerator } from './fuzz-values.ts';

export type CaseKind = 'valid' | Sabotage | FrameFault;

export interface FuzzCase {
  /** e.g. "Produce v9 #3 (length-lie)". */
  readonly name: string;
  readonly seed: number;
  readonly apiKey: number;
  readonly version: number;
  readonly kind: CaseKind;
  readonly correlationId: number;
  /** What to write, size prefix included. */
  readonly bytes: Buffer;
  /**
   * The client half-closes after writing: the frame was left incomplete or misaligned on purpose,
   * and nothing can follow it. Otherwise a probe may pipeline another request behind it.
   */
  readonly finAfter: boolean;
  /**
   * False when the request, if accepted, gets no response: a valid Produce with acks=0. (Once a
   * prefix is sabotaged, what the broker reads as acks is anyone's guess: such cases stay true.)
   */
  readonly answerable: boolean;
  /** The decoded request the bytes were built from (`valid` and sabotaged cases). */
  readonly value: FuzzValue | null;
}

export interface CaseSpec {
  api: ApiDescriptor;
  version: number;
  index: number;
  runSeed: number;
  targets: FuzzTargets;
  /** For the header faults: keys the broker does not serve, versions of this API it does not. */
  unserved: Unserved;
}

/** The request header, written by hand so its client id and tagged fields can be odd too. */
export function encodeHeader(
  apiKey: number,
  version: number,
  correlationId: number,
  clientId: string | null,
  headerVersion: number,
  rng: Rng | null,
): Buffer {
  const id = clientId === null ? null : Buffer.from(clientId, 'utf8');
  const head = Buffer.alloc(8 + (headerVersion >= 1 ? 2 : 0));
  head.writeInt16BE(apiKey, 0);
  head.writeInt16BE(version, 2);
  head.writeInt32BE(correlationId, 4);
  if (headerVersion >= 1) head.writeInt16BE(id === null ? -1 : id.length, 8);
  const parts = [head];
  if (headerVersion >= 1 && id !== null) parts.push(id);
  if (headerVersion >= 2) {
    // No tagged fields, or one unknown one: a broker must skip what it does not know.
    parts.push(rng?.chance(0.2) ? Buffer.from([1, 0x7f, 2, 0xab, 0xcd]) : Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

export function frameOf(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function pickKind(rng: Rng): CaseKind {
  const roll = rng.next();
  if (roll < 0.6) return 'valid';
  if (roll < 0.8) return rng.pick(SABOTAGES);
  return rng.pick(FRAME_FAULTS);
}

export function buildCase(spec: CaseSpec): FuzzCase {
  const { api, version, index } = spec;
  const name = `${api.name} v${version} #${index}`;
  const seed = caseSeed(spec.runSeed, name);
  const rng = new Rng(seed);
  const kind = pickKind(rng);
  const correlationId = rng.int(-(2 ** 31), 2 ** 31 - 1);
  const codec = api.request;
  const value = new ValueGenerator(rng, spec.targets, codec.schema, version).message();
  const unknownTags = kind === 'valid' ? 0.2 : 0;
  const encoder = new SchemaEncoder(codec.schema, version, codec.flexibleFrom, rng, { unknownTags });
  let body = encoder.encode(value);
  if ((SABOTAGES as readonly string[]).includes(kind) && encoder.sites > 0) {
    const sabotage = { site: rng.int(0, encoder.sites - 1), kind: kind as Sabotage };
    body = new SchemaEncoder(codec.schema, version, codec.flexibleFrom, rng, { sabotage }).encode(value);
  }
  const clientId = rng.pick<string | null>([
    'fuzz',
    'fuzz',
    'fuzz',
    null,
    '',
    'z'.repeat(300),
    'z'.repeat(32767),
  ]);
  const header = encodeHeader(
    api.apiKey,
    version,
    correlationId,
    clientId,
    requestHeaderVersion(api.apiKey, version),
    rng,
  );
  const frame = frameOf(header, body);
  const acks0 = kind === 'valid' && api.apiKey === ApiKey.Produce && value['acks'] === 0;
  const base = { seed, apiKey: api.apiKey, version, correlationId, value, answerable: !acks0 };
  if ((FRAME_FAULTS as readonly string[]).includes(kind)) {
    const broken = breakFrame(rng, kind as FrameFault, frame, header.length, spec.unserved);
    return { ...base, name: `${name} (${kind})`, kind, bytes: broken, finAfter: true, value: null };
  }
  return { ...base, name: `${name} (${kind})`, kind, bytes: frame, finAfter: false };
}

/** How to replay a case: the environment and the name, for a failure message. */
export function describeCase(c: FuzzCase, runSeed: number): string {
  return `${c.name} [TRIBUTARY_FUZZ_SEED=${runSeed}, case seed ${c.seed}, correlation id ${c.correlationId}]`;
}
