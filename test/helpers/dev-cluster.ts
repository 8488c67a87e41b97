/**
 * `tributary dev --brokers N` as a process, for the replication tests and bench/replication.ts: what
 * a developer runs, with its real supervisor, so that a broker killed by a test is restarted the way
 * it would be on their machine.
 *
 * `startDevCluster()` picks free ports (a random base in 20000-59999 with every port of the range
 * checked: N Kafka ports, the controller's, N admin ports; or the caller's, with advertised ports for
 * proxies in front as ../fault/network.ts sets up), starts the supervisor in a temp root and
 * resolves once every broker answers /readyz and Metadata lists all N of them. Broker processes are found as the supervisor's descendants, by their
 * data directory (`<root>/broker-<i>`) on their command line, so a restarted broker is found again.
 * The supervisor is stopped with SIGTERM (a controlled shutdown of every broker), SIGKILLed after a
 * grace period, and by a detached watchdog shell if the test process dies outright.
 *
 * Set TRIBUTARY_TEST_BROKER_LOGS=1 to see the supervisor's output as it comes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const KEPT_LINES = 5000;

export interface StartDevClusterOptions {
  /** Brokers (default 3). */
  brokers?: number;
  /** Broker properties by Kafka name, passed as `--set name=value` (if the dev command takes them). */
  properties?: Record<string, string>;
  /** Further arguments for `tributary dev`. */
  args?: string[];
  /** How long to wait for every broker (default 90 s). */
  readyTimeoutMs?: number;
  /**
   * The first of the 2N+1 ports the cluster listens on (N Kafka ports, the controller's, N admin
   * ports), checked free by the caller (default: a free range picked here).
   */
  port?: number;
  /**
   * Brokers advertise 127.0.0.1:(advertisedPort+i) rather than their own port (`tributary dev
   * --advertised-port`): for a proxy in front of each, which must be listening before this is called
   * (clients, the readiness check included, and replication go through it).
   */
  advertisedPort?: number;
  /**
   * Broker i reaches the controller at 127.0.0.1:(brokerControllerPort+i) (`tributary dev
   * --broker-controller-port`): for a proxy per broker on that path, listening before this is called.
   */
  brokerControllerPort?: number;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface DevCluster {
  /** Every broker's address, comma-separated (Java's bootstrap.servers, kcat's -b). */
  readonly bootstrap: string;
  /** Every broker's address (kafkajs's `brokers`). */
  readonly brokers: string[];
  /** The port clients use for broker i: the one it advertises (its own unless `advertisedPort`). */
  port(nodeId: number): number;
  /** The port broker i itself listens on. */
  listenPort(nodeId: number): number;
  /** Broker i's admin HTTP base URL (/readyz, /metrics). */
  adminUrl(nodeId: number): string;
  /** The controller's HTTP base URL. */
  readonly controllerUrl: string;
  readonly root: string;
  /** The supervisor's process id. */
  readonly pid: number;
  /** Broker i's data directory. */
  dataDir(nodeId: number): string;
  /** The process id of broker i as it runs now (a restart changes it); undefined while it is down. */
  brokerPid(nodeId: number): number | undefined;
  /**
   * Sends `signal` to broker i. For a signal that ends it, resolves once that process is gone (the
   * supervisor then restarts it: {@link waitReady}).
   */
  kill(nodeId: number, signal?: NodeJS.Signals): Promise<void>;
  /** Resolves once broker i (restarted or not) answers /readyz with 200. */
  waitReady(nodeId: number, timeoutMs?: number): Promise<void>;
  /** A kafkajs client on every broker (no logging, patient retries), shared by the helpers below. */
  readonly kafka: Kafka;
  /** Leader, replicas and ISR of each partition of `topic`, as Metadata reports them now. */
  partitions(topic: string): Promise<PartitionInfo[]>;
  /** The node id of the partition's leader as Metadata reports it now (-1 for none). */
  leader(topic: string, partition: number): Promise<number>;
  /** What the supervisor and its children printed, most recent lines. */
  output(): string;
  /** SIGTERM to the supervisor and waits for it (SIGKILL after 60 s); removes the root. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Polls `fn` until it returns without throwing (its value is returned) or `timeoutMs` passes (its
 * last error is thrown). For conditions a distributed system reaches eventually: a follower back in
 * the ISR, a leader elected.
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  o: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base such that base..base+count-1 are all free now (not a guarantee for later, but close). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`found no ${count} consecutive free ports in 50 tries`);
}

/** Pids of every descendant of `pid`, from /proc (children files, or each process's parent). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (field 2) is in parentheses and may hold spaces: parse after its end.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // a zombie is already dead
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TRIBUTARY_')) env[k] = v;
  return env;
}

/** A detached shell that stops the supervisor once the test process is gone (even after SIGKILL). */
function watchdog(pid: number): ChildProcess {
  const dog = spawn(
    'sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
        'kill -0 "$2" 2>/dev/null || exit 0; kill "$2" 2>/dev/null; sleep 15; kill -9 "$2" 2>/dev/null',
      'tributary-dev-watchdog',
      String(process.pid),
      String(pid),
    ],
    { stdio: 'ignore', detached: true },
  );
  dog.unref();
  return dog;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startDevCluster(o: StartDevClusterOptions = {}): Promise<DevCluster> {
  const n = o.brokers ?? 3;
  const root = mkdtempSync(join(tmpdir(), 'trib-dev-cluster-'));
  // One range for all: Kafka ports, then the controller's, then the admin ports (as 9092+i, 9643,
  // 9644+i are laid out by default, but adjacent).
  const port = o.port ?? (await freePortRange(2 * n + 1));
  const advertised = o.advertisedPort ?? port;
  const controllerPort = port + n;
  const adminBase = controllerPort + 1;
  const args = [
    MAIN,
    'dev',
    '--brokers',
    String(n),
    '--data-dir',
    root,
    '--port',
    String(port),
    '--admin-port',
    String(adminBase),
    '--controller-port',
    String(controllerPort),
    ...(o.advertisedPort === undefined ? [] : ['--advertised-port', String(o.advertisedPort)]),
    ...(o.brokerControllerPort === undefined
      ? []
      : ['--broker-controller-port', String(o.brokerControllerPort)]),
    ...Object.entries(o.properties ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
  if (child.pid === undefined) throw new Error(`could not spawn ${process.execPath} ${args.join(' ')}`);
  const pid = child.pid;
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const dog = watchdog(pid);
  const exited = once(child, 'exit').then(() => live.delete(child));
  let expectedExit = false;

  const lines: string[] = [];
  const echo = process.env['TRIBUTARY_TEST_BROKER_LOGS'] === '1';
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8').on('data', (s: string) => {
      partial += s;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        lines.push(line);
        if (lines.length > KEPT_LINES) lines.splice(0, lines.length - KEPT_LINES);
        if (echo) process.stderr.write(`[dev] ${line}\n`);
      }
    });
  }
  const output = (): string => lines.join('\n');
  void exited.then(() => {
    dog.kill('SIGKILL');
    if (!expectedExit) {
      process.stderr.write(
        `tributary dev (${pid}) exited on its own (${child.exitCode ?? child.signalCode}); its output:\n${output()}\n`,
      );
    }
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;

  const brokers = Array.from({ length: n }, (_, i) => `127.0.0.1:${advertised + i}`);
  const kafka = new Kafka({
    clientId: 'dev-cluster-helper',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
  });
  let admin: Promise<Admin> | undefined;
  const connectedAdmin = (): Promise<Admin> => {
    admin ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })();
    admin.catch(() => (admin = undefined));
    return admin;
  };

  const dataDir = (nodeId: number): string => join(root, `broker-${nodeId}`);
  const brokerPid = (nodeId: number): number | undefined => {
    const marker = dataDir(nodeId);
    const candidates = descendants(pid).filter((p) =>
      cmdline(p).some((arg) => arg === marker || arg.endsWith(`=${marker}`)),
    );
    // The broker itself, not a wrapper around it: the deepest match.
    return candidates.at(-1);
  };
  const waitReady = async (nodeId: number, timeoutMs = o.readyTimeoutMs ?? 90_000): Promise<void> => {
    const url = `http://127.0.0.1:${adminBase + nodeId}/readyz`;
    await eventually(
      async () => {
        if (!alive()) throw new Error(`tributary dev exited; its output:\n${output()}`);
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
      },
      { timeoutMs, intervalMs: 100 },
    ).catch((err: Error) => {
      throw new Error(
        `broker ${nodeId} not ready after ${timeoutMs} ms: ${err.message}\n${output().slice(-5000)}`,
      );
    });
  };
  const partitions = async (topic: string): Promise<PartitionInfo[]> => {
    const a = await connectedAdmin();
    const { topics } = await a.fetchTopicMetadata({ topics: [topic] });
    const t = topics.find((x) => x.name === topic);
    if (!t) throw new Error(`Metadata has no topic ${topic}`);
    return t.partitions
      .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr }))
      .sort((a, b) => a.partition - b.partition);
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const a = admin;
      admin = undefined;
      await a?.then((x) => x.disconnect()).catch(() => undefined);
      if (alive()) {
        expectedExit = true;
        // A broker a test left stopped (SIGSTOP) could not shut down.
        for (let i = 0; i < n; i++) {
          const p = brokerPid(i);
          if (p !== undefined) process.kill(p, 'SIGCONT');
        }
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          for (const p of descendants(pid)) process.kill(p, 'SIGKILL');
          child.kill('SIGKILL');
        }, 60_000);
        await exited;
        clearTimeout(timer);
      }
      dog.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    await Promise.all(Array.from({ length: n }, (_, i) => waitReady(i)));
    await eventually(
      async () => {
        const a = await connectedAdmin();
        const { brokers: listed } = await a.describeCluster();
        if (listed.length !== n) throw new Error(`DescribeCluster lists ${listed.length} of ${n} brokers`);
      },
      { timeoutMs: 30_000 },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    bootstrap: brokers.join(','),
    brokers,
    port: (nodeId) => advertised + nodeId,
    listenPort: (nodeId) => port + nodeId,
    adminUrl: (nodeId) => `http://127.0.0.1:${adminBase + nodeId}`,
    controllerUrl: `http://127.0.0.1:${controllerPort}`,
    root,
    pid,
    dataDir,
    brokerPid,
    async kill(nodeId, signal = 'SIGKILL') {
      const p = brokerPid(nodeId);
      if (p === undefined) throw new Error(`broker ${nodeId} is not running`);
      process.kill(p, signal);
      if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGTSTP') return;
      await eventually(
        () => {
          if (running(p)) throw new Error(`broker ${nodeId} (pid ${p}) still runs after ${signal}`);
        },
        { timeoutMs: 30_000, intervalMs: 10 },
      );
    },
    waitReady,
    kafka,
    partitions,
    async leader(topic, partition) {
      const p = (await partitions(topic)).find((x) => x.partition === partition);
      if (!p) throw new Error(`Metadata has no ${topic}-${partition}`);
      return p.leader;
    },
    output,
    stop,
  };
}
