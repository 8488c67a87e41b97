import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import path from 'node:path';
import { fileNameOf } from '../../../../hack/protocol-gen/emit.ts';
import { loadMessages, protocolDir } from '../../../../hack/protocol-gen/schema.ts';
import type { MessageCodec } from '../../../../src/protocol/primitives/index.ts';
import { structArbitrary } from './arbitrary.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const messages = loadMessages(protocolDir(repoRoot));

describe('protocol > messages > round trip', () => {
  it('covers every schema', () => {
    expect(messages.length).toBeGreaterThan(180);
  });

  describe.each(messages.map((m) => [m.name, m] as const))('%s', (_name, message) => {
    it('decode(encode(x)) equals x and the encoding is exactly the computed size, at every version', async () => {
      const mod = (await import(`../../../../src/protocol/messages/${fileNameOf(message)}`)) as Record<
        string,
        unknown
      >;
      const codec = mod[message.name] as MessageCodec<unknown>;
      const defaults = (struct: string) => (mod[`default${struct}`] as () => Record<string, unknown>)();
      for (let version = message.validVersions.lo; version <= message.validVersions.hi; version++) {
        fc.assert(
          fc.property(structArbitrary(message.root, message, version, defaults), (value) => {
            const bytes = codec.encode(value, version);
            expect(bytes.length).toBe(codec.size(value, version));
            expect(codec.decode(bytes, version)).toEqual(value);
          }),
          { numRuns: 25 },
        );
      }
    });
  });
});
