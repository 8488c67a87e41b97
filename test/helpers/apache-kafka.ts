/**
 * Apache Kafka for interop tests and benchmarks: the 3.9 jars from Maven Central (hack/kafka/fetch.sh,
 * cached), a single-node KRaft broker on 127.0.0.1, and a runner for any Java main class of those
 * jars (the Java client, ProducerPerformance, TopicCommand…).
 *
 * `startKafka()` writes a server.properties for one combined broker+controller, formats the storage
 * with kafka.tools.StorageTool, starts kafka.Kafka with its output in `<dataDir>/kafka.log`, and
 * resolves once the broker has logged "Kafka Server started" and accepts connections. `stop()` sends
 * SIGTERM (a controlled shutdown), then SIGKILL after a grace period. A server not stopped is killed
 * when the test process exits, and by a watchdog shell if the test process is itself killed.
 * {@link startServerProcess} is the same process handling for other servers (the Tributary broker in
 * bench/vs-kafka.ts and the interop tests).
 *
 * `startKafkaCluster()` is the replicated counterpart: N brokers and one dedicated KRaft controller,
 * each its own JVM, with nodes that can be signalled (SIGKILL, SIGSTOP…) and started again one by one
 * (bench/replication.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FETCH_SCRIPT = join(REPO, 'hack/kafka/fetch.sh');
const TOOLS_LOG4J = join(REPO, 'hack/kafka/log4j-tools.properties');
const SERVER_LOG4J = join(REPO, 'hack/kafka/log4j-server.properties');
/** What KafkaRaftServer logs once the broker and controller are up (KafkaBroker.STARTED_MESSAGE). */
const STARTED_MESSAGE = 'Kafka Server started';

/** The Kafka version hack/kafka/pom.xml pins (and the cache is keyed by). */
export function kafkaVersion(): string {
  const pom = readFileSync(join(REPO, 'hack/kafka/pom.xml'), 'utf8');
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!m) throw new Error('hack/kafka/pom.xml pins no <kafka.version>');
  return m[1];
}

/** `${TRIBUTARY_KAFKA_CACHE:-~/.cache/tributary/kafka}/<version>`, as hack/kafka/fetch.sh lays it out. */
export function kafkaCacheDir(): string {
  const root = process.env['TRIBUTARY_KAFKA_CACHE'] || join(homedir(), '.cache/tributary/kafka');
  return join(root, kafkaVersion());
}

let jars: Promise<string> | undefined;

/**
 * The classpath (`<libs>/*`) of Kafka's jars, fetched first with Maven if they are not cached (one
 * line per downloaded file on stderr; about 10 s cold, nothing when cached).
 */
export function ensureKafkaJars(): Promise<string> {
  jars ??= new Promise<string>((resolvePromise, reject) => {
    const child = spawn('bash', [FETCH_SCRIPT, '--print-classpath'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      // Progress of a cold fetch is worth seeing; the one-line "cached" note is not.
      if (!s.startsWith('kafka-fetch: cached:')) process.stderr.write(s);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const classpath = out.trim().split('\n').pop() ?? '';
      if (code === 0 && classpath !== '') resolvePromise(classpath);
      else reject(new Error(`hack/kafka/fetch.sh failed (exit ${code}):\n${err.trim()}`));
    });
  });
  jars.catch(() => (jars = undefined)); // a failed fetch may be retried
  return jars;
}

/** `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from the PATH. */
export function javaBinary(): string {
  const home = process.env['JAVA_HOME'];
  return home ? join(home, 'bin', 'java') : 'java';
}

export interface RunJavaOptions {
  /** Default: {@link ensureKafkaJars}. */
  classpath?: string;
  /** -Xmx in MiB (default 256). */
  heapMb?: number;
  /** Extra JVM arguments (before the main class). */
  jvmArgs?: string[];
  /** Kill the process after this long (default 120 s). */
  timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of rejecting. */
  allowFailure?: boolean;
  /** Called with each complete stdout line as it arrives. */
  onLine?: (line: string) => void;
  cwd?: string;
}

export interface JavaResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `java -cp <Kafka's jars> <main> <args>` and collects its output. `main` is a class name
 * (`org.apache.kafka.tools.ProducerPerformance`) or the path of a single-file Java program, which
 * Java 11+ compiles in memory and runs. Logging goes to stderr at WARN (hack/kafka/log4j-tools.properties).
 */
