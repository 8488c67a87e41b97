/**
 * Uuid fields (topic ids, directory ids) travel as Kafka's text form: 16 bytes as unpadded
 * base64url, 22 characters. Each 16-byte value has exactly one such text (the last character
 * carries 2 data bits and 4 zero bits), so distinct strings must never encode to the same bytes:
 * a topic id that changes on a round trip breaks every map keyed by it.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MetadataRequest } from '../../../../src/protocol/messages/metadata-request.ts';
import { EncodeError } from '../../../../src/protocol/primitives/index.ts';

const withTopicId = (topicId: string) => ({
  ...MetadataRequest.defaults(),
  topics: [{ topicId, name: null }],
});

describe('protocol > messages > uuid fields', () => {
  it('round-trip every canonical id unchanged', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const id = Buffer.from(bytes).toString('base64url');
        expect(
          MetadataRequest.decode(MetadataRequest.encode(withTopicId(id), 12), 12).topics![0]!.topicId,
        ).toBe(id);
      }),
    );
  });

  it('refuse standard-base64 characters, which are not base64url', () => {
    // Buffer's base64url decoder also accepts '+' and '/', so this id is encoded as if it were
    // "AAAAAAAAAAAAAAAAAAAA-w" and comes back as that.
    expect(() => MetadataRequest.encode(withTopicId('AAAAAAAAAAAAAAAAAAAA+/'), 12)).toThrow(EncodeError);
  });

  it('refuse a last character with bits that do not fit in 16 bytes', () => {
    // "...AB" and "...AA" both decode to 16 zero bytes; only the latter is the id's text.
    expect(() => MetadataRequest.encode(withTopicId('AAAAAAAAAAAAAAAAAAAAAB'), 12)).toThrow(EncodeError);
  });
});
