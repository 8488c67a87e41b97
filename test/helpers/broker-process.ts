/**
 * The broker as a separate process, for integration tests that must see what a user sees: the real
 * CLI (`tributary broker`), real signals, real restarts on the same data directory.
 *
 * `spawnBroker()` starts `src/cli/main.ts broker` on free loopback ports and resolves once the broker
 * has logged "Broker ready". `restart()` starts it again on the same ports and data directory, so
 * clients that cached the address reconnect to it. The process is SIGKILLed if the test process exits
 * without stopping it, and by a detached watchdog shell if the test process dies outright.
 *
 * What the broker printed is kept (`output()`) and shown when it fails to start or exits on its own.
 * Set TRIBUTARY_TEST_BROKER_LOGS=1 to see every line as it comes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const KEPT_LINES = 5000;

export interface SpawnBrokerOptions {
  /** Reuse a data directory; a fresh temp dir (removed by `remove()`) when absent. */
  dataDir?: string;
  /** Broker properties by Kafka name, passed as `--set name=value`. */
  properties?: Record<string, string>;
  /** Added to the environment (TRIBUTARY_* variables of the test process are not passed on). */
  env?: Record<string, string>;
}

export interface BrokerProcess {
  /** "127.0.0.1:port", the same across restarts. */
  readonly bootstrap: string;
  readonly port: number;
  /** "http://127.0.0.1:port" of the admin HTTP server (/metrics, /readyz). */
  readonly adminUrl: string;
  /** The current process's id (a restart changes it). */
  readonly pid: number;
  readonly dataDir: string;
  /** SIGTERM, then waits for the exit; the exit code (128 + signal number if a signal ended it). */
  stop(): Promise<number>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** Stops it (SIGTERM) if it runs, then starts it again on the same ports and data directory. */
  restart(): Promise<void>;
  /** Stops it if it runs and deletes the data directory if this helper created it. */
  remove(): Promise<void>;
  /** What the broker printed (stdout and stderr), most recent lines. */
  output(): string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(child: ChildProcess): void {
  live.add(child);
  void once(child, 'exit').then(() => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** A detached shell that SIGKILLs the broker once the test process is gone (even after SIGKILL). */
function watchdog(brokerPid: number): ChildProcess {
  const dog = spawn(
    'sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null',
      'tributary-broker-watchdog',
      String(process.pid),
      String(brokerPid),
    ],
    { stdio: 'ignore', detached: true },
  );
  dog.unref();
  return dog;
}

function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TRIBUTARY_')) env[k] = v;
  return { ...env, ...extra };
}

function exitCode(child: ChildProcess): number {
  if (child.exitCode !== null) return child.exitCode;
  const signal = child.signalCode;
  return signal ? 128 + (constants.signals[signal] ?? 0) : -1;
}

interface Running {
  child: ChildProcess;
  dog: ChildProcess;
  exited: Promise<unknown>;
  /** Set before we signal it, so an exit we asked for is not reported as a failure. */
  expectedExit: boolean;
}

export async function spawnBroker(o: SpawnBrokerOptions = {}): Promise<BrokerProcess> {
  const ownsDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'trib-broker-proc-'));
  const lines: string[] = [];
  const echo = process.env['TRIBUTARY_TEST_BROKER_LOGS'] === '1';
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > KEPT_LINES) lines.splice(0, lines.length - KEPT_LINES);
    if (echo) process.stderr.write(`[broker] ${line}\n`);
  };
  const output = (): string => lines.join('\n');

  let kafkaPort = 0;
  let adminPort = 0;
  let current: Running | null = null;

  const start = async (): Promise<void> => {
    const args = [
      MAIN,
      'broker',
      '--listen',
      `127.0.0.1:${kafkaPort}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      '--data-dir',
      dataDir,
      '--log-format',
      'json',
      '--log-level',
      'info',
      ...Object.entries(o.properties ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(o.env) });
    if (child.pid === undefined) throw new Error(`could not spawn ${process.execPath} ${args.join(' ')}`);
    killAllOnExit(child);
    const run: Running = {
      child,
      dog: watchdog(child.pid),
      exited: once(child, 'exit'),
      expectedExit: false,
    };
    current = run;

    let resolveReady!: (addr: { bootstrap: string; admin: string }) => void;
    const ready = new Promise<{ bootstrap: string; admin: string }>((r) => (resolveReady = r));
    const onLine = (line: string): void => {
      keep(line);
      if (!line.includes('"Broker ready"')) return;
      try {
        const entry = JSON.parse(line) as { msg?: string; bootstrap?: string; admin?: string };
        if (entry.msg === 'Broker ready' && entry.bootstrap && entry.admin)
          resolveReady({ bootstrap: entry.bootstrap, admin: entry.admin });
      } catch {
        // Not a log line of ours; kept for the output all the same.
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8').on('data', (s: string) => {
        partial += s;
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          onLine(partial.slice(0, nl));
          partial = partial.slice(nl + 1);
        }
      });
    }
    void run.exited.then(() => {
      run.dog.kill('SIGKILL');
      if (!run.expectedExit) {
        process.stderr.write(
          `broker process ${child.pid} exited on its own (${exitCode(child)}); its output:\n${output()}\n`,
        );
      }
    });

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready,
      run.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), READY_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (outcome === 'exited' || outcome === 'timeout') {
      run.expectedExit = true;
      child.kill('SIGKILL');
      await run.exited;
      throw new Error(
        outcome === 'exited'
          ? `the broker exited during start-up (${exitCode(child)}):\n${output()}`
          : `the broker was not ready after ${READY_TIMEOUT_MS} ms:\n${output()}`,
      );
    }
    kafkaPort = Number(outcome.bootstrap.split(':').pop());
    adminPort = Number(outcome.admin.split(':').pop());
  };

  const signal = async (sig: NodeJS.Signals): Promise<number> => {
    const run = current;
    if (!run) throw new Error('the broker is not running');
    current = null;
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.expectedExit = true;
      run.child.kill(sig);
    }
    await run.exited;
    return exitCode(run.child);
  };

  await start();
  return {
    get bootstrap() {
      return `127.0.0.1:${kafkaPort}`;
    },
    get port() {
      return kafkaPort;
    },
    get adminUrl() {
      return `http://127.0.0.1:${adminPort}`;
    },
    get pid() {
      if (!current) throw new Error('the broker is not running');
      return current.child.pid!;
    },
    dataDir,
    stop: () => signal('SIGTERM'),
    kill: async () => {
      await signal('SIGKILL');
    },
    async restart() {
      if (current) await signal('SIGTERM');
      await start();
    },
    async remove() {
      if (current) await signal('SIGTERM');
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
    output,
  };
}
