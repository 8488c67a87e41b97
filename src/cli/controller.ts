/**
 * `tributary controller`: the metadata controller as its own process (what `tributary dev --brokers
 * N` runs beside its brokers): the Controller over a LocalFileStore in --data-dir, served to brokers
 * by the controller HTTP API (src/controller/http-server.ts). SIGTERM or Ctrl-C ends the image
 * streams (brokers keep serving with the image they have) and closes the store cleanly.
 */
import { parseArgs } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { systemClock } from '../common/clock.ts';
import { LOG_LEVELS, createLogger, type LogLevel, type Logger } from '../common/logger.ts';
import { Controller, type ControllerSettings } from '../controller/controller.ts';
import { buildControllerApp } from '../controller/http-server.ts';
import { REBALANCE_DEFAULTS } from '../controller/leader-rebalance.ts';
import { LocalFileStore } from '../controller/store.ts';
import { TOKEN_ENV, readTokenFile } from '../controller/token.ts';
import { nodeFs } from '../storage/fs.ts';
import { exitWithParent } from './exit-with-parent.ts';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'data-dir': { type: 'string' },
  listen: { type: 'string' },
  'token-file': { type: 'string' },
  'session-timeout-ms': { type: 'string' },
  'num-partitions': { type: 'string' },
  'default-replication-factor': { type: 'string' },
  'delete-topic-enable': { type: 'string' },
  'auto-leader-rebalance-enable': { type: 'string' },
  'leader-imbalance-check-interval-seconds': { type: 'string' },
  'leader-imbalance-per-broker-percentage': { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

const DEFAULTS = {
  dataDir: 'tributary-data/controller',
  listen: '0.0.0.0:9643',
  // Kafka's broker.session.timeout.ms is 9000; a closed image stream fences a dead broker at once,
  // so this only has to catch a stopped or cut-off one (docs/adr/0015).
  sessionTimeoutMs: 3000,
  numPartitions: 1,
  defaultReplicationFactor: 1,
};

export const CONTROLLER_USAGE = `tributary controller --data-dir DIR --token-file FILE [flags]

Runs the metadata controller on its own: brokers started with
--set controller.address=HOST:PORT register with it, receive metadata from it, and ask it for
leadership and ISR changes and topic administration. Its state is one file in --data-dir, replaced
atomically at every decision. Stops cleanly on SIGTERM. (\`tributary dev --brokers N\` runs one.)

Flags:
  --data-dir DIR                    where the state is kept (default ${DEFAULTS.dataDir})
  --listen HOST:PORT                the broker API, /healthz, /readyz and /metrics (default ${DEFAULTS.listen})
  --token-file FILE                 the shared secret brokers must send (else $${TOKEN_ENV})
  --session-timeout-ms N            fence a broker whose heartbeats stop for this long (default ${DEFAULTS.sessionTimeoutMs});
                                    a broker whose connection closes is fenced at once
  --num-partitions N                partitions of a topic created with -1 (default ${DEFAULTS.numPartitions})
  --default-replication-factor N    replication factor of a topic created with -1 (default ${DEFAULTS.defaultReplicationFactor})
  --delete-topic-enable true|false  allow DeleteTopics (default true)
  --auto-leader-rebalance-enable true|false
                                    elect preferred replicas back to leadership on a timer (default true)
  --leader-imbalance-check-interval-seconds N
                                    how often to check (default ${REBALANCE_DEFAULTS.leaderImbalanceCheckIntervalMs / 1000})
  --leader-imbalance-per-broker-percentage N
                                    rebalance a broker that does not lead more than N% of the
                                    partitions it is preferred for (default ${REBALANCE_DEFAULTS.leaderImbalancePerBrokerPercentage})
  --log-format json|pretty          (pretty needs the development install; default json)
  --log-level LEVEL                 ${LOG_LEVELS.join(', ')} (default info)`;

class UsageError extends Error {}

interface Settings {
  dataDir: string;
  listen: { host: string; port: number };
  token: string;
  controller: ControllerSettings;
  logLevel: LogLevel;
  pretty: boolean;
}

export async function runController(args: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(args);
  } catch (err) {
    console.error(`tributary controller: ${(err as Error).message}`);
    console.error('Run `tributary controller --help` for the flags.');
    return 2;
  }
  if (values.help) {
    console.log(CONTROLLER_USAGE);
    return 0;
  }
  let settings: Settings;
  let log: Logger;
  try {
    settings = settingsFrom(values);
  } catch (err) {
    console.error(`tributary controller: ${(err as Error).message}`);
    if (err instanceof UsageError) console.error('Run `tributary controller --help` for the flags.');
    return 2;
  }
  try {
    log = createLogger({ name: 'controller', level: settings.logLevel, pretty: settings.pretty });
  } catch {
    // pino-pretty is a development dependency: a production install logs JSON instead.
    log = createLogger({ name: 'controller', level: settings.logLevel });
  }

  let controller: Controller;
  try {
    controller = await Controller.open({
      store: new LocalFileStore({ dir: settings.dataDir, fs: nodeFs }),
      clock: systemClock,
      logger: log,
      settings: settings.controller,
    });
  } catch (err) {
    log.error({ err }, 'The controller could not load its state');
    console.error(
      `tributary controller: cannot open the state in ${settings.dataDir}: ${(err as Error).message}`,
    );
    return 1;
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const app = buildControllerApp({ service: controller, token: settings.token, logger: log, registry });
  try {
    await app.listen(settings.listen);
  } catch (err) {
    log.error({ err }, 'Could not open the controller listener');
    const hint =
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? ' Another process holds the port; stop it or pick another with --listen.'
        : '';
    console.error(
      `tributary controller: cannot listen on ${settings.listen.host}:${settings.listen.port}: ${(err as Error).message}.${hint}`,
    );
    await controller.close();
    return 1;
  }
  log.info({ listen: app.listeningOrigin, dataDir: settings.dataDir }, 'Controller listening');

  const reason = await new Promise<string>((resolve) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) {
        log.warn(`Received ${why} again: exiting without finishing the shutdown`);
        process.exit(130);
      }
      stopping = true;
      resolve(why);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    exitWithParent(() => {
      log.warn('The supervising process exited; stopping');
      stop('the supervisor exited');
      setTimeout(() => process.exit(1), 5000).unref();
    });
  });
  log.info({ reason }, 'Stopping the controller');
  try {
    await app.close();
    await controller.close();
  } catch (err) {
    log.error({ err }, 'Shutdown failed');
    return 1;
  }
  log.info('Stopped the controller');
  return 0;
}

