/**
 * `tributary dev [--brokers N]`: Tributary on one machine, without Kubernetes.
 *
 * With one broker (the default) it is `tributary broker` with development defaults (./broker.ts).
 * With N > 1 this process is a supervisor, as a kubelet is for pods: it runs `tributary controller`
 * and N `tributary broker` processes as its children (the same Node and entry script it was started
 * with, so it works from src/ and from dist/), restarts any that dies with a back-off, prefixes their
 * log lines with their names on a terminal, prints how to connect once every broker is ready, and on
 * Ctrl-C stops the brokers first (each does its controlled shutdown) and the controller last.
 * Children never outlive it, even when it is SIGKILLed: each reads a pipe from it on stdin and exits
 * when the pipe closes (./exit-with-parent.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { resolve as resolvePath, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { LOG_LEVELS, createLogger, type LogLevel, type Logger } from '../common/logger.ts';
import { ensureTokenFile } from '../controller/token.ts';
import { EXIT_WITH_PARENT_ENV } from './exit-with-parent.ts';

const MAX_BROKERS = 9;
const DEFAULT_ROOT = 'tributary-data';
const DEFAULT_PORT = 9092;
const DEFAULT_ADMIN_PORT = 9644;
/** A broker's controlled shutdown plus its own shutdown.timeout.ms, with room to spare. */
const BROKER_STOP_TIMEOUT_MS = 30_000;
const CONTROLLER_STOP_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 250;
const CONTROLLER_START_WAIT_MS = 10_000;

export const DEV_USAGE = `tributary dev [--brokers N] [--data-dir DIR] [--port 9092] [--admin-port 9644] [--set NAME=VALUE]...

Runs Tributary on this machine for development. Ctrl-C stops it cleanly; the data stays for next time.

  --brokers 1 (the default): one broker, Kafka on 127.0.0.1:9092, admin HTTP on 127.0.0.1:9644, data
  in ./tributary-data. Takes every flag of \`tributary broker\` too (see \`tributary broker --help\`).

  --brokers N (2 to ${MAX_BROKERS}): a cluster of N brokers and a metadata controller, each its own process,
  supervised by this one:
    broker i (i = 0..N-1)   Kafka on 127.0.0.1:(9092+i), admin HTTP (/readyz, /metrics) on
                            127.0.0.1:(9644+i), data in ./tributary-data/broker-i
    controller              API on 127.0.0.1:9643, data in ./tributary-data/controller, with a token
                            generated once into ./tributary-data/controller/token
  default.replication.factor and offsets.topic.replication.factor default to min(3, N).
  A process that dies is restarted (after 0.5 s, doubling to 10 s). Ctrl-C or SIGTERM: every broker
  does a controlled shutdown (its leaderships move away first), then the controller stops; a second
  Ctrl-C stops everything at once. The processes never outlive this one, even if it is killed.

Flags (with --brokers N > 1):
  --brokers N                 how many brokers (1-${MAX_BROKERS}, default 1)
  --data-dir DIR              the root of every process's data (default ./${DEFAULT_ROOT})
  --port PORT                 broker i's Kafka port is PORT+i (default ${DEFAULT_PORT})
  --advertised-port PORT      broker i tells clients and the other brokers to connect to
                              127.0.0.1:(PORT+i) (default: --port), for a proxy or port forward in front
  --admin-port PORT           broker i's admin port is PORT+i (default ${DEFAULT_ADMIN_PORT})
  --controller-port PORT      the controller's API port (default: admin port - 1, so 9643)
  --broker-controller-port PORT
                              broker i reaches the controller at 127.0.0.1:(PORT+i) (default: the
                              controller's port for every broker), for a proxy per broker in front
  --set NAME=VALUE            a broker property for every broker (repeatable); num.partitions,
                              default.replication.factor, delete.topic.enable,
                              auto.leader.rebalance.enable, leader.imbalance.check.interval.seconds
                              and leader.imbalance.per.broker.percentage go to the controller too
  --log-format json|pretty    pretty lines prefixed with each process's name (the default on a
                              terminal), or JSON lines passed through as they are (the default otherwise)
  --log-level LEVEL           ${LOG_LEVELS.join(', ')} (default info)`;

