import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from '../../../src/protocol/consumer-protocol.ts';
import { DecodeError, EncodeError } from '../../../src/protocol/primitives/index.ts';

const require = createRequire(import.meta.url);
const { MemberMetadata, MemberAssignment } = require('kafkajs/src/consumer/assignerProtocol.js') as {
  MemberMetadata: {
    encode(m: { version: number; topics: string[]; userData?: Buffer }): Buffer;
    decode(b: Buffer): { version: number; topics: string[]; userData: Buffer | null };
  };
  MemberAssignment: {
    encode(a: { version: number; assignment: Record<string, number[]>; userData?: Buffer }): Buffer;
    decode(
      b: Buffer,
    ): { version: number; assignment: Record<string, number[]>; userData: Buffer | null } | null;
  };
};

const topic = fc.stringMatching(/^[a-zA-Z0-9._-]{1,30}$/);
const topics = fc.uniqueArray(topic, { maxLength: 5, selector: (t) => t });
const userData = fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b));
const partitions = fc.array(fc.nat({ max: 999 }), { maxLength: 6 });
/** kafkajs keys assignments by topic, so topics are unique and in insertion order. */
// kafkajs decodes assignments into a plain object, where a topic named "__proto__" cannot be a key.
const assignmentMap = fc
  .uniqueArray(
    fc.tuple(
      topic.filter((t) => t !== '__proto__'),
      partitions,
    ),
    { maxLength: 4, selector: ([t]) => t },
  )
  .map((entries) => Object.fromEntries(entries));
const version = fc.integer({ min: 0, max: 3 });

describe('protocol > consumer protocol > subscription', () => {
  it('reads the JoinGroup metadata kafkajs writes', () => {
    fc.assert(
      fc.property(topics, userData, (t, u) => {
        // kafkajs's assigners all write version 0.
        const decoded = decodeSubscription(MemberMetadata.encode({ version: 0, topics: t, userData: u }));
        expect(decoded).toEqual({
          version: 0,
          topics: t,
          userData: u,
          ownedPartitions: [],
          generationId: -1,
          rackId: null,
        });
      }),
    );
  });

  it('writes JoinGroup metadata kafkajs reads, at every version', () => {
    // kafkajs reads the v0 fields and ignores what newer versions append, as a group leader must.
    fc.assert(
      fc.property(version, topics, fc.option(userData, { nil: null }), (v, t, u) => {
        const bytes = encodeSubscription(
          {
            topics: t,
            userData: u,
            ownedPartitions: [{ topic: 'orders', partitions: [0, 3] }],
            generationId: 4,
          },
          v,
        );
        expect(MemberMetadata.decode(bytes)).toEqual({ version: v, topics: t, userData: u });
      }),
    );
  });

  it('round-trips every field a version carries', () => {
    fc.assert(
      fc.property(
        topics,
        fc.option(userData, { nil: null }),
        fc.uniqueArray(fc.record({ topic, partitions }), { maxLength: 3, selector: (p) => p.topic }),
        fc.integer({ min: -1, max: 1000 }),
        fc.option(fc.constantFrom('us-east-1a', 'rack-2'), { nil: null }),
        (t, u, owned, generationId, rackId) => {
          const sub = { topics: t, userData: u, ownedPartitions: owned, generationId, rackId };
          expect(decodeSubscription(encodeSubscription(sub, 3))).toEqual({ ...sub, version: 3 });
          expect(decodeSubscription(encodeSubscription(sub, 1))).toEqual({
            ...sub,
            generationId: -1,
            rackId: null,
            version: 1,
          });
        },
      ),
    );
  });

  it('reads a newer version with the newest layout it knows, ignoring what follows', () => {
    const v3 = encodeSubscription({ topics: ['orders'], generationId: 9, rackId: 'r1' }, 3);
    const future = Buffer.concat([v3, Buffer.from([0, 0, 0, 1, 42])]);
    future.writeInt16BE(7, 0);
    expect(decodeSubscription(future)).toEqual({
      version: 7,
      topics: ['orders'],
      userData: null,
      ownedPartitions: [],
      generationId: 9,
      rackId: 'r1',
    });
  });

  it('gives user data as a view of the metadata, not a copy', () => {
    const bytes = encodeSubscription({ topics: ['a'], userData: Buffer.from('hello') }, 0);
    expect(decodeSubscription(bytes).userData!.buffer).toBe(bytes.buffer);
  });

  it('rejects a negative version, a truncated payload, and a version it cannot write', () => {
    const bytes = encodeSubscription({ topics: ['orders'] }, 1);
    const negative = Buffer.from(bytes);
    negative.writeInt16BE(-1, 0);
    expect(() => decodeSubscription(negative)).toThrow(DecodeError);
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeSubscription(bytes.subarray(0, n))).toThrow(DecodeError);
    }
    expect(() => encodeSubscription({ topics: [] }, 4)).toThrow(EncodeError);
    expect(() => encodeSubscription({ topics: [] }, -1)).toThrow(EncodeError);
  });
});

