/**
 * Per-topic metric series end with their topic: once a topic is deleted, every series labelled
 * with its name is removed from the registry (as Kafka removes a deleted topic's BrokerTopicMetrics),
 * so a broker that churns through short-lived topics does not grow its scrape without bound, and a
 * topic re-created under the same name starts its counters from zero.
 */
import type { Registry } from 'prom-client';
import type { MetadataImage } from '../controller/image.ts';

interface TopicLabelled {
  readonly labelNames?: readonly string[];
  get(): Promise<{ values: { labels: Record<string, string | number | undefined> }[] }>;
  remove(labels: Record<string, string | number | undefined>): void;
}

/** Topics in `previous` that `next` no longer has. */
export function deletedTopics(previous: MetadataImage | undefined, next: MetadataImage): string[] {
  if (previous === undefined) return [];
  return [...previous.topics.keys()].filter((name) => !next.topics.has(name));
}

/** Removes every series whose `topic` label is one of `topics`, from every metric that has one. */
export async function forgetTopics(registry: Registry, topics: readonly string[]): Promise<void> {
  if (topics.length === 0) return;
  const gone = new Set(topics);
  for (const m of registry.getMetricsAsArray()) {
    // prom-client's declared MetricObject omits what every metric has: its label names, get()
    // and remove().
    const metric = m as unknown as TopicLabelled;
    if (!(metric.labelNames ?? []).includes('topic')) continue;
    const { values } = await metric.get();
    for (const { labels } of values) {
      if (typeof labels.topic !== 'string' || !gone.has(labels.topic)) continue;
      // A histogram's or summary's samples carry `le` or `quantile`; its series does not.
      const { le: _le, quantile: _quantile, ...series } = labels;
      metric.remove(series);
    }
  }
}