const CLUSTER_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  'advertised-port': { type: 'string' },
  'admin-port': { type: 'string' },
  'controller-port': { type: 'string' },
  'broker-controller-port': { type: 'string' },
  set: { type: 'string', multiple: true },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

class UsageError extends Error {}

export async function runDev(args: string[]): Promise<number> {
  let brokers: number;
  let rest: string[];
  try {
    ({ brokers, rest } = takeBrokersFlag(args));
  } catch (err) {
    console.error(`tributary dev: ${(err as Error).message}`);
    console.error('Run `tributary dev --help` for the flags.');
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(DEV_USAGE);
    return 0;
  }
  if (brokers === 1) {
    const refusal = clusterDataRefusal(rest);
    if (refusal) {
      console.error(refusal);
      return 2;
    }
    return (await import('./broker.ts')).runBroker('dev', rest);
  }
  let plan: Plan;
  try {
    plan = planCluster(brokers, rest);
  } catch (err) {
    console.error(`tributary dev: ${(err as Error).message}`);
    if (err instanceof UsageError) console.error('Run `tributary dev --help` for the flags.');
    return 2;
  }
  const refusal = singleBrokerDataRefusal(plan);
  if (refusal) {
    console.error(refusal);
    return 2;
  }
  return superviseCluster(plan);
}

/** `--brokers N` or `--brokers=N` taken out of the arguments, checked. */
export function takeBrokersFlag(args: string[]): { brokers: number; rest: string[] } {
  const rest: string[] = [];
  let text: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a === '--brokers') {
      text = args[++i];
      if (text === undefined) throw new UsageError('--brokers takes a number, got nothing');
    } else if (a.startsWith('--brokers=')) {
      text = a.slice('--brokers='.length);
    } else {
      rest.push(a);
    }
  }
  if (text === undefined) return { brokers: 1, rest };
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_BROKERS) {
    throw new UsageError(`--brokers takes a whole number from 1 to ${MAX_BROKERS}, got "${text}"`);
  }
  return { brokers: n, rest };
}

interface Plan {
  brokers: number;
  root: string;
  port: number;
  advertisedPort: number;
  adminPort: number;
  controllerPort: number;
  /** Broker i's controller.address port is this plus i; null: the controller's own for all. */
  brokerControllerPort: number | null;
  sets: string[];
  pretty: boolean;
  logLevel: LogLevel | undefined;
}

