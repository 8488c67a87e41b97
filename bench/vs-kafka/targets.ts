/**
 * The brokers bench/vs-kafka.ts measures. A target is anything that speaks Kafka on a bootstrap
 * address and has one process (tree) whose CPU and memory can be read; each starts in its own temp
 * data dir and is stopped (and the dir removed) before the next one starts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, REPO, startKafka, startServerProcess } from '../../test/helpers/apache-kafka.ts';

export interface Target {
  name: string;
  bootstrap: string;
  /** The server process; its descendants are measured with it. */
  pid: number;
  /** A line on how it was configured, printed under the table. */
  description: string;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /**
   * Broker properties, by Kafka's names, on top of the target's own settings (for Kafka in its
   * server.properties, for Tributary as `--set` flags); named in the target's description.
   */
  properties?: Record<string, string | number | boolean>;
}

export interface TargetFactory {
  name: string;
  start(options?: TargetOptions): Promise<Target>;
}

/** ", plus a=1 b=2" for the description line, or nothing. */
function settings(properties: TargetOptions['properties'] = {}): string {
  const set = Object.entries(properties).map(([k, v]) => `${k}=${String(v)}`);
  return set.length === 0 ? '' : `, plus ${set.join(' ')}`;
}

/** Apache Kafka, one KRaft node (broker and controller in one JVM) with the stock 1 GiB heap. */
export const apacheKafka: TargetFactory = {
  name: 'kafka',
  async start(options = {}) {
    const kafka = await startKafka({ heapMb: 1024, properties: options.properties });
    return {
      name: 'kafka',
      bootstrap: kafka.bootstrap,
      pid: kafka.pid,
      description:
        'Apache Kafka (hack/kafka/pom.xml), one KRaft broker+controller JVM, -Xmx1g, G1, stock settings' +
        settings(options.properties),
      stop: () => kafka.stop(),
    };
  },
};

const NODE = join(REPO, 'node_modules/.bin/node');

/**
 * `tributary broker` from the sources, run by the project's Node 24 directly (not through npx, so
 * that the pid measured is the broker's). It is ready when it logs `{"msg":"Broker ready",
 * "bootstrap":…}` on stdout.
 */
export const tributary: TargetFactory = {
  name: 'tributary',
  async start(options = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), 'tributary-bench-broker-'));
    const [port, adminPort] = await freePorts(2);
    const logFile = join(dataDir, 'broker.log');
    mkdirSync(join(dataDir, 'data'));
    const server = startServerProcess({
      name: 'tributary broker',
      command: NODE,
      args: [
        join(REPO, 'src/cli/main.ts'),
        'broker',
        '--listen',
        `127.0.0.1:${port}`,
        '--admin-listen',
        `127.0.0.1:${adminPort}`,
        '--data-dir',
        join(dataDir, 'data'),
        // JSON lines, whatever the default: readiness is read from them.
        '--log-format',
        'json',
        ...Object.entries(options.properties ?? {}).flatMap(([k, v]) => ['--set', `${k}=${String(v)}`]),
      ],
      logFile,
      cwd: REPO,
    });
    let bootstrap = `127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
      await server.stop(20_000);
      rmSync(dataDir, { recursive: true, force: true });
    };
    try {
      await server.waitReady(() => {
        const ready = readyLine(readFileSync(logFile, 'utf8'));
        if (ready) bootstrap = ready; // ready is '' when the line names no address
        return ready !== undefined;
      }, 30_000);
    } catch (err) {
      await stop();
      throw err;
    }
    return {
      name: 'tributary',
      bootstrap,
      pid: server.pid,
      description: `Tributary (src/cli/main.ts broker), Node ${process.versions.node}, default settings${settings(options.properties)}`,
      stop,
    };
  },
};

/** The bootstrap address of the broker's "Broker ready" log line, once there is one. */
function readyLine(log: string): string | undefined {
  for (const line of log.split('\n')) {
    if (!line.includes('Broker ready')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; bootstrap?: unknown };
      if (entry.msg === 'Broker ready') return typeof entry.bootstrap === 'string' ? entry.bootstrap : '';
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}