export async function runJavaClass(
  main: string,
  args: string[],
  options: RunJavaOptions = {},
): Promise<JavaResult> {
  const classpath = options.classpath ?? (await ensureKafkaJars());
  const jvm = [
    `-Xmx${options.heapMb ?? 256}m`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${TOOLS_LOG4J}`,
    ...(options.jvmArgs ?? []),
  ];
  const child = spawn(javaBinary(), [...jvm, '-cp', classpath, main, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    if (!options.onLine) return;
    partial += s;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      options.onLine(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code, signal] = (await once(child, 'close').finally(() => clearTimeout(timer))) as [
    number | null,
    NodeJS.Signals | null,
  ];
  if (partial !== '' && options.onLine) options.onLine(partial);
  const result = { code, signal, stdout, stderr };
  if (code !== 0 && !options.allowFailure) {
    const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${code ?? signal}`;
    throw new Error(`java ${main} ${args.join(' ')} ${why}:\n${tail(stderr || stdout, 40)}`);
  }
  return result;
}

// --- servers ------------------------------------------------------------------------------------

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** Where the process's stdout and stderr go. */
  readonly logFile: string;
  /** Polls `ready` every 100 ms until it resolves true; rejects (with the log's tail) on exit or timeout. */
  waitReady(ready: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void>;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (default 15 s); resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of the log. */
  logTail(lines?: number): string;
  /** Resolves once the process has exited (whoever ended it), keeping the event loop alive till then. */
  exited(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts a long-running server with stdout and stderr appended to `logFile`. It does not keep the
 * caller's event loop alive; it is SIGKILLed when the caller exits without stopping it, and by a
 * detached watchdog shell if the caller dies outright.
 */
export function startServerProcess(options: {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}): ServerProcess {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      stdio: ['ignore', fd, fd],
      cwd: options.cwd,
      env: options.env ?? process.env,
    });
  } finally {
    closeSync(fd);
  }
  child.on('error', () => undefined); // a failed spawn shows up as an exit in waitReady
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const watchdog = spawn(
    'sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
        'kill -0 "$2" 2>/dev/null || exit 0; kill "$2" 2>/dev/null; sleep 5; kill -9 "$2" 2>/dev/null',
      `${options.name}-watchdog`,
      String(process.pid),
      String(pid),
    ],
    { stdio: 'ignore', detached: true },
  );
  watchdog.unref();
  const exited = once(child, 'exit').then(() => undefined);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const logTail = (lines = 30): string =>
    existsSync(options.logFile) ? tail(readFileSync(options.logFile, 'utf8'), lines) : '';
  let stopping: Promise<void> | undefined;
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    alive,
    logTail,
    exited() {
      child.ref(); // whoever waits for the exit keeps the event loop alive until it comes
      return exited;
    },
    async waitReady(ready, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!alive()) {
          const how = child.exitCode ?? child.signalCode;
          throw new Error(
            `${options.name} exited during start-up (${how}); ${options.logFile}:\n${logTail()}`,
          );
        }
        if (await Promise.resolve(ready()).catch(() => false)) return;
        if (Date.now() > deadline) {
          throw new Error(
            `${options.name} not ready after ${timeoutMs} ms; ${options.logFile}:\n${logTail()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        if (alive()) {
          child.ref(); // keep the caller's event loop alive until it has exited
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        live.delete(child);
        watchdog.kill('SIGKILL');
      })();
      return stopping;
    },
  };
}

/** Free TCP ports on 127.0.0.1 (held together while choosing, so they are distinct). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** True when something accepts a TCP connection on 127.0.0.1:`port`. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

// --- Apache Kafka -------------------------------------------------------------------------------

export interface StartKafkaOptions {
  /** Where the log dirs, server.properties and kafka.log go (default: a fresh temp dir, removed on stop). */
  dataDir?: string;
  /** The client listener's port (default: a free one). */
  port?: number;
  /** The controller listener's port (default: a free one). */
  controllerPort?: number;
  /** Heap (-Xms and -Xmx) in MiB; default 1024, as kafka-server-start.sh. */
  heapMb?: number;
  /** Broker settings added to (or replacing) the generated ones. */
  properties?: Record<string, string | number | boolean>;
  /** How long to wait for the broker (default 90 s). */
  readyTimeoutMs?: number;
}

export interface KafkaServer {
  /** `127.0.0.1:<port>` */
  bootstrap: string;
  port: number;
  controllerPort: number;
  /** The JVM's process id. */
  pid: number;
  dataDir: string;
  /** The broker's log (stdout and stderr). */
  logFile: string;
  /** Controlled shutdown (SIGTERM), SIGKILL after `graceMs` (default 20 s). Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The JVM flags kafka-server-start.sh and kafka-run-class.sh use by default, so that the broker
 * measured is the broker people run.
 */
function kafkaJvmArgs(heapMb: number): string[] {
  return [
    `-Xms${heapMb}m`,
    `-Xmx${heapMb}m`,
    '-server',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-XX:MaxInlineLevel=15',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${SERVER_LOG4J}`,
  ];
}

