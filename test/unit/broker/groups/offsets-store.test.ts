import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { partitionOffsetsLog, type CoordinatorRecord } from '../../../../src/broker/groups/offsets-store.ts';
import {
  decodeOffsetCommitValue,
  decodeRecordKey,
  encodeGroupMetadataKey,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from '../../../../src/broker/groups/records.ts';
import type { PartitionLookup } from '../../../../src/broker/replica-manager.ts';
import { FakeClock } from '../../../../src/common/clock.ts';
import { silentLogger } from '../../../../src/common/logger.ts';
import { ErrorCode } from '../../../../src/protocol/error-codes.ts';
import { PartitionLog } from '../../../../src/storage/partition-log.ts';

let dir: string;
let log: PartitionLog;
let clock: FakeClock;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-offsets-'));
  clock = new FakeClock(1_700_000_000_000);
  // Small segments, so that compaction has closed segments to clean.
  log = await PartitionLog.open({
    dir,
    topic: '__consumer_offsets',
    partition: 0,
    clock,
    config: { cleanupPolicy: 'compact', segmentBytes: 400 },
  });
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

const state = { partition: 0, leader: 0, leaderEpoch: 5, replicas: [0], isr: [0] };

type Waited = 'ok' | 'timeout' | 'not-leader';

/** `replicated`: what waiting for the in-sync replicas comes to ('ok' once the HW is there). */
function store(lookup?: PartitionLookup, replicated?: Waited) {
  return partitionOffsetsLog({
    replicas: {
      leaderLog: () =>
        lookup ??
        ({ ok: true, log, state, topic: undefined, config: undefined } as unknown as PartitionLookup),
      advanceHighWatermark: (l) => void l.updateHighWatermark(l.logEndOffset),
      waitForHighWatermark: (_t, _p, offset) =>
        Promise.resolve(replicated ?? (log.highWatermark >= offset ? 'ok' : 'timeout')),
    },
    partition: 0,
    clock,
    log: silentLogger,
  });
}

const commit = (partition: number, offset: bigint): CoordinatorRecord => ({
  key: encodeOffsetCommitKey({ group: 'g', topic: 't', partition }),
  value: encodeOffsetCommitValue({
    offset,
    leaderEpoch: -1,
    metadata: '',
    commitTimestamp: clock.now(),
    expireTimestamp: null,
  }),
});

async function loadAll(): Promise<Array<[string, string | null]>> {
  const seen: Array<[string, string | null]> = [];
  await store().load((r) => {
    const k = decodeRecordKey(r.key);
    const name = k.kind === 'offset' ? `${k.topic}-${k.partition}` : k.kind;
    seen.push([
      name,
      r.value === null
        ? null
        : k.kind === 'offset'
          ? String(decodeOffsetCommitValue(r.value).offset)
          : 'group',
    ]);
  });
  return seen;
}

describe('offsets partition store', () => {
  it('appends records with the leader epoch, commits them, and reads them back in order', async () => {
    const s = store();
    expect(await s.append([commit(0, 1n), commit(1, 1n)])).toBe(ErrorCode.NONE);
    expect(await s.append([commit(0, 2n)])).toBe(ErrorCode.NONE);
    expect(log.highWatermark).toBe(3);
    expect(log.latestEpoch()).toBe(5);
    expect(await loadAll()).toEqual([
      ['t-0', '1'],
      ['t-1', '1'],
      ['t-0', '2'],
    ]);
  });

  it('loads the latest value of every key after compaction, and tombstones as deletions', async () => {
    const s = store();
    for (let i = 1n; i <= 20n; i++) await s.append([commit(0, i), commit(1, i * 10n)]);
    await s.append([
      { key: encodeGroupMetadataKey('g'), value: null },
      { key: commit(1, 0n).key, value: null },
    ]);
    await s.append([commit(2, 7n)]);
    const before = await loadAll();
    const result = await log.compact();
    expect(result.recordsRemoved).toBeGreaterThan(0);
    const after = await loadAll();
    // Whatever compaction removed, the last word on each key is the same.
    const last = (entries: Array<[string, string | null]>) => Object.fromEntries(entries);
    expect(last(after)).toEqual(last(before));
    expect(last(after)).toEqual({ 't-0': '20', 't-1': null, group: null, 't-2': '7' });
    expect(after.length).toBeLessThan(before.length);
  });

  it('answers a write the in-sync replicas did not take in time REQUEST_TIMED_OUT, and one whose leadership moved NOT_LEADER_OR_FOLLOWER', async () => {
    expect(await store(undefined, 'timeout').append([commit(0, 1n)])).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect(await store(undefined, 'not-leader').append([commit(0, 2n)])).toBe(
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
  });

  it("answers the lookup's error when this broker no longer leads the partition", async () => {
    const s = store({ ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(await s.append([commit(0, 1n)])).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    await expect(s.load(() => {})).rejects.toThrow(/not led here/);
  });
});
