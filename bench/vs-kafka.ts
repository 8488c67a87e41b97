/**
 * Tributary against Apache Kafka 3.9 on the same machine, under the same load from Kafka's own tools
 * (ProducerPerformance, ConsumerPerformance from kafka-tools, the Java client):
 *
 *   node bench/vs-kafka.ts [--quick] [--target=kafka|tributary] [--records=N] [--rate=N]
 *
 * Both brokers run side by side on loopback. Each is started, given one topic of 8 partitions per
 * producer case, and warmed up with an unmeasured unthrottled run; then each case runs against one
 * target after the other (the other idles):
 *   - produce N records of 1 KiB, unthrottled, with acks=1 and with acks=all;
 *   - produce at a fixed rate (well under either broker's ceiling) with acks=1 and acks=all, where
 *     the latency percentiles are the point;
 *   - consume the acks=1 topic from the start.
 * Per case: MB/s and records/s as the tool reports them, its latency percentiles (send to
 * acknowledgement), and the broker's CPU seconds (its process tree, from /proc) and peak RSS
 * (VmHWM, reset before each case). Then the ratios Tributary/Kafka.
 *
 * Kafka's jars come from Maven Central through hack/kafka/fetch.sh (cached). If the Tributary broker
 * does not start, its side is skipped with the reason, and Kafka's figures are still printed.
 * The tools and the broker share the machine's cores, the same for both targets.
 */
import { Admin } from '@platformatic/kafka';
import { availableParallelism, loadavg } from 'node:os';
import { ensureKafkaJars } from '../test/helpers/apache-kafka.ts';
import { printTable } from './harness.ts';
import { consumerPerformance, producerPerformance } from './vs-kafka/perf-tools.ts';
import { cpuSeconds, peakRssBytes, resetPeakRss } from './vs-kafka/proc-stats.ts';
import { apacheKafka, tributary, type Target, type TargetFactory } from './vs-kafka/targets.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const RECORD_SIZE = 1024;
const PARTITIONS = 8;
const RECORDS = Number(flag('records') ?? (quick ? 20_000 : 200_000));
const RATE = Number(flag('rate') ?? (quick ? 1_000 : 5_000));
/**
 * Fixed-rate runs last about this long. ProducerPerformance has no warm-up option in 3.9, and its
 * first moments (a cold client JVM, the first metadata round trip) are slow; a longer run dilutes
 * them, for both targets alike.
 */
const RATE_SECONDS = quick ? 4 : 15;
/** Records sent unthrottled before measuring, so the broker's JIT is warm for the first case too. */
const WARM_UP_RECORDS = Math.ceil(RECORDS / 4);
const MiB = 1024 * 1024;

interface Case {
  label: string;
  kind: 'produce' | 'consume';
  acks?: '1' | 'all';
  /** Records per second, -1 for unthrottled. */
  rate?: number;
  records: number;
  /** For consume: the producer case whose topic it reads. */
  reads?: string;
}

const CASES: Case[] = [
  { label: 'produce acks=1', kind: 'produce', acks: '1', rate: -1, records: RECORDS },
  { label: 'produce acks=all', kind: 'produce', acks: 'all', rate: -1, records: RECORDS },
  {
    label: `produce acks=1 @${RATE}/s`,
    kind: 'produce',
    acks: '1',
    rate: RATE,
    records: RATE * RATE_SECONDS,
  },
  {
    label: `produce acks=all @${RATE}/s`,
    kind: 'produce',
    acks: 'all',
    rate: RATE,
    records: RATE * RATE_SECONDS,
  },
  { label: 'consume', kind: 'consume', records: RECORDS, reads: 'produce acks=1' },
];

interface Row {
  mbPerSec: number;
  recordsPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  cpuSeconds: number;
  peakRssMiB: number;
  note?: string;
}

type Outcome = { rows: Map<string, Row | { failed: string }>; description: string } | { skipped: string };

const topicOf = (run: string, label: string): string =>
  `bench-${run}-${label.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}`;

