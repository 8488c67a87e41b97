/**
 * Replication: Tributary (`tributary dev --brokers 3`) against Apache Kafka 3.9 as a 3-broker KRaft
 * cluster with a dedicated controller, on the same machine, with the same clients:
 *
 *   node bench/replication.ts [--quick] [--target=kafka|kafka-tuned|tributary] [--kills=N] [--stops=N]
 *
 * (a) produce on an RF=3 topic with min.insync.replicas=2, acks=all, 1 KiB records, with Kafka's
 *     ProducerPerformance: unthrottled (throughput) and at a fixed rate (latency p50/p99);
 * (b) failover: SIGKILL of a partition's leader → the first acknowledged write on that partition, as
 *     seen by a Java producer writing every 5 ms with acks=all (test/fault/FailoverProbe.java),
 *     over N kills (20, 5 with --quick), the killed broker back and the ISR full between kills;
 * (c) the same with SIGSTOP instead (a hung leader, its connections open: only missed heartbeats
 *     tell), resumed between stops (10, 3 with --quick). A killed Tributary broker is noticed at once
 *     (its session with the controller is a connection, which the kernel closes), a killed Kafka
 *     broker only by its missed heartbeats: (c) compares the two at their session timeouts.
 * Kafka is measured at its defaults (broker.session.timeout.ms 9000) and, for failover, tuned
 * (session 1000 ms, heartbeat 250 ms); Tributary at its defaults. Targets run one after the other,
 * each alone on the machine. A target that does not start is reported as skipped with the reason.
 */
import { availableParallelism, loadavg } from 'node:os';
import { ensureKafkaJars } from '../test/helpers/apache-kafka.ts';
import { printTable } from './harness.ts';
import { measureFailover, PROBE_INTERVAL_MS, type Fault, type FailoverRun } from './replication/failover.ts';
import { apacheKafka, apacheKafkaTuned, tributary, type TargetFactory } from './replication/targets.ts';
import {
  measureThroughput,
  PARTITIONS,
  RECORD_SIZE,
  type ProduceCase,
  type ProduceRow,
} from './replication/throughput.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const KILLS = Number(flag('kills') ?? (quick ? 5 : 20));
const STOPS = Number(flag('stops') ?? (quick ? 3 : 10));
const RECORDS = quick ? 20_000 : 200_000;
const RATE = quick ? 1_000 : 2_000;
const RATE_SECONDS = quick ? 5 : 15;
const CASES: ProduceCase[] = [
  { label: 'acks=all unthrottled', records: RECORDS, rate: -1 },
  { label: `acks=all @${RATE}/s`, records: RATE * RATE_SECONDS, rate: RATE },
];

interface Outcome {
  description?: string;
  skipped?: string;
  produce?: Map<string, ProduceRow | { failed: string }>;
  failover: Map<Fault, FailoverRun | { failed: string }>;
}

const log = (name: string) => (line: string) => console.log(`${name}: ${line}`);

