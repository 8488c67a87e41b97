/**
 * Produce throughput and latency on a replicated topic (RF=3, min.insync.replicas=2, acks=all,
 * 1 KiB records) with Kafka's ProducerPerformance, as bench/vs-kafka.ts runs it: once unthrottled
 * for throughput, once at a fixed rate well under either ceiling for the latency percentiles.
 */
import { producerPerformance, type ProducerSummary } from '../vs-kafka/perf-tools.ts';
import { adminFor, createReplicatedTopic } from './failover.ts';
import type { ClusterTarget } from './targets.ts';

export const RECORD_SIZE = 1024;
export const PARTITIONS = 6;

export interface ProduceCase {
  label: string;
  records: number;
  /** Records per second, -1 for unthrottled. */
  rate: number;
}

export type ProduceRow = ProducerSummary & { stored: number };

/** Runs a warm-up and then each case on its own topic; failures become rows, not exceptions. */
export async function measureThroughput(
  target: ClusterTarget,
  o: { run: string; cases: ProduceCase[]; warmUpRecords: number; log: (line: string) => void },
): Promise<Map<string, ProduceRow | { failed: string }>> {
  const admin = await adminFor(target);
  const rows = new Map<string, ProduceRow | { failed: string }>();
  const topicOf = (label: string) => `bench-repl-${o.run}-${label.replace(/[^a-z0-9]+/gi, '-')}`;
  const produce = (topic: string, records: number, rate: number) =>
    producerPerformance({
      bootstrap: target.bootstrap,
      topic,
      records,
      recordSize: RECORD_SIZE,
      throughput: rate,
      acks: 'all',
      timeoutMs: 600_000,
    });
  try {
    const warm = topicOf('warm-up');
    await createReplicatedTopic(admin, warm, PARTITIONS);
    await produce(warm, o.warmUpRecords, -1);
    o.log(`warmed up with ${o.warmUpRecords} records`);
    for (const c of o.cases) {
      const topic = topicOf(c.label);
      try {
        await createReplicatedTopic(admin, topic, PARTITIONS);
        const s = await produce(topic, c.records, c.rate);
        const offsets = await admin.fetchTopicOffsets(topic);
        const stored = offsets.reduce((sum, p) => sum + Number(p.high), 0);
        rows.set(c.label, { ...s, stored });
        o.log(
          `${c.label}: ${s.mbPerSec.toFixed(1)} MB/s, ${Math.round(s.recordsPerSec)} records/s, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms`,
        );
      } catch (err) {
        rows.set(c.label, { failed: (err as Error).message.split('\n').slice(0, 4).join(' / ') });
        o.log(`${c.label}: failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    return rows;
  } finally {
    await admin.disconnect();
  }
}
