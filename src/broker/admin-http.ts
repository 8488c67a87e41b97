/**
 * The broker's admin HTTP server (its own port, not the Kafka one): `/healthz` (the process is
 * alive), `/readyz` (logs recovered and the Kafka listener open — Kubernetes' readiness probe) and
 * `/metrics` (Prometheus text). `buildAdminApp` does not listen, so tests use `app.inject`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  /** Each condition readiness waits for, and whether it holds. */
  checks: Record<string, boolean>;
}

export interface AdminAppOptions {
  registry: Registry;
  readiness: () => Readiness;
}

export function buildAdminApp(o: AdminAppOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = o.readiness();
    return reply
      .code(r.ready ? 200 : 503)
      .send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await o.registry.metrics();
    return reply.header('content-type', o.registry.contentType).send(body);
  });
  return app;
}