/** server.properties for one combined broker+controller (node 1) on loopback. */
export function kafkaServerProperties(options: {
  dataDir: string;
  port: number;
  controllerPort: number;
  properties?: Record<string, string | number | boolean>;
}): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${options.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': join(options.dataDir, 'kraft-logs'),
    // One node: internal topics cannot have more replicas than that.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    // The first group member need not wait 3 s for others that will never come.
    'group.initial.rebalance.delay.ms': 0,
    ...options.properties,
  };
  return Object.entries(props)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n')
    .concat('\n');
}

/** Starts a single-node KRaft Kafka on 127.0.0.1; see the module comment. */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaServer> {
  const classpath = await ensureKafkaJars();
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tributary-apache-kafka-'));
  mkdirSync(dataDir, { recursive: true });
  const [freeA, freeB] = await freePorts(2);
  const port = options.port ?? freeA;
  const controllerPort = options.controllerPort ?? freeB;
  const config = join(dataDir, 'server.properties');
  writeFileSync(
    config,
    kafkaServerProperties({ dataDir, port, controllerPort, properties: options.properties }),
  );

  // A Kafka cluster id is a UUID in unpadded base64url (what `kafka-storage random-uuid` prints).
  const clusterId = randomBytes(16).toString('base64url');
  await runJavaClass(
    'kafka.tools.StorageTool',
    ['format', '--config', config, '--cluster-id', clusterId, '--ignore-formatted'],
    { classpath, heapMb: 256, timeoutMs: 60_000 },
  );

  const logFile = join(dataDir, 'kafka.log');
  const server = startServerProcess({
    name: 'kafka',
    command: javaBinary(),
    args: [...kafkaJvmArgs(options.heapMb ?? 1024), '-cp', classpath, 'kafka.Kafka', config],
    logFile,
    cwd: dataDir,
  });
  const stop = async (graceMs = 20_000): Promise<void> => {
    await server.stop(graceMs);
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await server.waitReady(
      async () => readFileSync(logFile, 'utf8').includes(STARTED_MESSAGE) && (await acceptsConnections(port)),
      options.readyTimeoutMs ?? 90_000,
    );
  } catch (err) {
    await stop(5_000);
    throw err;
  }
  return { bootstrap: `127.0.0.1:${port}`, port, controllerPort, pid: server.pid, dataDir, logFile, stop };
}

// --- Apache Kafka, replicated ---------------------------------------------------------------------

/** The dedicated controller's node id (the brokers are 0..N-1, as in `tributary dev`). */
export const KAFKA_CONTROLLER_NODE_ID = 100;

export interface StartKafkaClusterOptions {
  /** Brokers (default 3). */
  brokers?: number;
  /** Root of every node's data (`<root>/node-<id>`); default a fresh temp dir, removed on stop. */
  dataDir?: string;
  /** Heap of each broker in MiB (default 1024, as kafka-server-start.sh); the controller gets 512. */
  heapMb?: number;
  /** Broker settings added to (or replacing) the generated ones, on every broker. */
  properties?: Record<string, string | number | boolean>;
  /** Controller settings added to (or replacing) the generated ones. */
  controllerProperties?: Record<string, string | number | boolean>;
  /** How long to wait for each node (default 120 s: three JVMs start at once on few cores). */
  readyTimeoutMs?: number;
  /**
   * The port broker i advertises (for a proxy in front of it: test/fault/network.ts); by default its
   * own. Brokers' `port`, `address` and the bootstrap are then the advertised ones.
   */
  advertisedPort?: (nodeId: number) => number;
}

