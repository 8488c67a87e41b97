/**
 * Producer state across restarts, at the partition-log level with real files: what a broker finds
 * after a clean close, and after a crash (the log manager is never closed — no clean-shutdown
 * marker, no final snapshot — and a second one opens the same directory, as a restarted process
 * would).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readdirSync, writeFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { appendBatch, type AppendOutcome } from '../../../src/broker/produce-append.ts';
import { ProducerStateManager } from '../../../src/broker/producer-state-manager.ts';
import { encodeSnapshot } from '../../../src/broker/producer-state-snapshot.ts';
import { FakeClock } from '../../../src/common/clock.ts';
import { silentLogger } from '../../../src/common/logger.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { encodeBatch } from '../../../src/protocol/records/index.ts';
import { LogManager } from '../../../src/storage/log-manager.ts';
import type { PartitionLog } from '../../../src/storage/partition-log.ts';
import { tempDir } from '../storage/fixtures/helpers.ts';

const T0 = 1_700_000_000_000;
let dir: ReturnType<typeof tempDir>;
const managers: LogManager[] = [];

beforeEach(() => {
  dir = tempDir('tributary-producer-state-');
});
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  dir.cleanup();
});

interface Broker {
  logs: LogManager;
  log: PartitionLog;
  producers: ProducerStateManager;
  clock: FakeClock;
}

/** A partition log and producer state over the test directory, as a (re)started broker has them. */
async function start(opts: { snapshotIntervalBytes?: number; clock?: FakeClock } = {}): Promise<Broker> {
  const clock = opts.clock ?? new FakeClock(T0);
  const logs = new LogManager({ dataDir: dir.path, clock, registry: new Registry() });
  managers.push(logs);
  await logs.loadAll();
  const log = await logs.getOrCreate('orders', 0);
  const producers = new ProducerStateManager({
    clock,
    logger: silentLogger,
    snapshotIntervalBytes: opts.snapshotIntervalBytes,
    expirationMs: 60_000,
  });
  return { logs, log, producers, clock };
}

function idempotentBatch(producerId: number, epoch: number, seq: number, records = 1): Buffer {
  return encodeBatch({
    producerId,
    producerEpoch: epoch,
    baseSequence: seq,
    records: Array.from({ length: records }, (_, i) => ({
      value: Buffer.from(`v${seq + i}`),
      timestamp: T0,
    })),
  });
}

/** What the produce handler does with a batch once the partition is found. */
async function produce(b: Broker, records: Buffer): Promise<AppendOutcome> {
  const headers = b.log.validate(records);
  const outcome = await appendBatch({
    log: b.log,
    records,
    header: headers[0],
    leaderEpoch: 0,
    producers: b.producers,
    now: b.clock.now(),
  });
  if (outcome.ok && !outcome.duplicate) b.producers.afterAppend(b.log, records.length);
  return outcome;
}

function snapshotFiles(): string[] {
  return readdirSync(`${dir.path}/orders-0`).filter((n) => n.endsWith('.snapshot'));
}