function planCluster(brokers: number, args: string[]): Plan {
  let values;
  try {
    ({ values } = parseArgs({ args, options: CLUSTER_OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(
      `${(err as Error).message} (with --brokers ${brokers}, dev takes only the flags listed by --help)`,
    );
  }
  const port = portFlag('--port', values.port, DEFAULT_PORT, brokers);
  const advertisedPort = portFlag('--advertised-port', values['advertised-port'], port, brokers);
  const adminPort = portFlag('--admin-port', values['admin-port'], DEFAULT_ADMIN_PORT, brokers);
  const controllerPort = portFlag('--controller-port', values['controller-port'], adminPort - 1, 1);
  const brokerControllerPort =
    values['broker-controller-port'] === undefined
      ? null
      : portFlag('--broker-controller-port', values['broker-controller-port'], 0, brokers);
  const sets = values.set ?? [];
  for (const kv of sets) {
    if (kv.indexOf('=') <= 0) throw new UsageError(`--set takes NAME=VALUE, got "${kv}"`);
  }
  const format = values['log-format'] ?? (process.stdout.isTTY ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty') {
    throw new UsageError(`--log-format takes json or pretty, got "${format}"`);
  }
  const logLevel = values['log-level'] as LogLevel | undefined;
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return {
    brokers,
    root: resolvePath(values['data-dir'] ?? DEFAULT_ROOT),
    port,
    advertisedPort,
    adminPort,
    controllerPort,
    brokerControllerPort,
    sets,
    pretty: format === 'pretty',
    logLevel,
  };
}

function portFlag(flag: string, text: string | undefined, def: number, count: number): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n + count - 1 > 65535) {
    throw new UsageError(`${flag} takes a port from 1 to ${65536 - count}, got "${text}"`);
  }
  return n;
}

/** A single broker's data (its metadata.json at the root) cannot become a cluster's: say what to do. */
function singleBrokerDataRefusal(plan: Plan): string | null {
  if (!existsSync(join(plan.root, 'metadata.json'))) return null;
  return [
    `tributary dev: ${plan.root} holds the data of a single broker (it has a metadata.json),`,
    `which --brokers ${plan.brokers} cannot use. Either:`,
    `  - keep using it with one broker:   tributary dev --brokers 1`,
    `  - start the cluster somewhere else: tributary dev --brokers ${plan.brokers} --data-dir ./tributary-cluster`,
    `  - or move it away and start again:  mv ${plan.root} ${plan.root}.single`,
  ].join('\n');
}

/** The reverse: a cluster's root used with one broker would start an empty broker beside its data. */
function clusterDataRefusal(args: string[]): string | null {
  const i = args.findIndex((a) => a === '--data-dir' || a.startsWith('--data-dir='));
  const given =
    i < 0 ? undefined : args[i].includes('=') ? args[i].split('=').slice(1).join('=') : args[i + 1];
  const root = resolvePath(given ?? DEFAULT_ROOT);
  if (!existsSync(join(root, 'controller')) || existsSync(join(root, 'metadata.json'))) return null;
  return [
    `tributary dev: ${root} holds a cluster's data (controller/, broker-*/), not a single broker's. Either:`,
    `  - run the cluster again:           tributary dev --brokers N`,
    `  - or start one broker elsewhere:    tributary dev --data-dir ./tributary-single`,
  ].join('\n');
}

// The supervisor

/** Properties that the controller decides with, so they are passed to it from --set too. */
const CONTROLLER_PROPERTIES: Record<string, string> = {
  'num.partitions': '--num-partitions',
  'default.replication.factor': '--default-replication-factor',
  'delete.topic.enable': '--delete-topic-enable',
  'auto.leader.rebalance.enable': '--auto-leader-rebalance-enable',
  'leader.imbalance.check.interval.seconds': '--leader-imbalance-check-interval-seconds',
  'leader.imbalance.per.broker.percentage': '--leader-imbalance-per-broker-percentage',
};

async function superviseCluster(plan: Plan): Promise<number> {
  const log = supervisorLogger(plan);
  const tokenFile = join(plan.root, 'controller', 'token');
  try {
    ensureTokenFile(tokenFile);
  } catch (err) {
    console.error(
      `tributary dev: cannot create the controller token ${tokenFile}: ${(err as Error).message}`,
    );
    return 1;
  }
  const rf = String(Math.min(3, plan.brokers));
  const logFlags = [
    '--log-format',
    plan.pretty ? 'pretty' : 'json',
    ...(plan.logLevel ? ['--log-level', plan.logLevel] : []),
  ];
  const controllerFlags = new Map<string, string>([['--default-replication-factor', rf]]);
  for (const kv of plan.sets) {
    const name = kv.slice(0, kv.indexOf('=')).trim();
    if (CONTROLLER_PROPERTIES[name])
      controllerFlags.set(CONTROLLER_PROPERTIES[name], kv.slice(kv.indexOf('=') + 1));
  }
  const controllerAddress = `127.0.0.1:${plan.controllerPort}`;
  const brokerController = (i: number): string =>
    plan.brokerControllerPort === null ? controllerAddress : `127.0.0.1:${plan.brokerControllerPort + i}`;

  const nameWidth = 'controller'.length;
  let configError: string | null = null;
  let markDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (markDone = resolve));
  const children: Supervised[] = [];
  const onConfigError = (name: string): void => {
    if (configError !== null) return;
    configError = name;
    log.error(`${name} refused its configuration (exit code 2); stopping everything`);
    void stopAll().then(() => markDone(2));
  };
  const make = (name: string, args: string[]): Supervised =>
    new Supervised({ name, args, prefix: plan.pretty ? name.padEnd(nameWidth) : null, log, onConfigError });

  const controller = make('controller', [
    'controller',
    '--data-dir',
    join(plan.root, 'controller'),
    '--listen',
    controllerAddress,
    '--token-file',
    tokenFile,
    ...[...controllerFlags].flat(),
    ...logFlags,
  ]);
  const brokers = Array.from({ length: plan.brokers }, (_, i) =>
    make(`broker-${i}`, [
      'broker',
      '--node-id',
      String(i),
      '--listen',
      `127.0.0.1:${plan.port + i}`,
      '--advertise',
      `127.0.0.1:${plan.advertisedPort + i}`,
      '--admin-listen',
      `127.0.0.1:${plan.adminPort + i}`,
      '--data-dir',
      join(plan.root, `broker-${i}`),
      ...logFlags,
      ...[`controller.address=${brokerController(i)}`, 'controller.token.file=' + tokenFile]
        .concat([`default.replication.factor=${rf}`, `offsets.topic.replication.factor=${rf}`], plan.sets)
        .flatMap((kv) => ['--set', kv]),
    ]),
  );
  children.push(controller, ...brokers);
  process.on('exit', () => {
    for (const c of children) c.killNow();
  });

  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(brokers.map((b) => b.stop(BROKER_STOP_TIMEOUT_MS)));
      await controller.stop(CONTROLLER_STOP_TIMEOUT_MS);
    })();
    return stopping;
  };
  const onSignal = (signal: string): void => {
    if (stopping) {
      log.warn(`Received ${signal} again: killing every process without waiting`);
      for (const c of children) c.killNow();
      process.exit(130);
    }
    log.info({ signal }, 'Stopping: a controlled shutdown of every broker, then the controller');
    void stopAll().then(() => {
      log.info('Stopped every process');
      markDone(configError === null ? 0 : 2);
    });
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => onSignal(s));

  controller.start();
  // Brokers would only log that the controller is not reachable yet; give it a moment first.
  await waitForHttp(`http://${controllerAddress}/healthz`, CONTROLLER_START_WAIT_MS, () => stopping !== null);
  for (const b of brokers) b.start();
  log.info(
    { brokers: plan.brokers, root: plan.root, controller: controllerAddress },
    `Started the controller and ${plan.brokers} brokers; waiting for them to be ready`,
  );
  void announceWhenReady(plan, () => stopping !== null);
  return done;
}

