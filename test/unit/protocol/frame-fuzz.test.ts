/**
 * Hostile frames: whatever bytes a peer sends, decoding fails only with our DecodeError, in time
 * proportional to the frame, and without allocating beyond the frame's size.
 *
 * The allocation bound is checked by instrumentation, not by watching process memory (which GC
 * makes too noisy to mean anything): while a frame is decoded, the global Array, ArrayBuffer and
 * typed-array constructors and Buffer's allocators report every size asked of them, and the
 * largest must not exceed the frame's length. This matters because `new Array(2 ** 31 - 1)` is
 * cheap in V8 (a sparse array) and a decoder that trusted a wire count would still fail "safely"
 * a moment later — only the instrumentation tells the difference. Successful decodes are also
 * checked to return bytes fields as views of the frame (zero-copy), never as copies.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeRequest, decodeResponse, requestHeaderVersion } from '../../../src/protocol/frame.ts';
import { ApiKey, apis } from '../../../src/protocol/messages/index.ts';
import { DecodeError } from '../../../src/protocol/primitives/index.ts';

interface Golden {
  name: string;
  apiKey: number;
  version: number;
  kind: 'request' | 'response';
  frame: Buffer;
}

const fixtureDir = path.resolve(import.meta.dirname, '../../fixtures/frames');
const golden: Golden[] = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const j = JSON.parse(readFileSync(path.join(fixtureDir, f), 'utf8')) as Omit<Golden, 'frame'> & {
      hex: string;
    };
    return { name: f, apiKey: j.apiKey, version: j.version, kind: j.kind, frame: Buffer.from(j.hex, 'hex') };
  });
const goldenRequests = golden.filter((g) => g.kind === 'request');
const goldenResponses = golden.filter((g) => g.kind === 'response');

// --- instrumentation --------------------------------------------------------------------------

interface Outcome {
  value?: unknown;
  error?: unknown;
  /** The largest element count or byte size any allocation asked for. */
  largestAllocation: number;
  ms: number;
}

const sizeOf = (args: unknown[]) => (typeof args[0] === 'number' ? args[0] : 0);

function counting<T extends object>(target: T, record: (n: number) => void): T {
  return new Proxy(target, {
    construct(t, args, newTarget) {
      record(sizeOf(args));
      return Reflect.construct(t as new (...a: unknown[]) => object, args, newTarget) as object;
    },
    apply(t, self, args) {
      record(sizeOf(args));
      return Reflect.apply(t as (...a: unknown[]) => unknown, self, args);
    },
  });
}

const GLOBALS = [
  'Array',
  'ArrayBuffer',
  'SharedArrayBuffer',
  'Uint8Array',
  'Int32Array',
  'Float64Array',
] as const;
const BUFFER_ALLOCATORS = ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const;

/** Runs one decode with every allocator reporting its size. */
function instrumented(run: () => unknown): Outcome {
  let largest = 0;
  const record = (n: number) => {
    if (n > largest) largest = n;
  };
  const g = globalThis as unknown as Record<string, object>;
  const savedGlobals = GLOBALS.map((k) => g[k]!);
  const b = Buffer as unknown as Record<string, (...a: unknown[]) => unknown>;
  const savedBuffer = BUFFER_ALLOCATORS.map((k) => b[k]!);
  GLOBALS.forEach((k, i) => (g[k] = counting(savedGlobals[i]!, record)));
  BUFFER_ALLOCATORS.forEach((k, i) => (b[k] = counting(savedBuffer[i]!, record)));
  const start = performance.now();
  try {
    return { value: run(), largestAllocation: largest, ms: performance.now() - start };
  } catch (error) {
    return { error, largestAllocation: largest, ms: performance.now() - start };
  } finally {
    GLOBALS.forEach((k, i) => (g[k] = savedGlobals[i]!));
    BUFFER_ALLOCATORS.forEach((k, i) => (b[k] = savedBuffer[i]!));
  }
}

