import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The produce path's metrics. Per-topic series are bounded by the number of topics (as Kafka's
 * BrokerTopicMetrics are); nothing is labelled by partition, producer or client.
 */
export interface ProduceMetrics {
  inFlight: Gauge;
  records: Counter<'topic'>;
  bytes: Counter<'topic'>;
  duplicates: Counter;
  outOfOrder: Counter;
  fenced: Counter;
}

const cache = new WeakMap<Registry, ProduceMetrics>();

/** One set per registry, however many handlers are built over it. */
export function produceMetrics(registry: Registry): ProduceMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: ProduceMetrics = {
    inFlight: new Gauge({
      name: 'tributary_broker_produce_requests_in_flight',
      help: 'Produce requests being handled: appending, or waiting for their acks.',
      registers,
    }),
    records: new Counter({
      name: 'tributary_broker_produced_records_total',
      help: 'Records appended by Produce requests, by topic.',
      labelNames: ['topic'],
      registers,
    }),
    bytes: new Counter({
      name: 'tributary_broker_produced_bytes_total',
      help: 'Record-batch bytes appended by Produce requests, by topic.',
      labelNames: ['topic'],
      registers,
    }),
    duplicates: new Counter({
      name: 'tributary_broker_produce_duplicate_batches_total',
      help: 'Retried batches of idempotent producers answered with their original offsets, not appended again.',
      registers,
    }),
    outOfOrder: new Counter({
      name: 'tributary_broker_produce_out_of_order_batches_total',
      help: 'Batches of idempotent producers refused with OUT_OF_ORDER_SEQUENCE_NUMBER.',
      registers,
    }),
    fenced: new Counter({
      name: 'tributary_broker_produce_fenced_batches_total',
      help: 'Batches refused with INVALID_PRODUCER_EPOCH: their producer epoch is older than the last seen.',
      registers,
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}