export interface KafkaClusterBroker {
  nodeId: number;
  /** The port clients use: the advertised one. */
  port: number;
  /** The port the broker listens on (`port` unless it advertises another). */
  listenPort: number;
  /** `127.0.0.1:<port>` */
  address: string;
}

export interface KafkaCluster {
  /** Every broker's address, comma-separated (Java's bootstrap.servers). */
  bootstrap: string;
  brokers: readonly KafkaClusterBroker[];
  controllerPort: number;
  dataDir: string;
  /** The node's JVM process id (a restart changes it); throws when it does not run. */
  pid(nodeId: number): number;
  alive(nodeId: number): boolean;
  /** Sends `signal`; for one that ends a process (not SIGSTOP/SIGCONT), resolves once it has exited. */
  signal(nodeId: number, signal: NodeJS.Signals): Promise<void>;
  /** Starts a node that is not running again, on its ports and data; resolves once it is up. */
  restart(nodeId: number): Promise<void>;
  /** The node's log (stdout and stderr, appended across restarts). */
  logFile(nodeId: number): string;
  /** The node's directory: server.properties, kafka.log, and its log dirs under kraft-logs/. */
  nodeDir(nodeId: number): string;
  /** Controlled shutdown of every broker, then the controller; removes an own temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * server.properties of one node of a cluster of brokers 0..N-1 and one dedicated KRaft controller:
 * replication factors and min ISR of the internal topics as a production cluster would set them.
 */
export function kafkaClusterNodeProperties(options: {
  nodeId: number;
  dataDir: string;
  /** The broker's client port; absent for the controller. */
  port?: number;
  /** The port the broker tells clients and the other brokers to use (a proxy's); default `port`. */
  advertisedPort?: number;
  controllerPort: number;
  brokers: number;
  properties?: Record<string, string | number | boolean>;
}): string {
  const common = {
    'node.id': options.nodeId,
    'controller.quorum.voters': `${KAFKA_CONTROLLER_NODE_ID}@127.0.0.1:${options.controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': join(options.dataDir, 'kraft-logs'),
  };
  const rf = Math.min(3, options.brokers);
  const role =
    options.port === undefined
      ? { 'process.roles': 'controller', listeners: `CONTROLLER://127.0.0.1:${options.controllerPort}` }
      : {
          'process.roles': 'broker',
          listeners: `PLAINTEXT://127.0.0.1:${options.port}`,
          'advertised.listeners': `PLAINTEXT://127.0.0.1:${options.advertisedPort ?? options.port}`,
          'inter.broker.listener.name': 'PLAINTEXT',
          'default.replication.factor': rf,
          'offsets.topic.replication.factor': rf,
          'transaction.state.log.replication.factor': rf,
          'transaction.state.log.min.isr': Math.min(2, rf),
          'group.initial.rebalance.delay.ms': 0,
        };
  const props = { ...common, ...role, ...options.properties };
  return Object.entries(props)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n')
    .concat('\n');
}

interface ClusterNode {
  nodeId: number;
  config: string;
  logFile: string;
  heapMb: number;
  /** The port that accepts connections once the node is up. */
  port: number;
  server?: ServerProcess;
}

/** Starts brokers 0..N-1 and a dedicated KRaft controller on 127.0.0.1; see the module comment. */
export async function startKafkaCluster(options: StartKafkaClusterOptions = {}): Promise<KafkaCluster> {
  const classpath = await ensureKafkaJars();
  const brokers = options.brokers ?? 3;
  const ownDir = options.dataDir === undefined;
  const root = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tributary-apache-kafka-cluster-'));
  const ports = await freePorts(brokers + 1);
  const controllerPort = ports[brokers]!;
  const clusterId = randomBytes(16).toString('base64url');
  const nodes = new Map<number, ClusterNode>();
  const ids = [KAFKA_CONTROLLER_NODE_ID, ...Array.from({ length: brokers }, (_, i) => i)];
  for (const nodeId of ids) {
    const isController = nodeId === KAFKA_CONTROLLER_NODE_ID;
    const dataDir = join(root, `node-${nodeId}`);
    mkdirSync(dataDir, { recursive: true });
    const config = join(dataDir, 'server.properties');
    const port = isController ? controllerPort : ports[nodeId]!;
    writeFileSync(
      config,
      kafkaClusterNodeProperties({
        nodeId,
        dataDir,
        port: isController ? undefined : port,
        advertisedPort: isController ? undefined : options.advertisedPort?.(nodeId),
        controllerPort,
        brokers,
        properties: isController ? options.controllerProperties : options.properties,
      }),
    );
    const logFile = join(dataDir, 'kafka.log');
    nodes.set(nodeId, {
      nodeId,
      config,
      logFile,
      port,
      heapMb: isController ? 512 : (options.heapMb ?? 1024),
    });
  }
  // One StorageTool run per node, in parallel: each is a JVM start.
  await Promise.all(
    [...nodes.values()].map((n) =>
      runJavaClass(
        'kafka.tools.StorageTool',
        ['format', '--config', n.config, '--cluster-id', clusterId, '--ignore-formatted'],
        { classpath, heapMb: 256, timeoutMs: 120_000 },
      ),
    ),
  );

  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const node = (nodeId: number): ClusterNode => {
    const n = nodes.get(nodeId);
    if (!n) throw new Error(`the Kafka cluster has no node ${nodeId}`);
    return n;
  };
  const alive = (nodeId: number): boolean => node(nodeId).server?.alive() ?? false;
  const start = async (nodeId: number): Promise<void> => {
    const n = node(nodeId);
    if (alive(nodeId)) throw new Error(`Kafka node ${nodeId} is already running`);
    // The log is appended across restarts: only what this run wrote says it is up.
    const from = existsSync(n.logFile) ? readFileSync(n.logFile).length : 0;
    const server = startServerProcess({
      name: `kafka-${nodeId}`,
      command: javaBinary(),
      args: [...kafkaJvmArgs(n.heapMb), '-cp', classpath, 'kafka.Kafka', n.config],
      logFile: n.logFile,
      cwd: dirname(n.config),
    });
    n.server = server;
    await server.waitReady(
      async () =>
        readFileSync(n.logFile).subarray(from).toString('utf8').includes(STARTED_MESSAGE) &&
        (await acceptsConnections(n.port)),
      readyTimeoutMs,
    );
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Brokers first (a controlled shutdown needs the controller), then the controller.
      // A node left stopped (SIGSTOP) by a test could not shut down.
      for (const n of nodes.values()) if (n.server?.alive()) process.kill(n.server.pid, 'SIGCONT');
      await Promise.all(ids.slice(1).map((id) => node(id).server?.stop(20_000)));
      await node(KAFKA_CONTROLLER_NODE_ID).server?.stop(20_000);
      if (ownDir) rmSync(root, { recursive: true, force: true });
    })();
    return stopping;
  };
  try {
    await start(KAFKA_CONTROLLER_NODE_ID);
    await Promise.all(ids.slice(1).map(start));
  } catch (err) {
    await stop();
    throw err;
  }
  const advertised = (nodeId: number): number => options.advertisedPort?.(nodeId) ?? node(nodeId).port;
  return {
    bootstrap: ids
      .slice(1)
      .map((id) => `127.0.0.1:${advertised(id)}`)
      .join(','),
    brokers: ids.slice(1).map((nodeId) => ({
      nodeId,
      port: advertised(nodeId),
      listenPort: node(nodeId).port,
      address: `127.0.0.1:${advertised(nodeId)}`,
    })),
    controllerPort,
    dataDir: root,
    pid(nodeId) {
      const server = node(nodeId).server;
      if (!server?.alive()) throw new Error(`Kafka node ${nodeId} is not running`);
      return server.pid;
    },
    alive,
    async signal(nodeId, signal) {
      const server = node(nodeId).server;
      if (!server?.alive()) throw new Error(`Kafka node ${nodeId} is not running`);
      process.kill(server.pid, signal);
      if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGTSTP') return;
      await server.exited();
      await server.stop(0); // forgets the process and its watchdog
    },
    restart: start,
    logFile: (nodeId) => node(nodeId).logFile,
    nodeDir: (nodeId) => dirname(node(nodeId).config),
    stop,
  };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
