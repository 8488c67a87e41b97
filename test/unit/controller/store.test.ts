import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { newClusterState } from '../../../src/controller/state.ts';
import { LocalFileStore, METADATA_FILE, StaleControllerError } from '../../../src/controller/store.ts';
import { nodeFs } from '../../../src/storage/fs.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trib-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const store = () => new LocalFileStore({ dir, fs: nodeFs });
const at = (controllerEpoch: number, version: number) => ({
  ...newClusterState('c'),
  controllerEpoch,
  version,
});

describe('controller > local file store', () => {
  it('loads nothing from an empty directory, then what was saved', async () => {
    expect(await store().load()).toBeNull();
    await store().save(at(1, 1));
    expect(await store().load()).toEqual(at(1, 1));
  });

  it('accepts the next version under the same controller epoch, and any version under a newer epoch', async () => {
    const s = store();
    await s.save(at(1, 1));
    await s.save(at(1, 2));
    await s.save(at(2, 3));
    expect(await s.load()).toEqual(at(2, 3));
  });

  it.each([
    ['an older controller epoch', at(1, 9)],
    ['a version that skips one', at(2, 7)],
    ['a version already written', at(2, 5)],
  ])('refuses a write from %s with StaleControllerError', async (_what, next) => {
    const s = store();
    await s.save(at(2, 5));
    await expect(s.save(next)).rejects.toBeInstanceOf(StaleControllerError);
    expect(await s.load()).toEqual(at(2, 5));
  });

  it('refuses a file that is not JSON, saying what to do', async () => {
    writeFileSync(join(dir, METADATA_FILE), '{oops');
    await expect(store().load()).rejects.toThrow(/not valid JSON; restore it from a backup/);
  });

  it('reads the format 1 a lone broker wrote: partition epochs from leader epochs, the node a fenced registration', async () => {
    const formatOne = {
      format: 1,
      version: 7,
      clusterId: 'old-cluster',
      nodeId: 3,
      nextProducerId: '42',
      topics: [
        {
          name: 'orders',
          topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
          internal: false,
          configs: { 'retention.ms': '1000' },
          partitions: [{ partition: 0, leader: 3, leaderEpoch: 2, replicas: [3], isr: [3] }],
        },
      ],
    };
    writeFileSync(join(dir, METADATA_FILE), JSON.stringify(formatOne));
    const s = await store().load();
    expect(s).toMatchObject({
      format: 2,
      version: 7,
      controllerEpoch: 0,
      clusterId: 'old-cluster',
      nextProducerId: '42',
      brokers: [{ nodeId: 3, fenced: true, shuttingDown: false }],
    });
    // Fenced, the node leads nothing until it registers and heartbeats again.
    expect(s!.topics[0]).toEqual({
      ...formatOne.topics[0],
      partitions: [{ partition: 0, leader: -1, leaderEpoch: 3, partitionEpoch: 3, replicas: [3], isr: [3] }],
    });
    // A controller taking over from it may write.
    await store().save({ ...s!, controllerEpoch: 1, version: 8 });
    expect(JSON.parse(readFileSync(join(dir, METADATA_FILE), 'utf8'))).toMatchObject({
      format: 2,
      version: 8,
    });
  });
});