function parse(args: string[]) {
  return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
}

function settingsFrom(values: ReturnType<typeof parse>): Settings {
  const listenText = values.listen ?? DEFAULTS.listen;
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]*):(\d{1,5})$/.exec(listenText);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`--listen takes HOST:PORT, got "${listenText}"`);
  const listen = { host: m[1] === '' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };

  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const format = values['log-format'] ?? 'json';
  if (format !== 'json' && format !== 'pretty') {
    throw new UsageError(`--log-format takes json or pretty, got "${format}"`);
  }
  const deleteText = boolean('--delete-topic-enable', values['delete-topic-enable'] ?? 'true');
  const rebalanceText = boolean(
    '--auto-leader-rebalance-enable',
    values['auto-leader-rebalance-enable'] ?? String(REBALANCE_DEFAULTS.autoLeaderRebalanceEnable),
  );
  const controller: ControllerSettings = {
    sessionTimeoutMs: integer(
      '--session-timeout-ms',
      values['session-timeout-ms'],
      DEFAULTS.sessionTimeoutMs,
      100,
      3_600_000,
    ),
    numPartitions: integer('--num-partitions', values['num-partitions'], DEFAULTS.numPartitions, 1, 100_000),
    defaultReplicationFactor: integer(
      '--default-replication-factor',
      values['default-replication-factor'],
      DEFAULTS.defaultReplicationFactor,
      1,
      32767,
    ),
    deleteTopicEnable: deleteText === 'true',
    autoLeaderRebalanceEnable: rebalanceText === 'true',
    leaderImbalanceCheckIntervalMs:
      integer(
        '--leader-imbalance-check-interval-seconds',
        values['leader-imbalance-check-interval-seconds'],
        REBALANCE_DEFAULTS.leaderImbalanceCheckIntervalMs / 1000,
        1,
        86_400,
      ) * 1000,
    leaderImbalancePerBrokerPercentage: integer(
      '--leader-imbalance-per-broker-percentage',
      values['leader-imbalance-per-broker-percentage'],
      REBALANCE_DEFAULTS.leaderImbalancePerBrokerPercentage,
      0,
      100,
    ),
  };

  let token: string;
  const tokenFile = values['token-file'];
  if (tokenFile !== undefined) {
    token = readTokenFile(tokenFile);
  } else {
    const fromEnv = process.env[TOKEN_ENV]?.trim();
    if (!fromEnv) {
      throw new UsageError(
        `needs the token brokers will send: --token-file FILE, or the ${TOKEN_ENV} environment variable`,
      );
    }
    token = fromEnv;
  }
  return {
    dataDir: values['data-dir'] ?? DEFAULTS.dataDir,
    listen,
    token,
    controller,
    logLevel,
    pretty: format === 'pretty',
  };
}

function boolean(flag: string, text: string): string {
  if (text !== 'true' && text !== 'false') throw new UsageError(`${flag} takes true or false, got "${text}"`);
  return text;
}

function integer(flag: string, text: string | undefined, def: number, min: number, max: number): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}
