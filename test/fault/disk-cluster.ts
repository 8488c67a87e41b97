/**
 * A replicated cluster in one process whose brokers each run over their own disk fault injector: the
 * real metadata controller behind its real HTTP API (as `tributary controller` runs it) and N whole
 * Brokers linked to it over HTTP (as `tributary broker --set controller.address=…`), each with a
 * DiskFaults (test/fault/disk.ts) as its file system. `tributary dev` runs the same parts as
 * processes, where no FaultyFs can be slipped in.
 *
 * Every broker's and the controller's log lines are kept, parsed, for tests to look for.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Broker } from '../../src/broker/broker.ts';
import { loadBrokerConfig } from '../../src/broker/config.ts';
import { systemClock } from '../../src/common/clock.ts';
import { createLogger, type Logger } from '../../src/common/logger.ts';
import { Controller } from '../../src/controller/controller.ts';
import { buildControllerApp } from '../../src/controller/http-server.ts';
import { REBALANCE_DEFAULTS } from '../../src/controller/leader-rebalance.ts';
import { LocalFileStore } from '../../src/controller/store.ts';
import { nodeFs, type Fs } from '../../src/storage/fs.ts';
import { decodeRecords } from '../../src/protocol/records/index.ts';
import { DiskFaults } from './disk.ts';

const TOKEN = 'disk-cluster-token';

export type LogLine = Record<string, unknown>;

export interface ClusterMember {
  nodeId: number;
  dataDir: string;
  faults: DiskFaults;
  broker: Broker;
  /** "127.0.0.1:port" of its Kafka listener (the same after a restart). */
  bootstrap: string;
  lines: LogLine[];
}

export interface DiskCluster {
  members: ClusterMember[];
  controllerLines: LogLine[];
  /** Every broker's address, for a client's bootstrap list. */
  bootstraps(): string[];
  /**
   * Stops broker `nodeId` cleanly and starts it again on its directory, over the same injector (free
   * its disk first: a one-shot fault already fired, so the disk is then as good as new).
   */
  restart(nodeId: number): Promise<ClusterMember>;
  /** Every offset and value of a partition in broker `nodeId`'s own log (it must host it). */
  logOf(nodeId: number, topic: string, partition: number): Promise<Array<{ offset: number; value: string }>>;
  stop(): Promise<void>;
}

function capture(lines: LogLine[]): Logger {
  return createLogger({
    level: 'info',
    destination: { write: (l) => void lines.push(JSON.parse(l) as LogLine) },
  });
}

export async function startDiskCluster(n = 3, properties: Record<string, string> = {}): Promise<DiskCluster> {
  const root = mkdtempSync(join(tmpdir(), 'trib-disk-cluster-'));
  const controllerLines: LogLine[] = [];
  const controller = await Controller.open({
    store: new LocalFileStore({ dir: join(root, 'controller'), fs: nodeFs }),
    clock: systemClock,
    logger: capture(controllerLines),
    settings: {
      sessionTimeoutMs: 6000,
      numPartitions: 1,
      defaultReplicationFactor: n,
      deleteTopicEnable: true,
      ...REBALANCE_DEFAULTS,
    },
  });
  const app: FastifyInstance = buildControllerApp({
    service: controller,
    token: TOKEN,
    logger: capture(controllerLines),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const controllerPort = (app.server.address() as AddressInfo).port;

  /** The Kafka port a restart keeps, so that clients' bootstrap lists stay good. */
  const ports = new Map<number, number>();
  const startMember = async (nodeId: number, fs: Fs, faults: DiskFaults): Promise<ClusterMember> => {
    const dataDir = join(root, `broker-${nodeId}`);
    const lines: LogLine[] = [];
    const { config } = loadBrokerConfig({
      flags: new Map(
        Object.entries({
          'node.id': String(nodeId),
          listeners: `127.0.0.1:${ports.get(nodeId) ?? 0}`,
          'admin.listener': '127.0.0.1:0',
          'log.dirs': dataDir,
          'controller.address': `127.0.0.1:${controllerPort}`,
          'controller.token': TOKEN,
          'broker.heartbeat.interval.ms': '100',
          'replica.fetch.wait.max.ms': '200',
          'replica.fetch.backoff.ms': '50',
          'replica.lag.time.max.ms': '5000',
          'shutdown.timeout.ms': '3000',
          ...properties,
        }),
      ),
    });
    const broker = new Broker({ config, logger: capture(lines), fs, processMetrics: false });
    const addr = await broker.start();
    ports.set(nodeId, addr.kafka.port);
    return { nodeId, dataDir, faults, broker, bootstrap: addr.bootstrap, lines };
  };

  const members = await Promise.all(
    Array.from({ length: n }, (_, id) => {
      const faults = new DiskFaults();
      return startMember(id, faults.fs, faults);
    }),
  );
  return {
    members,
    controllerLines,
    bootstraps: () => members.map((m) => m.bootstrap),
    async restart(nodeId) {
      const i = members.findIndex((m) => m.nodeId === nodeId);
      await members[i].broker.stop();
      members[i] = await startMember(nodeId, members[i].faults.fs, members[i].faults);
      return members[i];
    },
    async logOf(nodeId, topic, partition) {
      const member = members.find((m) => m.nodeId === nodeId)!;
      const log = member.broker.services.replicas.replica(topic, partition)?.log;
      if (!log) throw new Error(`broker ${nodeId} does not host ${topic}-${partition}`);
      const out: Array<{ offset: number; value: string }> = [];
      for (let offset = log.logStartOffset; offset < log.logEndOffset;) {
        const { records } = await log.read(offset, { maxBytes: 1 << 20, isolation: 'log-end' });
        const batches = decodeRecords(records);
        if (batches.length === 0) break;
        for (const b of batches)
          for (const r of b.records) out.push({ offset: r.offset, value: r.value?.toString() ?? '' });
        offset = out[out.length - 1].offset + 1;
      }
      return out;
    },
    async stop() {
      await Promise.all(members.map((m) => m.broker.stop().catch(() => undefined)));
      await app.close();
      await controller.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
