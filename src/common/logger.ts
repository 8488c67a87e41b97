/**
 * The one logger. Everything logs through a `Logger` it was given, adding context with
 * `log.child({ topic, partition })`; nothing creates its own or writes to the console.
 *
 * JSON lines by default (what log collectors on Kubernetes expect); `pretty` is for a person at a
 * terminal running dev mode.
 */

import { createRequire } from 'node:module';
import { pino, type LevelWithSilent, type Logger as PinoLogger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { ConfigInvalidError } from './errors.ts';

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Lowest level written; `info` when absent. */
  readonly level?: LogLevel;
  /** Human-readable lines instead of JSON. Needs pino-pretty, which only development installs have. */
  readonly pretty?: boolean;
  /** Written on every line as `name`: which program logged it (`broker`, `operator`, …). */
  readonly name?: string;
  /** Where lines go; standard output when absent. Tests pass their own to read what was logged. */
  readonly destination?: { write(line: string): void };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  // The level usually comes from a config file or environment variable, so TypeScript has not
  // checked it; pino's own error for a bad one does not say where it came from.
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigInvalidError({ field: 'level', value: level, allowed: LOG_LEVELS });
  }
  const base = { level, ...(options.name === undefined ? {} : { name: options.name }) };
  if (options.pretty === true) {
    return pino(base, prettyStream(options.destination));
  }
  return pino(base, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

/**
 * Formats in this thread, synchronously, rather than through pino's worker-thread transport: dev
 * mode's volume is small, and lines then come out in order with the process's other output and are
 * not lost when it exits abruptly.
 */
function prettyStream(destination: LoggerOptions['destination']): { write(line: string): void } {
  let pinoPretty: typeof PinoPretty;
  try {
    // Loaded only when asked for: pino-pretty is a development dependency, absent from a production
    // install, and a static import would break the broker's start-up there.
    pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  } catch (cause) {
    throw new ConfigInvalidError(
      {
        field: 'pretty',
        value: true,
        allowed: 'false, unless pino-pretty (a development dependency) is installed',
      },
      { cause },
    );
  }
  // Colour only on the real terminal (pino-pretty's check honours NO_COLOR and FORCE_COLOR).
  const prettify = pinoPretty.prettyFactory({
    colorize: destination === undefined && pinoPretty.isColorSupported,
  });
  const out = destination ?? pino.destination({ dest: 1, sync: true });
  return { write: (line: string) => void out.write(prettify(line)) };
}

/** Discards everything; for tests and for code paths that must be handed some logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