/** Every Buffer in a decoded value must be a view into the frame's own memory; returns a fault. */
function copiedBytes(frame: Buffer, value: unknown): string | undefined {
  if (Buffer.isBuffer(value)) {
    const inside =
      value.buffer === frame.buffer &&
      value.byteOffset >= frame.byteOffset &&
      value.byteOffset + value.length <= frame.byteOffset + frame.length;
    return inside ? undefined : `a bytes field of ${value.length} bytes is not a view of the frame`;
  }
  if (value !== null && typeof value === 'object') {
    for (const e of Object.values(value)) {
      const fault = copiedBytes(frame, e);
      if (fault) return fault;
    }
  }
  return undefined;
}

/** A generous bound: a decode that looped on a wire count would take seconds, not this. */
const MAX_MS = 250;

/**
 * Checked without `expect` on the happy path: these run tens of thousands of times, and a plain
 * comparison keeps the file fast.
 */
function expectSafe(frame: Buffer, o: Outcome): void {
  if (o.error !== undefined && !(o.error instanceof DecodeError)) throw o.error; // the real stack
  const fault =
    (o.error === undefined ? copiedBytes(frame, o.value) : undefined) ??
    (o.largestAllocation > frame.length
      ? `allocated ${o.largestAllocation} for a frame of ${frame.length} bytes`
      : undefined) ??
    (o.ms >= MAX_MS ? `took ${o.ms} ms` : undefined);
  if (fault) throw new Error(`${fault}; frame ${frame.toString('hex')}`);
}

const requestOutcome = (frame: Buffer) => instrumented(() => decodeRequest(frame));
const responseOutcome = (frame: Buffer, apiKey: number, version: number) =>
  instrumented(() => decodeResponse(frame, apiKey, version));

// --- frame building for hand-made hostile frames ----------------------------------------------

const i16 = (v: number) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
function uvarint(v: number): Buffer {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}
const str = (s: string) => Buffer.concat([i16(Buffer.byteLength(s)), Buffer.from(s)]);

/** A request header at the version the API's request version implies, then `body`. */
function request(apiKey: number, version: number, ...body: Buffer[]): Buffer {
  const flexible = requestHeaderVersion(apiKey, version) === 2;
  return Buffer.concat([
    i16(apiKey),
    i16(version),
    i32(42),
    str('fuzz'),
    ...(flexible ? [uvarint(0)] : []),
    ...body,
  ]);
}

/** Pads a frame to 100 bytes with bytes that look like more data. */
const padded = (frame: Buffer) => Buffer.concat([frame, Buffer.alloc(Math.max(0, 100 - frame.length), 0x61)]);

const TWO_GB = 0x7fffffff;

// --- tests ------------------------------------------------------------------------------------

/**
 * Every prefix of a frame, except that past the first kilobyte of a large frame only every 61st
 * and the last 64 are tried: their decodes cost as much as the frame, and the cut points a large
 * frame adds (inside long strings and bytes) are alike.
 */
function* prefixLengths(length: number): Generator<number> {
  for (let n = 0; n < length; n++) {
    if (n < 1024 || n % 61 === 0 || n >= length - 64) yield n;
  }
}

