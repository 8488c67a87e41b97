/**
 * What fuzzing the broker found (test/integration/fuzz/requests.test.ts), one case each, so a fix
 * stays fixed without waiting for a random seed to find it again. The cases run against an
 * in-process broker with raw frames, or against the piece that failed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/protocol/frame.ts';
import { JoinGroupRequest } from '../../../src/protocol/messages/join-group-request.ts';
import type { JoinGroupResponse } from '../../../src/protocol/messages/join-group-response.ts';
import { CreatePartitionsRequest } from '../../../src/protocol/messages/create-partitions-request.ts';
import { DeleteTopicsRequest } from '../../../src/protocol/messages/delete-topics-request.ts';
import { IncrementalAlterConfigsRequest } from '../../../src/protocol/messages/incremental-alter-configs-request.ts';
import type { DeleteTopicsResponse } from '../../../src/protocol/messages/delete-topics-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { CreatePartitionsResponse } from '../../../src/protocol/messages/create-partitions-response.ts';
import type { IncrementalAlterConfigsResponse } from '../../../src/protocol/messages/incremental-alter-configs-response.ts';
import type { MetadataRequest } from '../../../src/protocol/messages/metadata-request.ts';
import { DecodeError, EncodeError, Reader } from '../../../src/protocol/primitives/index.ts';
import { crc32c } from '@node-rs/crc32';
import type { CreateTopicsResponse } from '../../../src/protocol/messages/create-topics-response.ts';
import type { ListOffsetsResponse } from '../../../src/protocol/messages/list-offsets-response.ts';
import type { ProduceResponse } from '../../../src/protocol/messages/produce-response.ts';
import { encodeBatch } from '../../../src/protocol/records/index.ts';
import { OffsetCommitRequest } from '../../../src/protocol/messages/offset-commit-request.ts';
import type { OffsetCommitResponse } from '../../../src/protocol/messages/offset-commit-response.ts';
import { OffsetFetchRequest } from '../../../src/protocol/messages/offset-fetch-request.ts';
import type { OffsetFetchResponse } from '../../../src/protocol/messages/offset-fetch-response.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { eventually } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';

/** As long as a string can be on the wire: anything quoting it in prose is longer. */
const LONGEST = 'y'.repeat(32767);

let tb: TestBroker;
let client: RawClient;
beforeAll(async () => {
  tb = await startTestBroker();
  client = await RawClient.connect(tb.port);
});
afterAll(async () => {
  client.close();
  await tb.remove();
});

