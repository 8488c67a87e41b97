import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The connection layer's metrics; labels are bounded (API names, versions, a few reasons). */
export interface ServerMetrics {
  requests: Counter<'api' | 'version'>;
  requestSeconds: Histogram<'api' | 'version'>;
  bytesIn: Counter;
  bytesOut: Counter;
  connections: Gauge;
  rejected: Counter<'reason'>;
}

export function serverMetrics(registry: Registry): ServerMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'tributary_broker_requests_total',
      help: 'Requests received, by API and version.',
      labelNames: ['api', 'version'],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'tributary_broker_request_duration_seconds',
      help: 'Time from a request being decoded to its response being ready, by API and version.',
      labelNames: ['api', 'version'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    bytesIn: new Counter({
      name: 'tributary_broker_received_bytes_total',
      help: 'Bytes read from clients.',
      registers,
    }),
    bytesOut: new Counter({
      name: 'tributary_broker_sent_bytes_total',
      help: 'Bytes written to clients.',
      registers,
    }),
    connections: new Gauge({
      name: 'tributary_broker_connections',
      help: 'Open client connections.',
      registers,
    }),
    rejected: new Counter({
      name: 'tributary_broker_rejected_connections_total',
      help: 'Connections closed because of what the client sent, by reason.',
      labelNames: ['reason'],
      registers,
    }),
  };
}
