/**
 * Brokers for tests, in-process: `startTestBroker()` runs a whole Broker (real files in a temp dir,
 * Kafka listener and admin HTTP on free loopback ports) for tests that talk to it with real clients
 * or raw frames; `stop()` shuts it down cleanly and `remove()` deletes its directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../src/broker/broker.ts';
import { loadBrokerConfig } from '../../src/broker/config.ts';
import type { Clock } from '../../src/common/clock.ts';
import { silentLogger, type Logger } from '../../src/common/logger.ts';
import type { Fs } from '../../src/storage/fs.ts';

export interface TestBrokerOptions {
  /** Reuse a data directory (a restart); a fresh temp dir when absent. */
  dataDir?: string;
  /** Broker properties by Kafka name, e.g. `{ 'num.partitions': '3' }`. */
  properties?: Record<string, string>;
  clock?: Clock;
  logger?: Logger;
  /** The file system under the broker (a FaultyFs for disk faults); node's when absent. */
  fs?: Fs;
}

export interface TestBroker {
  broker: Broker;
  /** "127.0.0.1:port" */
  bootstrap: string;
  port: number;
  adminUrl: string;
  dataDir: string;
  stop(): Promise<void>;
  /** Stops (if running) and deletes the data directory. */
  remove(): Promise<void>;
}

export async function startTestBroker(o: TestBrokerOptions = {}): Promise<TestBroker> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'trib-broker-'));
  const { config } = loadBrokerConfig({
    flags: new Map(
      Object.entries({
        listeners: '127.0.0.1:0',
        'admin.listener': '127.0.0.1:0',
        'log.dirs': dataDir,
        'shutdown.timeout.ms': '2000',
        ...o.properties,
      }),
    ),
  });
  const broker = new Broker({
    config,
    logger: o.logger ?? silentLogger,
    clock: o.clock,
    fs: o.fs,
    processMetrics: false,
  });
  try {
    const addr = await broker.start();
    return {
      broker,
      bootstrap: addr.bootstrap,
      port: addr.kafka.port,
      adminUrl: `http://127.0.0.1:${addr.admin.port}`,
      dataDir,
      stop: () => broker.stop(),
      async remove() {
        await broker.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await broker.stop();
    throw err;
  }
}