describe('fuzz findings > an error message quoting a 32767-byte name', () => {
  it('is cut to fit the wire, so the client gets its error rather than a closed connection', async () => {
    const deleted = await client.call<DeleteTopicsResponse>(ApiKey.DeleteTopics, 5, {
      ...DeleteTopicsRequest.defaults(),
      topicNames: [LONGEST],
      timeoutMs: 1000,
    });
    expect(deleted.responses[0]).toMatchObject({
      name: LONGEST,
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    expect(deleted.responses[0]!.errorMessage).toMatch(/^Topic 'y+…$/);

    const grown = await client.call<CreatePartitionsResponse>(ApiKey.CreatePartitions, 1, {
      ...CreatePartitionsRequest.defaults(),
      topics: [{ name: LONGEST, count: 2, assignments: null }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(grown.results[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(grown.results[0]!.errorMessage!.length).toBe(1001);

    const altered = await client.call<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, 1, {
      ...IncrementalAlterConfigsRequest.defaults(),
      resources: [{ resourceType: 2, resourceName: LONGEST, configs: [] }],
      validateOnly: false,
    });
    expect(altered.responses[0]!.errorCode).not.toBe(ErrorCode.NONE);
  });

  it('is cut only in messages: a response whose data does not fit still fails to encode', () => {
    const body = (name: string, errorMessage: string | null): DeleteTopicsResponse => ({
      throttleTimeMs: 0,
      responses: [{ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', errorCode: 3, errorMessage }],
    });
    const frame = encodeResponse(ApiKey.DeleteTopics, 6, 7, body('t', `x${LONGEST}`));
    const decoded = decodeResponse(frame.subarray(4), ApiKey.DeleteTopics, 6);
    expect(decoded.correlationId).toBe(7);
    expect((decoded.body as DeleteTopicsResponse).responses[0]!.errorMessage).toBe(`x${'y'.repeat(999)}…`);
    expect(() => encodeResponse(ApiKey.DeleteTopics, 6, 7, body(`x${LONGEST}`, null))).toThrow(EncodeError);
  });
});

/** `batch` with its CRC made right again after a change behind it. */
function recrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

function batchOf(values: string[], timestamp = 1000): Buffer {
  return encodeBatch({ records: values.map((v) => ({ value: Buffer.from(v), timestamp })) });
}

describe('fuzz findings > a produced batch with a correct CRC over unreadable records', () => {
  const topic = 'unreadable';

  async function produce(records: Buffer): Promise<number> {
    const res = await client.call<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    return res.responses[0]!.partitionResponses[0]!.errorCode;
  }

  async function offsetForTimestamp(timestamp: bigint): Promise<{ errorCode: number; offset: bigint }> {
    const res = await client.call<ListOffsetsResponse>(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 1000,
      topics: [
        {
          name: topic,
          partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }],
        },
      ],
    });
    return res.topics[0]!.partitions[0]!;
  }

  beforeAll(async () => {
    const res = await client.call<CreateTopicsResponse>(ApiKey.CreateTopics, 5, {
      topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(res.topics[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('is refused, and the partition stays online for a lookup by timestamp that decodes its batches', async () => {
    expect(await produce(batchOf(['first'], 1000))).toBe(ErrorCode.NONE);

    // A gzip flag over bytes that are no gzip stream (found as "not an lz4 frame", "incorrect header check").
    const garbage = batchOf(['x'.repeat(40)], 2000);
    garbage.writeInt16BE(1, 21);
    expect(await produce(recrc(garbage))).toBe(ErrorCode.CORRUPT_MESSAGE);

    // Uncompressed, with the first record's length one byte short.
    const short = batchOf(['a', 'b'], 2000);
    short.writeInt8(short.readInt8(61) - 2, 61);
    expect(await produce(recrc(short))).toBe(ErrorCode.CORRUPT_MESSAGE);

    // Two records that both claim offset delta 0.
    const twins = batchOf(['a', 'b'], 2000);
    const second = 61 + 1 + twins.readInt8(61) / 2;
    twins.writeInt8(0, second + 3);
    expect(await produce(recrc(twins))).toBe(ErrorCode.INVALID_RECORD);

    expect(await produce(batchOf(['last'], 3000))).toBe(ErrorCode.NONE);
    expect(await offsetForTimestamp(2500n)).toMatchObject({ errorCode: ErrorCode.NONE, offset: 1n });
  });
});

describe('fuzz findings > an offset commit kept for 2^63-1 ms (OffsetCommit v2-v4)', () => {
  it('is committed with the longest retention there is, instead of failing the request', async () => {
    const topic = 'kept-forever';
    const groupId = 'kept-forever-group';
    await client.call(ApiKey.CreateTopics, 5, {
      topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    // The first FindCoordinator creates the offsets topic; commits wait for it to be up.
    const committed = await eventually(async () => {
      await client.call(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [groupId] });
      const res = await client.call<OffsetCommitResponse>(ApiKey.OffsetCommit, 2, {
        ...OffsetCommitRequest.defaults(),
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        retentionTimeMs: 2n ** 63n - 1n,
        topics: [
          {
            name: topic,
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 7n,
                committedLeaderEpoch: -1,
                commitTimestamp: -1n,
                committedMetadata: null,
              },
            ],
          },
        ],
      });
      expect(res.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
      return res;
    });
    expect(committed.topics).toHaveLength(1);
    const fetched = await client.call<OffsetFetchResponse>(ApiKey.OffsetFetch, 3, {
      ...OffsetFetchRequest.defaults(),
      groupId,
      topics: [{ name: topic, partitionIndexes: [0] }],
    });
    expect(fetched.topics[0]!.partitions[0]).toMatchObject({
      committedOffset: 7n,
      errorCode: ErrorCode.NONE,
    });
  });
});

describe('fuzz findings > a string that is not UTF-8', () => {
  /** A Metadata v4 request for one topic whose name is `name`, as raw bytes (no size prefix). */
  function metadataFor(name: Buffer): Buffer {
    const head = Buffer.from([0, 3, 0, 4, 0, 0, 0, 9, 0xff, 0xff, 0, 0, 0, 1]);
    const length = Buffer.alloc(2);
    length.writeInt16BE(name.length);
    return Buffer.concat([head, length, name, Buffer.from([1])]);
  }

  it('is a malformed request, not a name with U+FFFD in it that no longer fits 32767 bytes', () => {
    const name = Buffer.alloc(32767, 'y');
    name[100] = 0xf9;
    expect(() => decodeRequest(metadataFor(name))).toThrow('string is not valid UTF-8');
    expect(() => new Reader(Buffer.from([0, 2, 0xc3, 0x28])).string('Name')).toThrow(DecodeError);
  });

  it('is told apart from a valid string holding U+FFFD itself', () => {
    const decoded = decodeRequest(metadataFor(Buffer.from('a\uFFFDb'))).body as MetadataRequest;
    expect(decoded.topics![0]!.name).toBe('a\uFFFDb');
    expect(new Reader(Buffer.from([0, 2, 0xc3, 0xa9])).string('Name')).toBe('é');
  });
});

describe('fuzz findings > a member id made from a 32767-byte client id', () => {
  it('is cut to fit the wire, so the new member gets MEMBER_ID_REQUIRED rather than a closed connection', async () => {
    const clientId = 'c'.repeat(32767);
    const request = { ...JoinGroupRequest.defaults(), groupId: 'long-client', sessionTimeoutMs: 10_000 };
    request.protocolType = 'consumer';
    request.protocols = [{ name: 'range', metadata: Buffer.alloc(0) }];
    const raw = await RawClient.connect(tb.port);
    try {
      const header = { requestApiKey: ApiKey.JoinGroup, requestApiVersion: 7, correlationId: 9, clientId };
      const answered = await eventually(async () => {
        await client.call(ApiKey.FindCoordinator, 4, {
          key: '',
          keyType: 0,
          coordinatorKeys: ['long-client'],
        });
        raw.write(encodeRequest(header, request));
        const res = await raw.response(ApiKey.JoinGroup, 7);
        const body = res.body as JoinGroupResponse;
        expect(body.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
        return body;
      });
      expect(answered.memberId).toMatch(/^c{1000}-[0-9a-f-]{36}$/);
    } finally {
      raw.close();
    }
  });
});
