/**
 * DescribeLogDirs against a whole in-process broker, in raw frames at every version: the broker's one
 * log dir by its absolute path, each partition's size equal to its segment files on disk, Kafka's
 * filtering (null = all, absent = not here), the volume's space from v4, and KAFKA_STORAGE_ERROR for
 * a dir holding a log that a failed fsync took offline.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import type { ApiVersionsResponse } from '../../../src/protocol/messages/api-versions-response.ts';
import type { DescribeLogDirsRequest } from '../../../src/protocol/messages/describe-log-dirs-request.ts';
import type {
  DescribeLogDirsResponse,
  DescribeLogDirsResult,
} from '../../../src/protocol/messages/describe-log-dirs-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { DiskFaults } from '../../fault/disk.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { append, createTopic, randomTopic } from './fetch-fixtures.ts';

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

async function describeLogDirs(
  version: number,
  topics: DescribeLogDirsRequest['topics'],
  c: RawClient = client,
): Promise<DescribeLogDirsResponse> {
  return c.call<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, version, { topics });
}

/** Bytes in the partition's segment files (`*.log`), as `du` would count them. */
function segmentBytes(dataDir: string, topic: string, partition: number): bigint {
  const dir = join(dataDir, `${topic}-${partition}`);
  const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
  return files.reduce((n, f) => n + BigInt(statSync(join(dir, f)).size), 0n);
}

function partitionsOf(result: DescribeLogDirsResult, topic: string): number[] {
  return result.topics.find((t) => t.name === topic)?.partitions.map((p) => p.partitionIndex) ?? [];
}

describe('DescribeLogDirs', () => {
  it('is advertised by ApiVersions at versions 0–4', async () => {
    const res = await client.call<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'test',
      clientSoftwareVersion: '1',
    });
    expect(res.apiKeys).toContainEqual({ apiKey: ApiKey.DescribeLogDirs, minVersion: 0, maxVersion: 4 });
  });

  it.each([0, 1, 2, 3, 4])(
    'reports the log dir and each partition’s size on disk, lag 0 and not future (v%i)',
    async (version) => {
      const topic = randomTopic('logdirs');
      await createTopic(tb, topic, { partitions: 2 });
      await append(tb, topic, 0, ['a', 'b', 'c']);
      await append(tb, topic, 0, ['d']);
      const res = await describeLogDirs(version, [{ topic, partitions: [0, 1] }]);
      expect(res.errorCode).toBe(ErrorCode.NONE);
      expect(res.results).toHaveLength(1);
      const [dir] = res.results;
      expect(dir.errorCode).toBe(ErrorCode.NONE);
      expect(dir.logDir).toBe(resolve(tb.dataDir));
      expect(dir.topics).toEqual([
        {
          name: topic,
          partitions: [
            {
              partitionIndex: 0,
              partitionSize: segmentBytes(tb.dataDir, topic, 0),
              offsetLag: 0n,
              isFutureKey: false,
            },
            { partitionIndex: 1, partitionSize: 0n, offsetLag: 0n, isFutureKey: false },
          ],
        },
      ]);
      expect(dir.topics[0].partitions[0].partitionSize).toBeGreaterThan(0n);
      if (version >= 4) {
        expect(dir.totalBytes).toBeGreaterThan(0n);
        expect(dir.usableBytes).toBeGreaterThanOrEqual(0n);
        expect(dir.usableBytes).toBeLessThanOrEqual(dir.totalBytes);
      } else {
        // Not on the wire before v4: the decoder's default.
        expect([dir.totalBytes, dir.usableBytes]).toEqual([-1n, -1n]);
      }
    },
  );

  it('null topics describes every partition in the dir, of every topic', async () => {
    const one = randomTopic('logdirs-all');
    const two = randomTopic('logdirs-all');
    await createTopic(tb, one, { partitions: 3 });
    await createTopic(tb, two, { partitions: 1 });
    const [dir] = (await describeLogDirs(4, null)).results;
    expect(partitionsOf(dir, one)).toEqual([0, 1, 2]);
    expect(partitionsOf(dir, two)).toEqual([0]);
  });

  it('answers only the partitions asked for; unknown topics and partitions are simply absent', async () => {
    const topic = randomTopic('logdirs-some');
    const other = randomTopic('logdirs-some');
    await createTopic(tb, topic, { partitions: 3 });
    await createTopic(tb, other, { partitions: 1 });
    const [dir] = (
      await describeLogDirs(2, [
        { topic, partitions: [2, 7] },
        { topic: 'no-such-topic', partitions: [0] },
        { topic: other, partitions: [5] },
      ])
    ).results;
    expect(dir.errorCode).toBe(ErrorCode.NONE);
    // A topic none of whose asked partitions is here is left out, as in Kafka.
    expect(dir.topics.map((t) => t.name)).toEqual([topic]);
    expect(partitionsOf(dir, topic)).toEqual([2]);
  });

  it('an empty topic list describes the dir and its space, with no partitions', async () => {
    const [dir] = (await describeLogDirs(4, [])).results;
    expect(dir).toMatchObject({ errorCode: ErrorCode.NONE, logDir: resolve(tb.dataDir), topics: [] });
    expect(dir.totalBytes).toBeGreaterThan(0n);
  });
});

describe('DescribeLogDirs > a log offline', () => {
  it('answers KAFKA_STORAGE_ERROR for the dir, without topics or space, once a failed fsync took a log offline', async () => {
    const faults = new DiskFaults();
    const faulty = await startTestBroker({ fs: faults.fs });
    const c = await RawClient.connect(faulty.port);
    try {
      const topic = randomTopic('logdirs-offline');
      // flush.messages=1: the append is fsynced at once, so the armed fault meets it.
      await createTopic(faulty, topic, { partitions: 1, configs: { 'flush.messages': '1' } });
      await append(faulty, topic, 0, ['before']);
      expect((await describeLogDirs(4, null, c)).results[0].errorCode).toBe(ErrorCode.NONE);
      faults.failNextSync(topic, 0);
      await expect(append(faulty, topic, 0, ['fails'])).rejects.toThrow();
      expect((await describeLogDirs(4, null, c)).results).toEqual([
        {
          errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
          logDir: resolve(faulty.dataDir),
          topics: [],
          totalBytes: -1n,
          usableBytes: -1n,
        },
      ]);
    } finally {
      c.close();
      await faulty.remove();
    }
  });
});
