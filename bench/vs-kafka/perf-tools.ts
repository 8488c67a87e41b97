/**
 * Kafka's own load generators (org.apache.kafka.tools in kafka-tools), run as a user would run
 * kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh, and their summaries parsed.
 */
import { runJavaClass } from '../../test/helpers/apache-kafka.ts';

export interface ProducerSummary {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgMs: number;
  maxMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Send errors the tool printed (it counts failed sends as sent). */
  errors: number;
}

export interface ProducerRun {
  bootstrap: string;
  topic: string;
  records: number;
  recordSize: number;
  /** Records per second, or -1 for as fast as it can. */
  throughput: number;
  acks: '1' | 'all';
  timeoutMs: number;
}

// "200000 records sent, 52631.6 records/sec (51.40 MB/sec), 412.3 ms avg latency, 900.0 ms max
// latency, 398 ms 50th, 801 ms 95th, 870 ms 99th, 895 ms 99.9th."
const PRODUCER_TOTAL =
  /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/;

/**
 * ProducerPerformance with the client's defaults but for acks (so both targets see the same
 * batching: linger.ms 0, batch.size 16 KiB, no compression; idempotence follows acks).
 */
export async function producerPerformance(run: ProducerRun): Promise<ProducerSummary> {
  const result = await runJavaClass(
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--topic',
      run.topic,
      '--num-records',
      String(run.records),
      '--record-size',
      String(run.recordSize),
      '--throughput',
      String(run.throughput),
      '--producer-props',
      `bootstrap.servers=${run.bootstrap}`,
      `acks=${run.acks}`,
      'client.id=tributary-bench',
    ],
    { heapMb: 512, timeoutMs: run.timeoutMs },
  );
  const m = PRODUCER_TOTAL.exec(result.stdout);
  if (!m) throw new Error(`ProducerPerformance printed no summary:\n${result.stdout}\n${result.stderr}`);
  const n = (i: number): number => Number(m[i]);
  return {
    records: n(1),
    recordsPerSec: n(2),
    mbPerSec: n(3),
    avgMs: n(4),
    maxMs: n(5),
    p50Ms: n(6),
    p95Ms: n(7),
    p99Ms: n(8),
    p999Ms: n(9),
    errors: (result.stderr.match(/org\.apache\.kafka\.common\.errors\.\w+/g) ?? []).length,
  };
}

export interface ConsumerSummary {
  records: number;
  mb: number;
  /** Over the whole run, group join included. */
  mbPerSec: number;
  recordsPerSec: number;
  /** Group join (FindCoordinator, JoinGroup, SyncGroup) before the first fetch. */
  rebalanceMs: number;
  /** Over the fetching only: the consume rate proper. */
  fetchMbPerSec: number;
  fetchRecordsPerSec: number;
}

/**
 * ConsumerPerformance reading `records` from the start of the topic. It subscribes in a fresh
 * consumer group, so the target needs group coordination (FindCoordinator, JoinGroup, SyncGroup).
 */
export async function consumerPerformance(run: {
  bootstrap: string;
  topic: string;
  records: number;
  timeoutMs: number;
}): Promise<ConsumerSummary> {
  const result = await runJavaClass(
    'org.apache.kafka.tools.ConsumerPerformance',
    [
      '--bootstrap-server',
      run.bootstrap,
      '--topic',
      run.topic,
      '--messages',
      String(run.records),
      '--group',
      `tributary-bench-${process.pid}-${Date.now()}`,
      '--timeout',
      '15000',
    ],
    { heapMb: 512, timeoutMs: run.timeoutMs },
  );
  // A header line of names and one line of values, both comma-separated.
  const lines = result.stdout.split('\n').filter((l) => l.includes(','));
  const header = lines.findIndex((l) => l.startsWith('start.time'));
  if (header < 0 || header + 1 >= lines.length) {
    throw new Error(`ConsumerPerformance printed no summary:\n${result.stdout}\n${result.stderr}`);
  }
  const names = lines[header].split(',').map((s) => s.trim());
  const values = lines[header + 1].split(',').map((s) => s.trim());
  const get = (name: string): number => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`ConsumerPerformance printed no ${name}: ${lines[header]}`);
    return Number(values[i]);
  };
  return {
    records: get('data.consumed.in.nMsg'),
    mb: get('data.consumed.in.MB'),
    mbPerSec: get('MB.sec'),
    recordsPerSec: get('nMsg.sec'),
    rebalanceMs: get('rebalance.time.ms'),
    fetchMbPerSec: get('fetch.MB.sec'),
    fetchRecordsPerSec: get('fetch.nMsg.sec'),
  };
}