/** Creates the topics and waits until every partition has a leader. */
async function createTopics(bootstrap: string, topics: string[]): Promise<void> {
  const admin = new Admin({ clientId: 'tributary-bench', bootstrapBrokers: [bootstrap], retries: 3 });
  try {
    await admin.createTopics({ topics, partitions: PARTITIONS, replicas: 1 });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metadata = await admin.metadata({ topics, forceUpdate: true });
      const led = topics.every((t) => metadata.topics.get(t)?.partitions.every((p) => p.leader >= 0));
      if (led) return;
      if (Date.now() > deadline)
        throw new Error(`the topics have no leaders after 30 s: ${topics.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.close();
  }
}

/**
 * Records the topic holds (the sum of its partitions' end offsets): a figure for a broker that
 * acknowledged more than it kept would be no figure at all.
 */
async function storedRecords(bootstrap: string, topic: string): Promise<number> {
  const admin = new Admin({ clientId: 'tributary-bench', bootstrapBrokers: [bootstrap], retries: 3 });
  try {
    const latest = Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({
      partitionIndex,
      timestamp: -1n,
    }));
    const [listed] = await admin.listOffsets({ topics: [{ name: topic, partitions: latest }] });
    return listed.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
  } finally {
    await admin.close();
  }
}

/** The tool's figures for one case, and notes on anything that makes them suspect. */
async function runTool(
  target: Target,
  run: string,
  c: Case,
): Promise<Omit<Row, 'cpuSeconds' | 'peakRssMiB'>> {
  if (c.kind === 'produce') {
    const s = await producerPerformance({
      bootstrap: target.bootstrap,
      topic: topicOf(run, c.label),
      records: c.records,
      recordSize: RECORD_SIZE,
      throughput: c.rate ?? -1,
      acks: c.acks ?? 'all',
      timeoutMs: 300_000,
    });
    return {
      mbPerSec: s.mbPerSec,
      recordsPerSec: s.recordsPerSec,
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      p999Ms: s.p999Ms,
      note: s.errors > 0 ? `${s.errors} send errors` : undefined,
    };
  }
  const s = await consumerPerformance({
    bootstrap: target.bootstrap,
    topic: topicOf(run, c.reads ?? ''),
    records: c.records,
    timeoutMs: 300_000,
  });
  return {
    mbPerSec: s.fetchMbPerSec,
    recordsPerSec: s.fetchRecordsPerSec,
    note:
      s.records < c.records
        ? `read only ${s.records} of ${c.records} records`
        : `group join ${s.rebalanceMs} ms`,
  };
}

/** One case, with the broker's CPU time and peak RSS over it. */
async function runCase(target: Target, run: string, c: Case): Promise<Row> {
  const rssReset = resetPeakRss(target.pid);
  const cpuBefore = cpuSeconds(target.pid);
  const figures = await runTool(target, run, c);
  const cpu = cpuSeconds(target.pid) - cpuBefore;
  const rss = peakRssBytes(target.pid) / MiB;
  const notes = [figures.note];
  if (c.kind === 'produce') {
    const stored = await storedRecords(target.bootstrap, topicOf(run, c.label));
    if (stored !== c.records) notes.push(`topic holds ${stored} of ${c.records} records`);
  }
  if (!rssReset) notes.push('peak RSS since start');
  return { ...figures, cpuSeconds: cpu, peakRssMiB: rss, note: notes.filter(Boolean).join(', ') };
}

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Starts a target, creates its topics and warms it up; or says why it cannot be measured. */
async function prepare(factory: TargetFactory, run: string): Promise<Target | string> {
  console.log(`\n${factory.name}: starting`);
  const started = performance.now();
  let target: Target;
  try {
    target = await factory.start();
  } catch (err) {
    return `did not start: ${(err as Error).message}`;
  }
  console.log(`${factory.name}: ready on ${target.bootstrap} (pid ${target.pid}) in ${seconds(started)}`);
  const labels = ['warm-up', ...CASES.filter((c) => c.kind === 'produce').map((c) => c.label)];
  let step = 'create the topics';
  try {
    await createTopics(
      target.bootstrap,
      labels.map((l) => topicOf(run, l)),
    );
    step = 'warm up';
    const t = performance.now();
    await producerPerformance({
      bootstrap: target.bootstrap,
      topic: topicOf(run, 'warm-up'),
      records: WARM_UP_RECORDS,
      recordSize: RECORD_SIZE,
      throughput: -1,
      acks: '1',
      timeoutMs: 300_000,
    });
    console.log(`${factory.name}: warmed up with ${WARM_UP_RECORDS} records (${seconds(t)})`);
    return target;
  } catch (err) {
    await target.stop();
    return `could not ${step}: ${(err as Error).message}`;
  }
}

/** Runs every case against every prepared target; failures become rows, not exceptions. */
async function measureAll(
  targets: Target[],
  run: string,
): Promise<Map<string, Map<string, Row | { failed: string }>>> {
  const results = new Map(targets.map((t) => [t.name, new Map<string, Row | { failed: string }>()]));
  // Case by case, each target in turn (the others idle meanwhile): load from other work on the
  // machine, drifting over the minutes of the run, then falls on both alike.
  for (const c of CASES) {
    for (const target of targets) {
      const t = performance.now();
      try {
        const row = await runCase(target, run, c);
        results.get(target.name)!.set(c.label, row);
        const latency = row.p99Ms === undefined ? '' : `, p99 ${row.p99Ms} ms`;
        console.log(
          `${target.name}: ${c.label}: ${row.mbPerSec.toFixed(1)} MB/s, ${Math.round(row.recordsPerSec)} records/s${latency} (${seconds(t)})`,
        );
      } catch (err) {
        const failed = (err as Error).message.split('\n').slice(0, 6).join('\n    ');
        results.get(target.name)!.set(c.label, { failed });
        console.log(`${target.name}: ${c.label}: failed: ${failed}`);
      }
    }
  }
  return results;
}

const fixed = (digits: number) => (n: number | undefined) => (n === undefined ? '-' : n.toFixed(digits));
const COLUMNS: Array<{
  name: string;
  value: (r: Row) => number | undefined;
  format: (n: number | undefined) => string;
}> = [
  { name: 'MB/s', value: (r) => r.mbPerSec, format: fixed(1) },
  { name: 'records/s', value: (r) => r.recordsPerSec, format: fixed(0) },
  { name: 'p50 ms', value: (r) => r.p50Ms, format: fixed(0) },
  { name: 'p99 ms', value: (r) => r.p99Ms, format: fixed(0) },
  { name: 'p99.9 ms', value: (r) => r.p999Ms, format: fixed(0) },
  { name: 'CPU s', value: (r) => r.cpuSeconds, format: fixed(1) },
  { name: 'peak RSS MiB', value: (r) => r.peakRssMiB, format: fixed(0) },
];

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return '-';
  if (b === 0) return a === 0 ? '1.00x' : '-'; // e.g. 1 ms against 0 ms: below the tool's resolution
  return `${(a / b).toFixed(2)}x`;
}

/** The line of a tool's failure worth a table cell: its exception's message if it printed one. */
function gist(failure: string): string {
  const lines = failure.split('\n');
  const exception = lines.map((l) => /\b\w+(?:Exception|Error): (.*)/.exec(l)).find((m) => m !== null);
  const text = exception ? exception[0] : lines[0];
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

function report(outcomes: Map<string, Outcome>): void {
  const header = ['case', 'broker', ...COLUMNS.map((c) => c.name), 'note'];
  const table: string[][] = [];
  const rowsOf = (name: string) => {
    const o = outcomes.get(name);
    return o && 'rows' in o ? o.rows : undefined;
  };
  for (const c of CASES) {
    for (const [name] of outcomes) {
      const row = rowsOf(name)?.get(c.label);
      if (!row) continue;
      if ('failed' in row)
        table.push([c.label, name, ...COLUMNS.map(() => '-'), `failed: ${gist(row.failed)}`]);
      else table.push([c.label, name, ...COLUMNS.map((col) => col.format(col.value(row))), row.note ?? '']);
    }
    const k = rowsOf('kafka')?.get(c.label);
    const t = rowsOf('tributary')?.get(c.label);
    if (k && t && !('failed' in k) && !('failed' in t)) {
      table.push(['', 'tributary/kafka', ...COLUMNS.map((col) => ratio(col.value(t), col.value(k))), '']);
    }
  }
  if (table.length === 0) {
    console.log('\nNothing was measured.');
  } else {
    printTable(
      `Tributary vs Apache Kafka: ${RECORD_SIZE}-byte records, ${PARTITIONS} partitions, ProducerPerformance/ConsumerPerformance${quick ? ' (quick)' : ''}`,
      header,
      table,
    );
  }
  console.log(
    '\nLatency: send to acknowledgement as ProducerPerformance measures it; consume rates exclude the group join.',
  );
  console.log('CPU and peak RSS: the broker process (and its children) during the case, from /proc.');
  console.log(
    "acks=1 runs use a plain producer, acks=all runs the idempotent one (the Java client's defaults).",
  );
  for (const [name, o] of outcomes) {
    console.log(
      `${name}: ${'skipped' in o ? `SKIPPED, ${o.skipped.split('\n').slice(0, 12).join('\n    ')}` : o.description}`,
    );
  }
}

async function main(): Promise<void> {
  const only = flag('target');
  const factories = [apacheKafka, tributary].filter((f) => only === undefined || f.name === only);
  if (factories.length === 0) throw new Error(`--target must be kafka or tributary, not ${only}`);
  await ensureKafkaJars(); // before any timing: a cold fetch takes a while
  // The tools and the brokers share the cores with whatever else runs: say how busy they were.
  const load = (): string => loadavg()[0].toFixed(1);
  console.log(`${availableParallelism()} cores; load average ${load()} before the run`);

  const run = Date.now().toString(36);
  const outcomes = new Map<string, Outcome>();
  const targets: Target[] = [];
  try {
    for (const factory of factories) {
      const prepared = await prepare(factory, run);
      if (typeof prepared === 'string') {
        console.log(`${factory.name}: SKIPPED, ${prepared.split('\n')[0]}`);
        outcomes.set(factory.name, { skipped: prepared });
      } else {
        targets.push(prepared);
      }
    }
    const results = await measureAll(targets, run);
    for (const t of targets) outcomes.set(t.name, { rows: results.get(t.name)!, description: t.description });
  } finally {
    for (const t of targets) await t.stop();
  }
  report(new Map(factories.filter((f) => outcomes.has(f.name)).map((f) => [f.name, outcomes.get(f.name)!])));
  console.log(`load average ${load()} after the run`);
  // A skipped Tributary is expected while the broker is being built; a failed Kafka is a broken bench.
  const kafka = outcomes.get('kafka');
  if (kafka && 'skipped' in kafka) process.exitCode = 1;
}

await main();