describe('protocol > consumer protocol > assignment', () => {
  it('reads the SyncGroup assignment kafkajs writes', () => {
    fc.assert(
      fc.property(version, assignmentMap, userData, (v, a, u) => {
        const decoded = decodeAssignment(MemberAssignment.encode({ version: v, assignment: a, userData: u }));
        expect(decoded).toEqual({
          version: v,
          assignedPartitions: Object.entries(a).map(([t, p]) => ({ topic: t, partitions: p })),
          userData: u,
        });
      }),
    );
  });

  it('writes SyncGroup assignments kafkajs reads, at every version', () => {
    fc.assert(
      fc.property(version, assignmentMap, fc.option(userData, { nil: null }), (v, a, u) => {
        const bytes = encodeAssignment(
          {
            assignedPartitions: Object.entries(a).map(([t, p]) => ({ topic: t, partitions: p })),
            userData: u,
          },
          v,
        );
        expect(MemberAssignment.decode(bytes)).toEqual({ version: v, assignment: a, userData: u });
      }),
    );
  });

  it('reads a newer version with the newest layout it knows', () => {
    const bytes = encodeAssignment({ assignedPartitions: [{ topic: 'orders', partitions: [1] }] }, 3);
    bytes.writeInt16BE(12, 0);
    expect(decodeAssignment(Buffer.concat([bytes, Buffer.from([9, 9])]))).toEqual({
      version: 12,
      assignedPartitions: [{ topic: 'orders', partitions: [1] }],
      userData: null,
    });
  });

  it('rejects an empty payload (what a broker sends with an error) as the Java client does', () => {
    expect(() => decodeAssignment(Buffer.alloc(0))).toThrow(DecodeError);
  });
});

describe('protocol > consumer protocol > golden payloads from the Java client', () => {
  // Written by kafka-clients 3.9.1's ConsumerProtocol: see test/fixtures/frames/README.md.
  const dir = path.resolve(import.meta.dirname, '../../fixtures/frames/consumer-protocol');
  const fixtures = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const j = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
        kind: 'subscription' | 'assignment';
        version: number;
        hex: string;
        value: Record<string, unknown>;
      };
      return [f, j] as const;
    });

  /** Bytes as hex, as the fixtures hold them. */
  const asJava = (v: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(v).map(([k, e]) => [k, Buffer.isBuffer(e) ? e.toString('hex') : e]));

  it('has every version of both payloads and a future one', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixtures)('%s decodes to what Java reads, and re-encodes to its bytes', (_f, j) => {
    const bytes = Buffer.from(j.hex, 'hex');
    const { version: v, ...value } =
      j.kind === 'subscription' ? decodeSubscription(bytes) : decodeAssignment(bytes);
    expect(v).toBe(j.version);
    expect(asJava(value)).toEqual(j.value);
    if (v <= 3) {
      const again =
        j.kind === 'subscription'
          ? encodeSubscription(value as never, v)
          : encodeAssignment(value as never, v);
      expect(again.toString('hex')).toBe(j.hex);
    }
  });
});
