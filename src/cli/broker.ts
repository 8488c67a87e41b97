/**
 * `tributary broker` and `tributary dev` (its single-broker form for now): flags → configuration →
 * a running Broker, stopped cleanly on SIGTERM or Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Broker } from '../broker/broker.ts';
import { describeBrokerProperties, envName, loadBrokerConfig } from '../broker/config.ts';
import { TributaryError } from '../common/errors.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { parsePropertiesText } from '../common/properties.ts';

/** Short flags and the property each sets (the long form is `--set name=value`). */
const PROPERTY_FLAGS = {
  'data-dir': 'log.dirs',
  listen: 'listeners',
  'admin-listen': 'admin.listener',
  advertise: 'advertised.listeners',
  'node-id': 'node.id',
  'log-format': 'log.format',
  'log-level': 'log.level',
} as const;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  config: { type: 'string', short: 'c' },
  set: { type: 'string', multiple: true },
  port: { type: 'string' },
  'admin-port': { type: 'string' },
  ...Object.fromEntries(Object.keys(PROPERTY_FLAGS).map((k) => [k, { type: 'string' }])),
} as const;

export const BROKER_USAGE = `tributary broker [--config FILE] [--set NAME=VALUE]... [flags]

Runs one broker: the Kafka protocol on its listener (default 0.0.0.0:9092) and admin HTTP
(/healthz, /readyz, /metrics) on its own port (default 0.0.0.0:9644). Stops cleanly on SIGTERM.

Flags:
  -c, --config FILE          a server.properties file (Kafka's property names)
  --set NAME=VALUE           set any property (repeatable); wins over the file and environment
  --data-dir DIR             log.dirs
  --listen HOST:PORT         listeners
  --admin-listen HOST:PORT   admin.listener
  --advertise HOST:PORT      advertised.listeners (what clients are told to connect to)
  --node-id N                node.id
  --log-format json|pretty   log.format (pretty needs the development install)
  --log-level LEVEL          log.level (fatal, error, warn, info, debug, trace, silent)

Every property can also come from the environment: ${envName('log.dirs')}=/data sets log.dirs.
The file is also read from TRIBUTARY_CONFIG. Precedence: flags > environment > file > defaults.

Properties:
${describeBrokerProperties().join('\n')}`;

export const DEV_USAGE = `tributary dev [--data-dir DIR] [--port 9092] [--admin-port 9644] [--set NAME=VALUE]...

Runs a broker on this machine for development: Kafka on 127.0.0.1:9092, admin HTTP on
127.0.0.1:9644, data in ./tributary-data. Ctrl-C stops it cleanly; the data stays for next time.
Takes every flag of \`tributary broker\` too (see \`tributary broker --help\`).`;

type Role = 'broker' | 'dev';

