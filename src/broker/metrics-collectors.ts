/**
 * Gauges read at scrape time from the broker's state: partitions led, and log size and segment
 * count per topic (summed over its partitions, so label cardinality stays at one series per topic).
 */
import { Gauge, type Registry } from 'prom-client';
import type { LogManager } from '../storage/log-manager.ts';

export function registerLogGauges(registry: Registry, logs: LogManager): void {
  const registers = [registry];
  new Gauge({
    name: 'tributary_broker_partitions',
    help: 'Partition logs open on this broker.',
    registers,
    collect() {
      this.set(logs.logs().length);
    },
  });
  const perTopic = (pick: (u: { bytes: number; segments: number }) => number) =>
    function (this: Gauge<'topic'>): void {
      this.reset();
      const sums = new Map<string, number>();
      for (const u of logs.diskUsage()) sums.set(u.topic, (sums.get(u.topic) ?? 0) + pick(u));
      for (const [topic, v] of sums) this.set({ topic }, v);
    };
  new Gauge({
    name: 'tributary_log_size_bytes',
    help: 'Bytes in segment files, by topic.',
    labelNames: ['topic'],
    registers,
    collect: perTopic((u) => u.bytes),
  });
  new Gauge({
    name: 'tributary_log_segments',
    help: 'Segment files, by topic.',
    labelNames: ['topic'],
    registers,
    collect: perTopic((u) => u.segments),
  });
}
