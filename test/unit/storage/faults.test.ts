import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../src/common/clock.ts';
import { FLUSH_EVERY_BATCH, FLUSH_INTERVAL_DEFAULT } from '../../../src/storage/config.ts';
import { FaultyFs } from '../../../src/storage/faulty-fs.ts';
import { nodeFs } from '../../../src/storage/fs.ts';
import type { PartitionLog } from '../../../src/storage/partition-log.ts';
import { makeBatch, offsetsIn, openLog, readAll, tempDir } from './fixtures/helpers.ts';

let dir: ReturnType<typeof tempDir>;
let fs: FaultyFs;
const logs: PartitionLog[] = [];

beforeEach(() => {
  dir = tempDir();
  fs = new FaultyFs(nodeFs);
});
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close().catch(() => undefined);
  dir.cleanup();
});

async function open(flush = FLUSH_EVERY_BATCH, clock?: FakeClock): Promise<PartitionLog> {
  const log = await openLog(dir.path, { fs, clock, config: { flush } });
  logs.push(log);
  return log;
}

const isLog = (p: string): boolean => p.endsWith('.log');

describe('partition log > I/O faults', () => {
  it('a failed fsync takes the partition offline and fails the append', async () => {
    const log = await open();
    await log.append(makeBatch(), { leaderEpoch: 0 });
    fs.failNextSync({ filter: isLog });
    await expect(log.append(makeBatch(), { leaderEpoch: 0 })).rejects.toMatchObject({
      code: 'TRIB_STORAGE_OFFLINE',
      cause: expect.objectContaining({ code: 'EIO' }),
    });
    expect(log.offline).toBe(true);
    await expect(log.append(makeBatch(), { leaderEpoch: 0 })).rejects.toMatchObject({
      code: 'TRIB_STORAGE_OFFLINE',
    });
    await expect(log.read(0, { maxBytes: 100 })).rejects.toMatchObject({ code: 'TRIB_STORAGE_OFFLINE' });
  });

  it('ENOSPC on write takes the partition offline; a restart keeps every acknowledged batch', async () => {
    const log = await open();
    for (let i = 0; i < 5; i++) await log.append(makeBatch({ count: 2 }), { leaderEpoch: 0 });
    fs.failNextWrite({ code: 'ENOSPC', tornAfter: 30, filter: isLog });
    await expect(log.append(makeBatch({ count: 2 }), { leaderEpoch: 0 })).rejects.toMatchObject({
      code: 'TRIB_STORAGE_OFFLINE',
      cause: expect.objectContaining({ code: 'ENOSPC' }),
    });
    const reopened = await open();
    expect(reopened.logEndOffset).toBe(10);
    expect(offsetsIn(await readAll(reopened))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await reopened.append(makeBatch(), { leaderEpoch: 0 })).baseOffset).toBe(10);
  });

  it('fails every append of a group written with the failed write, and none before it', async () => {
    const log = await open();
    const ok = await log.append(makeBatch(), { leaderEpoch: 0 });
    fs.failNextWrite({ filter: isLog });
    const group = await Promise.allSettled([1, 2, 3].map(() => log.append(makeBatch(), { leaderEpoch: 0 })));
    expect(ok.baseOffset).toBe(0);
    expect(group.map((g) => g.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('a failed background flush takes the partition offline', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const offline: string[] = [];
    const log = await openLog(dir.path, { fs, clock, config: { flush: FLUSH_INTERVAL_DEFAULT } });
    logs.push(log);
    await log.append(makeBatch(), { leaderEpoch: 0 });
    fs.failNextSync({ filter: isLog });
    clock.advance(1000);
    await log.flush().catch((e: { code: string }) => offline.push(e.code));
    expect(log.offline).toBe(true);
    expect(offline).toEqual(['TRIB_STORAGE_OFFLINE']);
  });

  it('a failed checkpoint write takes the partition offline', async () => {
    const log = await open();
    await log.append(makeBatch(), { leaderEpoch: 0 });
    fs.failNextWrite({ filter: (p) => p.includes('recovery-point') });
    await expect(log.flush()).rejects.toMatchObject({ code: 'TRIB_STORAGE_OFFLINE' });
  });
});