describe('protocol > frame > hostile input', () => {
  it('has real frames to start from', () => {
    expect(goldenRequests.length).toBeGreaterThan(20);
    expect(goldenResponses.length).toBeGreaterThan(20);
  });

  describe('truncation', () => {
    it.each(goldenRequests.map((g) => [g.name, g] as const))(
      'prefixes of %s fail with DecodeError',
      (_name, g) => {
        // The Java client read each frame to its last byte, so no strict prefix is a whole request.
        for (const n of prefixLengths(g.frame.length)) {
          const prefix = g.frame.subarray(0, n);
          const o = requestOutcome(prefix);
          expect(o.error).toBeInstanceOf(DecodeError);
          expectSafe(prefix, o);
        }
      },
    );

    it.each(goldenResponses.map((g) => [g.name, g] as const))(
      'prefixes of %s fail with DecodeError',
      (_name, g) => {
        for (const n of prefixLengths(g.frame.length)) {
          const prefix = g.frame.subarray(0, n);
          const o = responseOutcome(prefix, g.apiKey, g.version);
          expect(o.error).toBeInstanceOf(DecodeError);
          expectSafe(prefix, o);
        }
      },
    );
  });

  describe('lengths claiming far more than the frame holds', () => {
    const hostileRequests: [string, Buffer][] = [
      ['an int32 array count of 2 GB (Metadata v0 topics)', request(ApiKey.Metadata, 0, i32(TWO_GB))],
      ['a compact array count of 4 G (Metadata v9 topics)', request(ApiKey.Metadata, 9, uvarint(0xffffffff))],
      [
        'an int32 bytes length of 2 GB (SaslAuthenticate v0)',
        request(ApiKey.SaslAuthenticate, 0, i32(TWO_GB)),
      ],
      [
        'a compact bytes length of 2 GB (SaslAuthenticate v2)',
        request(ApiKey.SaslAuthenticate, 2, uvarint(TWO_GB)),
      ],
      ['a string length of 32767 (JoinGroup v0 group id)', request(ApiKey.JoinGroup, 0, i16(0x7fff))],
      [
        'a compact string length of 2 GB (JoinGroup v6 group id)',
        request(ApiKey.JoinGroup, 6, uvarint(TWO_GB)),
      ],
      [
        'a records length of 2 GB (Produce v3)',
        request(
          ApiKey.Produce,
          3,
          i16(-1),
          i16(-1),
          i32(30000),
          i32(1),
          str('t'),
          i32(1),
          i32(0),
          i32(TWO_GB),
        ),
      ],
      [
        'a nested array count of 2 GB (CreateTopics v0 assignments)',
        request(ApiKey.CreateTopics, 0, i32(1), str('t'), i32(1), i16(1), i32(TWO_GB)),
      ],
      [
        'a nested array count of 2 GB (Fetch v4 partitions)',
        request(
          ApiKey.Fetch,
          4,
          i32(-1),
          i32(500),
          i32(1),
          i32(1 << 20),
          Buffer.from([0]),
          i32(1),
          str('t'),
          i32(TWO_GB),
        ),
      ],
      [
        'a tagged field of 2 GB (ApiVersions v3 body)',
        request(ApiKey.ApiVersions, 3, uvarint(0), uvarint(0), uvarint(1), uvarint(0), uvarint(TWO_GB)),
      ],
      [
        'a tagged-field count of 4 G (ApiVersions v3 body)',
        request(ApiKey.ApiVersions, 3, uvarint(0), uvarint(0), uvarint(0xffffffff)),
      ],
      [
        'a header tagged field of 2 GB (Metadata v12)',
        Buffer.concat([
          i16(ApiKey.Metadata),
          i16(12),
          i32(1),
          str('c'),
          uvarint(1),
          uvarint(7),
          uvarint(TWO_GB),
        ]),
      ],
      ['a varint that never ends (Metadata v9 topics)', request(ApiKey.Metadata, 9, Buffer.alloc(10, 0xff))],
    ];

    it.each(hostileRequests)('%s is a DecodeError, not an allocation', (_what, frame) => {
      const f = padded(frame);
      const o = requestOutcome(f);
      expect(o.error).toBeInstanceOf(DecodeError);
      expectSafe(f, o);
    });

    const hostileResponses: [string, number, number, Buffer][] = [
      ['a broker count of 2 GB (Metadata v1)', ApiKey.Metadata, 1, Buffer.concat([i32(1), i32(TWO_GB)])],
      [
        'a records length of 2 GB (Fetch v4)',
        ApiKey.Fetch,
        4,
        Buffer.concat([
          ...[i32(1), i32(0)], // correlation id, throttle
          ...[i32(1), str('t'), i32(1)], // one topic, one partition
          ...[i32(0), i16(0), i32(0), i32(9), i32(0), i32(9)], // index, error, high watermark, last stable
          ...[i32(-1), i32(TWO_GB)], // no aborted transactions, records
        ]),
      ],
      [
        'an api count of 4 G (ApiVersions v3)',
        ApiKey.ApiVersions,
        3,
        Buffer.concat([i32(1), i16(0), uvarint(0xffffffff)]),
      ],
      [
        'a member count of 2 GB (JoinGroup v5)',
        ApiKey.JoinGroup,
        5,
        Buffer.concat([i32(1), i32(0), i16(0), i32(1), str('p'), str('l'), str('m'), i32(TWO_GB)]),
      ],
    ];

    it.each(hostileResponses)('%s is a DecodeError, not an allocation', (_what, apiKey, version, frame) => {
      const f = padded(frame);
      const o = responseOutcome(f, apiKey, version);
      expect(o.error).toBeInstanceOf(DecodeError);
      expectSafe(f, o);
    });

    it('the instrumentation sees what a trusting decoder would allocate', () => {
      // Guards the guard: were the bound missing, this is the allocation the check would catch.
      const o = instrumented(() => new Array(TWO_GB));
      expect(o.largestAllocation).toBe(TWO_GB);
    });

    it("the instrumentation sees the decoders' own allocations", () => {
      // An ApiVersions v0 response with 3 entries: the decoder's `new Array(3)` must be reported,
      // or the bound above would hold vacuously.
      const entry = Buffer.concat([i16(0), i16(0), i16(9)]);
      const frame = Buffer.concat([i32(1), i16(0), i32(3), entry, entry, entry]);
      const o = responseOutcome(frame, ApiKey.ApiVersions, 0);
      expect(o.error).toBeUndefined();
      expect(o.largestAllocation).toBe(3);
    });
  });

  describe('random bytes', () => {
    const known = [...apis.values()];
    const anyApi = fc.constantFrom(...known).chain((api) =>
      fc.record({
        apiKey: fc.constant(api.apiKey),
        version: fc.integer({ min: api.minVersion, max: api.maxVersion }),
      }),
    );

    it('random frames only ever fail with DecodeError', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
          const frame = Buffer.from(bytes);
          expectSafe(frame, requestOutcome(frame));
        }),
        { numRuns: 3000 },
      );
    });

    it('random bodies behind a valid header only ever fail with DecodeError', () => {
      fc.assert(
        fc.property(anyApi, fc.uint8Array({ maxLength: 200 }), ({ apiKey, version }, body) => {
          const frame = request(apiKey, version, Buffer.from(body));
          expectSafe(frame, requestOutcome(frame));
        }),
        { numRuns: 6000 },
      );
    });

    it('random response frames only ever fail with DecodeError', () => {
      fc.assert(
        fc.property(anyApi, fc.uint8Array({ maxLength: 200 }), ({ apiKey, version }, bytes) => {
          const frame = Buffer.from(bytes);
          expectSafe(frame, responseOutcome(frame, apiKey, version));
        }),
        { numRuns: 4000 },
      );
    });
  });

  describe('bit flips in real frames', () => {
    const flips = (g: Golden) =>
      fc.uniqueArray(fc.nat({ max: g.frame.length * 8 - 1 }), { minLength: 1, maxLength: 4 }).map((bits) => {
        const frame = Buffer.from(g.frame);
        for (const bit of bits) frame[bit >> 3]! ^= 0x80 >> (bit & 7);
        return frame;
      });

    it('requests with flipped bits decode or fail with DecodeError', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...goldenRequests).chain((g) => flips(g)),
          (frame) => expectSafe(frame, requestOutcome(frame)),
        ),
        { numRuns: 5000 },
      );
    });

    it('responses with flipped bits decode or fail with DecodeError', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...goldenResponses).chain((g) => fc.tuple(fc.constant(g), flips(g))),
          ([g, frame]) => expectSafe(frame, responseOutcome(frame, g.apiKey, g.version)),
        ),
        { numRuns: 5000 },
      );
    });
  });
});
