import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync } from 'node:fs';
import { Registry } from 'prom-client';
import { FakeClock } from '../../../src/common/clock.ts';
import { LogManager } from '../../../src/storage/log-manager.ts';
import { makeBatch, tempDir } from './fixtures/helpers.ts';

let dir: ReturnType<typeof tempDir>;
let manager: LogManager | undefined;
const T0 = 1_700_000_000_000;

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await manager?.close();
  manager = undefined;
  dir.cleanup();
});

function newManager(clock = new FakeClock(T0)): LogManager {
  return new LogManager({
    dataDir: dir.path,
    clock,
    registry: new Registry(),
    loadConcurrency: 2,
    defaults: { segmentBytes: 500 },
  });
}

describe('log manager', () => {
  it('lays out one directory per partition and loads them all again at start-up', async () => {
    manager = newManager();
    for (const [topic, p] of [
      ['orders', 0],
      ['orders', 1],
      ['my-topic', 3],
    ] as const) {
      const log = await manager.getOrCreate(topic, p);
      for (let i = 0; i < p + 1; i++) await log.append(makeBatch({ count: 2 }), { leaderEpoch: 0 });
    }
    expect(existsSync(`${dir.path}/my-topic-3`)).toBe(true);
    await manager.close();
    mkdirSync(`${dir.path}/not-a-partition`);
    manager = newManager();
    await manager.loadAll();
    expect(
      manager
        .logs()
        .map((l) => `${l.topic}/${l.partition}=${l.logEndOffset}`)
        .sort(),
    ).toEqual(['my-topic/3=8', 'orders/0=2', 'orders/1=4']);
  });

  it('hands out one log per partition even to concurrent callers', async () => {
    manager = newManager();
    const [a, b] = await Promise.all([manager.getOrCreate('t', 0), manager.getOrCreate('t', 0)]);
    expect(a).toBe(b);
  });

  it('reports disk usage per partition', async () => {
    manager = newManager();
    const log = await manager.getOrCreate('t', 0);
    await log.append(makeBatch({ valueBytes: 100 }), { leaderEpoch: 0 });
    await manager.getOrCreate('t', 1);
    const usage = manager.diskUsage().sort((x, y) => x.partition - y.partition);
    expect(usage[0]).toMatchObject({ topic: 't', partition: 0, segments: 1, offline: false });
    expect(usage[0].bytes).toBe(log.sizeInBytes());
    expect(usage[0].bytes).toBeGreaterThan(100);
    expect(usage[1].bytes).toBe(0);
  });

  it('runs retention on its clock', async () => {
    const clock = new FakeClock(T0);
    manager = new LogManager({
      dataDir: dir.path,
      clock,
      defaults: { segmentBytes: 300, retentionMs: 1000 },
      retentionCheckIntervalMs: 5000,
    });
    const log = await manager.getOrCreate('t', 0);
    for (let i = 0; i < 5; i++)
      await log.append(makeBatch({ valueBytes: 150, timestamp: T0 }), { leaderEpoch: 0 });
    expect(log.segmentCount).toBe(5);
    manager.startBackgroundTasks();
    await clock.advanceAsync(5000);
    await log.flush();
    expect(log.segmentCount).toBe(1);
  });

  it('deletes a partition’s directory', async () => {
    manager = newManager();
    await manager.getOrCreate('t', 0);
    await manager.delete('t', 0);
    expect(existsSync(`${dir.path}/t-0`)).toBe(false);
    expect(manager.get('t', 0)).toBeUndefined();
  });
});