function supervisorLogger(plan: Plan): Logger {
  try {
    return createLogger({ name: 'dev', level: plan.logLevel ?? 'info', pretty: plan.pretty });
  } catch {
    return createLogger({ name: 'dev', level: plan.logLevel ?? 'info' });
  }
}

/**
 * Whether `url` answers 200. Over node:http without keep-alive, not fetch: fetch's pooled
 * connections would keep this process alive for seconds after everything else stopped.
 */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Polls `url` until it answers 200, `timeoutMs` passes or `stopped()`. */
async function waitForHttp(url: string, timeoutMs: number, stopped: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!stopped() && Date.now() < deadline && !(await answers(url))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function announceWhenReady(plan: Plan, stopped: () => boolean): Promise<void> {
  const urls = Array.from(
    { length: plan.brokers },
    (_, i) => `http://127.0.0.1:${plan.adminPort + i}/readyz`,
  );
  while (!stopped()) {
    if ((await Promise.all(urls.map(answers))).every(Boolean)) {
      if (!stopped()) printClusterBanner(plan);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

function printClusterBanner(plan: Plan): void {
  // What clients are told (Metadata) is what they should bootstrap from: the advertised addresses.
  const bootstrap = Array.from(
    { length: plan.brokers },
    (_, i) => `127.0.0.1:${plan.advertisedPort + i}`,
  ).join(',');
  const first = `127.0.0.1:${plan.adminPort}`;
  const last = `127.0.0.1:${plan.adminPort + plan.brokers - 1}`;
  console.log(
    [
      '',
      `  Tributary is running: ${plan.brokers} brokers and a controller. Bootstrap servers: ${bootstrap}`,
      '',
      `  kcat:     kcat -b ${bootstrap} -L`,
      `            echo 'k1:hello' | kcat -b ${bootstrap} -t demo -K: -P`,
      `            kcat -b ${bootstrap} -t demo -C -e`,
      `  kafkajs:  new Kafka({ brokers: [${bootstrap
        .split(',')
        .map((b) => `'${b}'`)
        .join(', ')}] })`,
      `  Java:     bootstrap.servers=${bootstrap}`,
      `  metrics:  http://${first}/metrics … http://${last}/metrics   health: …/readyz`,
      `  controller: http://127.0.0.1:${plan.controllerPort}   data: ${plan.root}`,
      '',
      '  Ctrl-C stops it cleanly (brokers first, each handing its leaderships over); the data stays.',
      '',
    ].join('\n'),
  );
}

const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 10_000;
/** A process that stayed up this long starts its back-off over, as a kubelet's does. */
const RESTART_RESET_AFTER_MS = 30_000;

/** The delay before restarting a process that exited after `upMs`, given the last delay. */
export function restartDelay(previousMs: number | null, upMs: number): number {
  if (previousMs === null || upMs >= RESTART_RESET_AFTER_MS) return FIRST_RESTART_DELAY_MS;
  return Math.min(previousMs * 2, MAX_RESTART_DELAY_MS);
}

interface SupervisedOptions {
  name: string;
  /** Arguments after the entry script: `broker --node-id 0 …`. */
  args: string[];
  /** Put before each of its lines (pretty logs), or null to pass lines through as they are (JSON). */
  prefix: string | null;
  log: Logger;
  /** It exited with code 2: its configuration is wrong, and restarting it would not help. */
  onConfigError: (name: string) => void;
}

/** One child process, restarted when it dies until it is told to stop. */
class Supervised {
  readonly #o: SupervisedOptions;
  readonly #log: Logger;
  #child: ChildProcess | null = null;
  #startedAt = 0;
  #delay: number | null = null;
  #restartTimer: NodeJS.Timeout | null = null;
  #stopping = false;
  #exited: Promise<void> = Promise.resolve();

  constructor(o: SupervisedOptions) {
    this.#o = o;
    this.#log = o.log.child({ process: o.name });
  }

  start(): void {
    this.#restartTimer = null;
    if (this.#stopping) return;
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...this.#o.args], {
      // The pipe on stdin is how the child knows this process is gone; detached, so that a Ctrl-C
      // at the terminal reaches only the supervisor, which stops the brokers before the controller.
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: {
        ...process.env,
        [EXIT_WITH_PARENT_ENV]: '1',
        // Its output is a pipe to us; colour only if it ends on a terminal.
        ...(this.#o.prefix !== null && process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}),
      },
    });
    this.#child = child;
    this.#startedAt = Date.now();
    this.#pipe(child.stdout, process.stdout);
    this.#pipe(child.stderr, process.stderr);
    child.stdin?.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.#log.error({ err }, 'Could not start the process');
        resolve();
      });
      child.on('exit', (code, signal) => {
        resolve();
        this.#onExit(code, signal);
      });
    });
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#child?.stdin?.destroy();
    this.#child = null;
    if (this.#stopping) return;
    if (code === 2) {
      this.#o.onConfigError(this.#o.name);
      return;
    }
    const upMs = Date.now() - this.#startedAt;
    this.#delay = restartDelay(this.#delay, upMs);
    this.#log.warn(
      { exitCode: code, signal, upMs, restartInMs: this.#delay },
      `${this.#o.name} exited; restarting it`,
    );
    this.#restartTimer = setTimeout(() => this.start(), this.#delay);
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.#log.warn({ timeoutMs }, `${this.#o.name} did not stop in time; killing it`);
      child.kill('SIGKILL');
    }, timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }

  killNow(): void {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#child?.kill('SIGKILL');
  }

  #pipe(from: NodeJS.ReadableStream | null, to: NodeJS.WriteStream): void {
    if (!from) return;
    // Line by line even without a prefix, so that lines of different processes never interleave.
    const prefix = this.#o.prefix === null ? '' : `${this.#o.prefix} │ `;
    createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) =>
      to.write(`${prefix}${line}\n`),
    );
  }
}
