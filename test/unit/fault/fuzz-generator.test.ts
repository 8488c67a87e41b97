/**
 * The input fault injector's own specification (test/fault/fuzz-*.ts), against the generated
 * codecs of every request the schemas define, at every version:
 * - what it calls structurally valid is: the codec decodes it, to the value it was built from,
 *   consuming every byte, unknown tagged fields and all;
 * - what it breaks on purpose is rejected by the codec with a DecodeError and nothing else (or,
 *   rarely, still decodes — a lying length can land on a valid encoding);
 * - a case is rebuilt from its seed alone, and a witness's topic is never named.
 */
import { describe, expect, it } from '@jest/globals';
import { decodeRequest } from '../../../src/protocol/frame.ts';
import { apis } from '../../../src/protocol/messages/index.ts';
import { DecodeError, inSpan, type MessageSchema, Reader } from '../../../src/protocol/primitives/index.ts';
import { SchemaEncoder } from '../../fault/fuzz-encode.ts';
import { Rng } from '../../fault/fuzz-random.ts';
import { buildCase, type CaseSpec } from '../../fault/fuzz-requests.ts';
import { type FuzzTargets, type FuzzValue, ValueGenerator } from '../../fault/fuzz-values.ts';

const WITNESS = 'witness-topic';
const WITNESS_ID = 'AAECAwQFBgcICQoLDA0ODw';
const targets: FuzzTargets = {
  topics: ['victim', WITNESS],
  topicIds: ['EBESExQVFhcYGRobHB0eHw', WITNESS_ID],
  groups: ['g1'],
  members: ['m1'],
  producerIds: [5],
  forbidden: new Set([WITNESS, WITNESS_ID]),
};
const versions = [...apis.values()].flatMap((api) =>
  Array.from({ length: api.maxVersion - api.minVersion + 1 }, (_, i) => ({
    api,
    version: api.minVersion + i,
  })),
);

/** `decoded` agrees with `sent` on every field the version carries. */
function agrees(
  schema: MessageSchema,
  version: number,
  struct: string,
  sent: FuzzValue,
  decoded: FuzzValue,
): string | null {
  for (const f of schema.structs[struct]!) {
    if (!inSpan(f.versions, version)) continue;
    const problem = same(schema, version, f.type, sent[f.property], decoded[f.property]);
    if (problem !== null) return `${struct}.${f.name}: ${problem}`;
  }
  return null;
}

function same(schema: MessageSchema, version: number, type: string, a: unknown, b: unknown): string | null {
  if (a === null || b === null) return a === b ? null : `${String(a)} != ${String(b)}`;
  if (type.startsWith('[]')) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return `length ${x.length} != ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      const problem = same(schema, version, type.slice(2), x[i], y[i]);
      if (problem !== null) return `[${i}] ${problem}`;
    }
    return null;
  }
  if (schema.structs[type]) return agrees(schema, version, type, a as FuzzValue, b as FuzzValue);
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) && a.equals(b) ? null : 'bytes differ';
  return Object.is(a, b) ? null : `${String(a)} != ${String(b)}`;
}

describe('fuzz generator > valid requests', () => {
  it('decode with the codecs to the values they were built from, at every version of every request', () => {
    let checked = 0;
    for (const { api, version } of versions) {
      const codec = api.request;
      for (let i = 0; i < 12; i++) {
        const rng = new Rng(api.apiKey * 1000 + version * 50 + i);
        const value = new ValueGenerator(rng, targets, codec.schema, version).message();
        const bytes = new SchemaEncoder(codec.schema, version, codec.flexibleFrom, rng, {
          unknownTags: 0.3,
        }).encode(value);
        const r = new Reader(bytes);
        const decoded = codec.read(r, version) as FuzzValue;
        const where = `${api.name} v${version} #${i}`;
        expect([where, r.remaining]).toEqual([where, 0]);
        expect([where, agrees(codec.schema, version, codec.schema.root, value, decoded)]).toEqual([
          where,
          null,
        ]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('fuzz generator > cases', () => {
  const spec = (version: (typeof versions)[number], index: number): CaseSpec => ({
    ...version,
    index,
    runSeed: 42,
    targets,
    unserved: { apiKeys: [57], versions: [version.api.maxVersion + 1] },
  });

  it('are broken only in ways the codecs reject with a DecodeError', () => {
    const kinds = new Map<string, number>();
    for (const v of versions) {
      for (let i = 0; i < 6; i++) {
        const c = buildCase(spec(v, i));
        kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
        if (c.kind === 'valid' || c.bytes.length < 4) continue;
        try {
          decodeRequest(c.bytes.subarray(4));
        } catch (err) {
          if (!(err instanceof DecodeError)) throw new Error(`${c.name}: ${String(err)}`);
        }
      }
    }
    expect(kinds.get('valid')).toBeGreaterThan(1000);
    expect(kinds.size).toBe(1 + 4 + 11);
  });

  it('are rebuilt from their seed alone', () => {
    for (const v of versions.filter((_, i) => i % 7 === 0)) {
      expect(buildCase(spec(v, 3)).bytes).toEqual(buildCase(spec(v, 3)).bytes);
    }
  });

  it('never name the witness topic or its id', () => {
    const hex = (s: string) => Buffer.from(s).toString('hex');
    const idHex = Buffer.from(WITNESS_ID, 'base64url').toString('hex');
    for (const v of versions) {
      for (let i = 0; i < 6; i++) {
        const bytes = buildCase(spec(v, i)).bytes.toString('hex');
        expect(bytes.includes(hex(WITNESS))).toBe(false);
        expect(bytes.includes(idHex)).toBe(false);
      }
    }
  });
});