export async function runBroker(role: Role, args: string[]): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    console.error(`tributary ${role}: ${(err as Error).message}`);
    console.error(`Run \`tributary ${role} --help\` for the flags.`);
    return 2;
  }
  if (values['help']) {
    console.log(role === 'dev' ? DEV_USAGE : BROKER_USAGE);
    return 0;
  }

  const flags = new Map<string, string>();
  for (const [flag, property] of Object.entries(PROPERTY_FLAGS)) {
    const v = values[flag];
    if (typeof v === 'string') flags.set(property, v);
  }
  if (typeof values['port'] === 'string') flags.set('listeners', `127.0.0.1:${values['port']}`);
  if (typeof values['admin-port'] === 'string')
    flags.set('admin.listener', `127.0.0.1:${values['admin-port']}`);
  for (const kv of (values['set'] as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) {
      console.error(`tributary ${role}: --set takes NAME=VALUE, got "${kv}".`);
      return 2;
    }
    flags.set(kv.slice(0, eq).trim(), kv.slice(eq + 1));
  }

  const configPath = (values['config'] as string | undefined) ?? process.env['TRIBUTARY_CONFIG'];
  let file: Map<string, string> | undefined;
  if (configPath) {
    try {
      file = parsePropertiesText(readFileSync(configPath, 'utf8'));
    } catch (err) {
      console.error(
        `tributary ${role}: cannot read the config file ${configPath}: ${(err as Error).message}`,
      );
      return 2;
    }
  }

  const roleDefaults =
    role === 'dev'
      ? new Map([
          ['listeners', '127.0.0.1:9092'],
          ['admin.listener', '127.0.0.1:9644'],
          ['log.format', process.stdout.isTTY ? 'pretty' : 'json'],
        ])
      : undefined;

  let loaded;
  try {
    loaded = loadBrokerConfig({ file, env: process.env, flags, roleDefaults });
  } catch (err) {
    console.error(`tributary ${role}: ${(err as Error).message}`);
    console.error(
      `Fix the value (flag, ${configPath ? configPath + ', ' : ''}or TRIBUTARY_* variable) and start again.`,
    );
    return 2;
  }
  const { config, warnings } = loaded;
  let logger: Logger;
  try {
    logger = createLogger({ name: role, level: config.logLevel, pretty: config.logFormat === 'pretty' });
  } catch {
    logger = createLogger({ name: role, level: config.logLevel });
  }
  for (const w of warnings) logger.warn(w);

  const broker = new Broker({ config, logger });
  let stopping = false;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn(`Received ${signal} again: exiting without finishing the shutdown`);
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'Stopping');
    broker.stop().then(markStopped, (err: unknown) => {
      logger.error({ err }, 'Shutdown failed');
      process.exitCode = 1;
      markStopped();
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const releaseStdin = exitWithParent(logger, () => stop('parent exited'));

  try {
    const addr = await broker.start();
    if (role === 'dev')
      printDevBanner(addr.bootstrap, `http://${addr.admin.host}:${addr.admin.port}`, config.dataDir);
  } catch (err) {
    logger.error({ err }, 'Broker failed to start');
    console.error(
      `tributary ${role}: could not start: ${startHint(err, config.listener.port, config.adminListener.port)}`,
    );
    await broker.stop().catch(() => undefined);
    releaseStdin();
    return 1;
  }
  await stopped;
  releaseStdin();
  return 0;
}

/**
 * A child of `tributary dev` gets a pipe on stdin and TRIBUTARY_EXIT_WITH_PARENT=1: when the pipe
 * closes, the supervisor is gone (even SIGKILLed, which no signal handler sees), and so must we be.
 * The stop is the usual clean one, cut short after a few seconds.
 */
export function exitWithParent(logger: Logger, stop: () => void): () => void {
  if (process.env['TRIBUTARY_EXIT_WITH_PARENT'] !== '1') return () => undefined;
  const gone = (): void => {
    logger.warn('The supervising process exited; stopping');
    stop();
    setTimeout(() => process.exit(1), 5000).unref();
  };
  process.stdin.once('end', gone);
  process.stdin.once('close', gone);
  process.stdin.resume();
  // Once stopped, the open stdin must not keep the process alive.
  return () => {
    process.stdin.off('end', gone);
    process.stdin.off('close', gone);
    process.stdin.destroy();
  };
}

function startHint(err: unknown, kafkaPort: number, adminPort: number): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    return `${e.message}. Another process holds the port (Kafka ${kafkaPort}, admin ${adminPort}); stop it or pick other ports (--port / --admin-port for dev, --listen / --admin-listen for broker).`;
  }
  if (e.code === 'EACCES') return `${e.message}. Check the permissions of the data directory and the ports.`;
  if (err instanceof TributaryError) return `${err.message} [${err.code}]`;
  return e.message ?? String(err);
}

function printDevBanner(bootstrap: string, adminUrl: string, dataDir: string): void {
  console.log(
    [
      '',
      `  Tributary is running. Bootstrap server: ${bootstrap}`,
      '',
      `  kcat:     kcat -b ${bootstrap} -L`,
      `            echo 'k1:hello' | kcat -b ${bootstrap} -t demo -K: -P`,
      `            kcat -b ${bootstrap} -t demo -C -e`,
      `  kafkajs:  new Kafka({ brokers: ['${bootstrap}'] })`,
      `  Java:     bootstrap.servers=${bootstrap}`,
      `  metrics:  ${adminUrl}/metrics   health: ${adminUrl}/readyz`,
      `  data:     ${dataDir}`,
      '',
      '  Ctrl-C stops it cleanly; the data stays for the next start.',
      '',
    ].join('\n'),
  );
}
