import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WorkQueueHooks } from './queue.ts';

/**
 * The controller runtime's metrics. Labels stay bounded: `kind` is one of the few kinds the
 * operator reconciles, `lease` one per elector — never a label per object.
 */
export interface RuntimeMetrics {
  /** Reconciles finished, by kind and result (`success`, `requeue`, `error`, `terminal`). */
  reconciles: Counter<'kind' | 'result'>;
  reconcileSeconds: Histogram<'kind'>;
  /** Reconciles that threw (retried or terminal). */
  reconcileErrors: Counter<'kind'>;
  queueDepth: Gauge<'kind'>;
  queueWaitSeconds: Histogram<'kind'>;
  queueRetries: Counter<'kind'>;
  /** 1 while this process holds the lease, else 0. */
  leader: Gauge<'lease'>;
}

const cache = new WeakMap<Registry, RuntimeMetrics>();

/** The runtime's metrics in `registry`, registered on first use and shared after. */
export function runtimeMetrics(registry: Registry): RuntimeMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: RuntimeMetrics = {
    reconciles: new Counter({
      name: 'tributary_operator_reconciles_total',
      help: 'Reconciles finished, by kind and result (success, requeue, error, terminal).',
      labelNames: ['kind', 'result'],
      registers,
    }),
    reconcileSeconds: new Histogram({
      name: 'tributary_operator_reconcile_duration_seconds',
      help: 'Time one reconcile took, by kind.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'tributary_operator_reconcile_errors_total',
      help: 'Reconciles that failed with an error, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'tributary_operator_workqueue_depth',
      help: 'Keys waiting in the work queue, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    queueWaitSeconds: new Histogram({
      name: 'tributary_operator_workqueue_wait_duration_seconds',
      help: 'Time a key waited in the work queue before a worker took it, by kind.',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
      registers,
    }),
    queueRetries: new Counter({
      name: 'tributary_operator_workqueue_retries_total',
      help: 'Keys queued again after a failed reconcile, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    leader: new Gauge({
      name: 'tributary_operator_leader',
      help: 'Whether this process holds the leader-election lease (1) or not (0), by lease.',
      labelNames: ['lease'],
      registers,
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}

/** Work-queue hooks that feed `metrics` under `kind`. */
export function queueHooks(metrics: RuntimeMetrics, kind: string): WorkQueueHooks {
  return {
    depth: (depth: number) => metrics.queueDepth.set({ kind }, depth),
    waited: (ms: number) => metrics.queueWaitSeconds.observe({ kind }, ms / 1000),
    retried: () => metrics.queueRetries.inc({ kind }),
  };
}