async function measure(factory: TargetFactory, run: string): Promise<Outcome> {
  console.log(`\n${factory.name}: starting`);
  const started = performance.now();
  let target;
  try {
    target = await factory.start();
  } catch (err) {
    return { skipped: `did not start: ${(err as Error).message}`, failover: new Map() };
  }
  console.log(
    `${factory.name}: ready on ${target.bootstrap} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const outcome: Outcome = { description: target.description, failover: new Map() };
  try {
    if (factory.throughput) {
      outcome.produce = await measureThroughput(target, {
        run,
        cases: CASES,
        warmUpRecords: Math.ceil(RECORDS / 4),
        log: log(factory.name),
      });
    }
    for (const [fault, times] of [
      ['kill', KILLS],
      ['stop', STOPS],
    ] as const) {
      if (times === 0) continue;
      try {
        outcome.failover.set(
          fault,
          await measureFailover(target, {
            topic: `bench-${fault}-${run}`,
            fault,
            times,
            log: log(factory.name),
          }),
        );
      } catch (err) {
        const failed = (err as Error).message.split('\n').slice(0, 4).join(' / ');
        outcome.failover.set(fault, { failed });
        console.log(`${factory.name}: ${fault} failover failed: ${failed}`);
      }
    }
  } finally {
    await target.stop();
  }
  return outcome;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`;

function reportProduce(outcomes: Map<string, Outcome>): void {
  const table: string[][] = [];
  for (const c of CASES) {
    const rowOf = (name: string) => {
      const r = outcomes.get(name)?.produce?.get(c.label);
      return r && !('failed' in r) ? r : undefined;
    };
    for (const [name, o] of outcomes) {
      const r = o.produce?.get(c.label);
      if (!r) continue;
      if ('failed' in r) {
        table.push([c.label, name, '-', '-', '-', '-', `failed: ${r.failed.slice(0, 100)}`]);
        continue;
      }
      const notes = [
        r.errors > 0 ? `${r.errors} send errors` : '',
        r.stored !== c.records ? `topic holds ${r.stored}` : '',
      ];
      table.push([
        c.label,
        name,
        r.mbPerSec.toFixed(1),
        r.recordsPerSec.toFixed(0),
        String(r.p50Ms),
        String(r.p99Ms),
        notes.filter(Boolean).join(', '),
      ]);
    }
    const k = rowOf('kafka');
    const t = rowOf('tributary');
    if (k && t) {
      table.push([
        '',
        'tributary/kafka',
        ratio(t.mbPerSec, k.mbPerSec),
        ratio(t.recordsPerSec, k.recordsPerSec),
        ratio(t.p50Ms, k.p50Ms),
        ratio(t.p99Ms, k.p99Ms),
        '',
      ]);
    }
  }
  if (table.length === 0) return;
  printTable(
    `(a) produce, RF=3, min.insync.replicas=2, acks=all, ${RECORD_SIZE}-byte records, ${PARTITIONS} partitions, ProducerPerformance${quick ? ' (quick)' : ''}`,
    ['case', 'cluster', 'MB/s', 'records/s', 'p50 ms', 'p99 ms', 'note'],
    table,
  );
}

function reportFailover(outcomes: Map<string, Outcome>, fault: Fault, title: string): void {
  const stats = new Map<
    string,
    { p50: number; p99: number; min: number; max: number; mean: number; n: number }
  >();
  const table: string[][] = [];
  for (const [name, o] of outcomes) {
    const f = o.failover.get(fault);
    if (!f) continue;
    if ('failed' in f) {
      table.push([name, '-', '-', '-', '-', '-', '-', `failed: ${f.failed.slice(0, 120)}`]);
      continue;
    }
    const sorted = [...f.times].sort((a, b) => a - b);
    if (sorted.length === 0) {
      table.push([name, '0', '-', '-', '-', '-', '-', f.failures.slice(0, 2).join('; ')]);
      continue;
    }
    const s = {
      n: sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      min: sorted[0]!,
      max: sorted.at(-1)!,
      mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    };
    stats.set(name, s);
    const ms = (n: number) => n.toFixed(0);
    table.push([
      name,
      String(s.n),
      ms(s.p50),
      ms(s.p99),
      ms(s.min),
      ms(s.max),
      ms(s.mean),
      f.failures.length > 0 ? `${f.failures.length} failed: ${f.failures[0]}` : '',
    ]);
  }
  const t = stats.get('tributary');
  for (const base of ['kafka', 'kafka-tuned']) {
    const k = stats.get(base);
    if (t && k) {
      table.push([
        `tributary/${base}`,
        '',
        ratio(t.p50, k.p50),
        ratio(t.p99, k.p99),
        ratio(t.min, k.min),
        ratio(t.max, k.max),
        ratio(t.mean, k.mean),
        '',
      ]);
    }
  }
  if (table.length === 0) return;
  printTable(title, ['cluster', 'runs', 'p50', 'p99', 'min', 'max', 'mean', 'note'], table);
}

async function main(): Promise<void> {
  const only = flag('target');
  const factories = [apacheKafka, apacheKafkaTuned, tributary].filter(
    (f) => only === undefined || f.name === only,
  );
  if (factories.length === 0)
    throw new Error(`--target must be kafka, kafka-tuned or tributary, not ${only}`);
  await ensureKafkaJars();
  const load = (): string => loadavg()[0].toFixed(1);
  console.log(`${availableParallelism()} cores; load average ${load()} before the run`);
  const run = Date.now().toString(36);
  const outcomes = new Map<string, Outcome>();
  for (const factory of factories) {
    const o = await measure(factory, run);
    if (o.skipped) console.log(`${factory.name}: SKIPPED, ${o.skipped.split('\n')[0]}`);
    outcomes.set(factory.name, o);
  }
  reportProduce(outcomes);
  const probe = `first acks=all acknowledgement after it (ms), a write every ${PROBE_INTERVAL_MS} ms`;
  reportFailover(outcomes, 'kill', `(b) failover: SIGKILL of the partition leader -> ${probe}`);
  reportFailover(outcomes, 'stop', `(c) failover: SIGSTOP of the partition leader (hung) -> ${probe}`);
  console.log(
    '\nLatency: send to acknowledgement as ProducerPerformance measures it (idempotent producer, acks=all).',
  );
  console.log(
    'Failover: from just before the signal to the first acknowledgement of a record sent after it; the probe (Java client) caps its back-offs at 100 ms and its request timeout at 2 s.',
  );
  for (const [name, o] of outcomes) {
    console.log(
      `${name}: ${o.skipped ? `SKIPPED, ${o.skipped.split('\n').slice(0, 8).join('\n    ')}` : o.description}`,
    );
  }
  console.log(`load average ${load()} after the run`);
  const kafka = outcomes.get('kafka');
  if (kafka?.skipped) process.exitCode = 1;
}

await main();
