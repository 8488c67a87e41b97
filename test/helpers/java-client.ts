/**
 * The Apache Kafka Java client (3.9, from Maven Central) as interop tests use it: produce keyed
 * records with headers through the idempotent producer, and read them back with assign()/seek().
 * Runs test/interop-java/InteropClient.java and parses its JSON lines. The program is compiled once
 * with javac into the Kafka cache (keyed by the source's hash), so that each run costs a JVM start
 * only; without javac it runs from source (Java's single-file launch), a second or two slower.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureKafkaJars, javaBinary, kafkaCacheDir, REPO, runJavaClass } from './apache-kafka.ts';

const SOURCE = join(REPO, 'test/interop-java/InteropClient.java');
const MAIN_CLASS = 'InteropClient';

let program: Promise<{ main: string; classpath: string }> | undefined;

/** The main class and classpath to run the program with, compiling it first if needed. */
function compiled(): Promise<{ main: string; classpath: string }> {
  program ??= (async () => {
    const jars = await ensureKafkaJars();
    const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
    const dir = join(kafkaCacheDir(), 'interop-java', hash);
    if (!existsSync(join(dir, `${MAIN_CLASS}.class`))) {
      const javac = javaBinary().replace(/java$/, 'javac');
      const staging = `${dir}.${process.pid}.partial`;
      mkdirSync(staging, { recursive: true });
      try {
        await promisify(execFile)(javac, ['-nowarn', '-cp', jars, '-d', staging, SOURCE]);
        rmSync(dir, { recursive: true, force: true });
        renameSync(staging, dir);
      } catch {
        rmSync(staging, { recursive: true, force: true });
        if (!existsSync(join(dir, `${MAIN_CLASS}.class`))) return { main: SOURCE, classpath: jars }; // no javac
      }
    }
    return { main: MAIN_CLASS, classpath: `${dir}:${jars}` };
  })();
  return program;
}

async function runProgram(args: string[], timeoutMs: number) {
  const { main, classpath } = await compiled();
  return runJavaClass(main, args, { classpath, allowFailure: true, timeoutMs });
}

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface JavaProduceOptions {
  bootstrap: string;
  topic: string;
  count: number;
  /** Record i has key `${keyPrefix}${i}` (default `key-`). */
  keyPrefix?: string;
  /** Record i has value `${valuePrefix}${i}`, padded with `x` to `valueSize` (default `value-`). */
  valuePrefix?: string;
  valueSize?: number;
  /** Default 'all', the client's default. */
  acks?: 'all' | '1' | '0';
  /** Default true, the client's default. */
  idempotence?: boolean;
  compression?: Compression;
  /** Send every record to this partition instead of partitioning by key. */
  partition?: number;
  lingerMs?: number;
  /** Further producer settings. */
  props?: Record<string, string | number | boolean>;
  timeoutMs?: number;
}

export interface JavaAck {
  index: number;
  partition: number;
  offset: number;
  timestamp: number;
}

export interface JavaProduceResult {
  /** One per acknowledged record, in the order the client reported them. */
  acks: JavaAck[];
  errors: Array<{ index: number; error: string }>;
  stderr: string;
}

/** Record i carries headers `index` = i and `source` = `java`. Failures are reported, not thrown. */
export async function javaProduce(options: JavaProduceOptions): Promise<JavaProduceResult> {
  const args = [
    'produce',
    '--bootstrap',
    options.bootstrap,
    '--topic',
    options.topic,
    '--count',
    String(options.count),
  ];
  const opt = (name: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) args.push(`--${name}`, String(value));
  };
  opt('key-prefix', options.keyPrefix);
  opt('value-prefix', options.valuePrefix);
  opt('value-size', options.valueSize);
  opt('acks', options.acks);
  opt('idempotence', options.idempotence);
  opt('compression', options.compression);
  opt('partition', options.partition);
  opt('linger-ms', options.lingerMs);
  for (const [k, v] of Object.entries(options.props ?? {})) args.push('--prop', `${k}=${String(v)}`);

  const result = await runProgram(args, options.timeoutMs ?? 90_000);
  const lines = parseLines(result.stdout);
  const done = lines.find((l) => l['type'] === 'done');
  if (!done) {
    throw new Error(`InteropClient produce ended without a result (exit ${result.code}):\n${result.stderr}`);
  }
  const of = (type: string): unknown[] =>
    lines.filter((l) => l['type'] === type).map(({ type: _t, ...rest }) => rest);
  return {
    acks: of('ack') as JavaAck[],
    errors: of('error') as JavaProduceResult['errors'],
    stderr: result.stderr,
  };
}

export interface JavaConsumeOptions {
  bootstrap: string;
  topic: string;
  /** Stop once this many records have arrived. */
  count: number;
  /** Default: every partition of the topic. */
  partitions?: number[];
  /** Where to start in each partition (default 'earliest'). */
  offset?: 'earliest' | 'latest' | number;
  /** Give up after this long (default 30 s); the records read so far are returned. */
  timeoutMs?: number;
  /** Further consumer settings (e.g. `isolation.level`, `fetch.max.bytes`). */
  props?: Record<string, string | number | boolean>;
}

export interface JavaRecord {
  partition: number;
  offset: number;
  timestamp: number;
  leaderEpoch: number | null;
  key: string | null;
  value: string | null;
  /** In record order; a key may repeat. */
  headers: Array<[string, string | null]>;
}

/** Reads records as the Java consumer sees them, in the order it returned them. */
export async function javaConsume(options: JavaConsumeOptions): Promise<JavaRecord[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const args = [
    'consume',
    '--bootstrap',
    options.bootstrap,
    '--topic',
    options.topic,
    '--count',
    String(options.count),
    '--offset',
    String(options.offset ?? 'earliest'),
    '--timeout-ms',
    String(timeoutMs),
  ];
  if (options.partitions) args.push('--partitions', options.partitions.join(','));
  for (const [k, v] of Object.entries(options.props ?? {})) args.push('--prop', `${k}=${String(v)}`);
  // Starting the JVM comes on top of the consumer's own timeout.
  const result = await runProgram(args, timeoutMs + 60_000);
  const lines = parseLines(result.stdout);
  if (!lines.some((l) => l['type'] === 'done')) {
    throw new Error(`InteropClient consume ended without a result (exit ${result.code}):\n${result.stderr}`);
  }
  return lines
    .filter((l) => l['type'] === 'record')
    .map(({ type: _t, ...record }) => record as unknown as JavaRecord);
}

function parseLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