describe('producer state > restarts', () => {
  it('still answers a retry with its original offsets after a crash', async () => {
    const before = await start();
    for (let seq = 0; seq < 3; seq++) await produce(before, idempotentBatch(7, 0, seq * 2, 2));
    await produce(before, encodeBatch({ records: [{ value: Buffer.from('plain') }] }));
    expect(before.log.logEndOffset).toBe(7);
    // No close: the first manager's files stay as a killed process leaves them.
    const after = await start();
    expect(after.log.logEndOffset).toBe(7);
    expect(await produce(after, idempotentBatch(7, 0, 4, 2))).toMatchObject({
      ok: true,
      duplicate: true,
      baseOffset: 4,
      lastOffset: 5,
    });
    expect(after.producers.loadStats(after.log)).toMatchObject({ snapshotOffset: null, replayedBatches: 4 });
    expect(await produce(after, idempotentBatch(7, 0, 9))).toMatchObject({
      ok: false,
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    });
    expect(await produce(after, idempotentBatch(7, 0, 6))).toMatchObject({ ok: true, baseOffset: 7 });
    expect(after.log.logEndOffset).toBe(8);
  });

  it('writes a snapshot on a clean close, so the next load reads no log at all', async () => {
    const before = await start();
    for (let seq = 0; seq < 4; seq++) await produce(before, idempotentBatch(3, 1, seq));
    await before.logs.close();
    expect(snapshotFiles()).toEqual(['00000000000000000004.snapshot']);
    const after = await start();
    expect(await produce(after, idempotentBatch(3, 1, 3))).toMatchObject({ duplicate: true, baseOffset: 3 });
    expect(after.producers.loadStats(after.log)).toEqual({
      snapshotOffset: 4,
      replayedBytes: 0,
      replayedBatches: 0,
      producers: 1,
    });
    expect(await produce(after, idempotentBatch(3, 0, 4))).toMatchObject({
      ok: false,
      errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
    });
  });

  it('snapshots as bytes are written, so a crash replays only the tail', async () => {
    const before = await start({ snapshotIntervalBytes: 500 });
    for (let seq = 0; seq < 20; seq++) await produce(before, idempotentBatch(5, 0, seq));
    await before.producers.snapshot(before.log); // let the last scheduled write finish
    for (let seq = 20; seq < 22; seq++) await produce(before, idempotentBatch(5, 0, seq));
    expect(snapshotFiles()).toHaveLength(2);
    const after = await start();
    expect(await produce(after, idempotentBatch(5, 0, 21))).toMatchObject({
      duplicate: true,
      baseOffset: 21,
    });
    const stats = after.producers.loadStats(after.log)!;
    expect(stats.snapshotOffset).toBe(20);
    expect(stats.replayedBatches).toBe(2);
  });

  it('ignores and deletes a snapshot beyond the log end, and skips a damaged one', async () => {
    const before = await start();
    await produce(before, idempotentBatch(5, 0, 0));
    await before.logs.close();
    // A snapshot from batches a crash cut off, and one that rotted.
    writeFileSync(
      `${dir.path}/orders-0/00000000000000000009.snapshot`,
      encodeSnapshot({
        offset: 9,
        entries: [
          {
            producerId: 5,
            epoch: 0,
            lastTimestamp: T0,
            batches: [{ firstSeq: 1, lastSeq: 1, baseOffset: 8, lastOffset: 8, timestamp: T0 }],
          },
        ],
      }),
    );
    writeFileSync(`${dir.path}/orders-0/00000000000000000001.snapshot`, 'not a snapshot');
    const after = await start();
    expect(await produce(after, idempotentBatch(5, 0, 1))).toMatchObject({ ok: true, duplicate: false });
    expect(after.producers.loadStats(after.log)).toMatchObject({ snapshotOffset: null, replayedBatches: 1 });
    expect(snapshotFiles()).toEqual(['00000000000000000001.snapshot']);
  });

  it('forgets a producer silent for producer.id.expiration.ms', async () => {
    const clock = new FakeClock(T0);
    const b = await start({ clock });
    await produce(b, idempotentBatch(5, 0, 0));
    clock.advance(10 * 60 * 1000);
    await produce(b, encodeBatch({ records: [{ value: Buffer.from('x') }] }));
    // Unknown again: any sequence is accepted, where a known producer would be out of order.
    expect(await produce(b, idempotentBatch(5, 0, 17))).toMatchObject({ ok: true, duplicate: false });
  });
});

describe('producer state > followers', () => {
  /** The batch as a leader stored it: offsets assigned from `baseOffset`. */
  function fromLeader(baseOffset: number, seq: number): Buffer {
    return encodeBatch({
      baseOffset,
      partitionLeaderEpoch: 1,
      producerId: 9,
      producerEpoch: 0,
      baseSequence: seq,
      records: [{ value: Buffer.from(`v${seq}`), timestamp: T0 }],
    });
  }

  it('learns the leader’s batches as they are replicated, so it can answer retries once it leads', async () => {
    const b = await start();
    await b.producers.load(b.log);
    for (let i = 0; i < 3; i++) {
      const records = fromLeader(i, i);
      await b.log.appendAsFollower(records);
      b.producers.replicated(b.log, records);
    }
    expect(await produce(b, idempotentBatch(9, 0, 1))).toMatchObject({
      ok: true,
      duplicate: true,
      baseOffset: 1,
    });
    expect(await produce(b, idempotentBatch(9, 0, 3))).toMatchObject({
      ok: true,
      duplicate: false,
      baseOffset: 3,
    });
  });

  it('forgets batches cut off by a truncation', async () => {
    const b = await start();
    await b.producers.load(b.log);
    for (let i = 0; i < 3; i++) {
      const records = fromLeader(i, i);
      await b.log.appendAsFollower(records);
      b.producers.replicated(b.log, records);
    }
    await b.log.truncateTo(1);
    await b.producers.truncated(b.log);
    // Sequence 1 is gone with its batch: it is appended again rather than answered as a duplicate.
    expect(await produce(b, idempotentBatch(9, 0, 1))).toMatchObject({
      ok: true,
      duplicate: false,
      baseOffset: 1,
    });
  });
});
