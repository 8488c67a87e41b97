/**
 * The operator's own HTTP server: `/healthz` (the process is alive), `/readyz` (its caches are
 * synced: it can take over the moment it is elected, so both replicas are ready, leader or not) and
 * `/metrics` (Prometheus text). `buildOperatorApp` does not listen; tests use `app.inject`.
 */

import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface OperatorAppOptions {
  readonly registry: Registry;
  readonly synced: () => boolean;
  readonly leading: () => boolean;
}

const stateSchema = {
  type: 'object',
  properties: { status: { type: 'string' }, synced: { type: 'boolean' }, leading: { type: 'boolean' } },
  required: ['status'],
} as const;

export function buildOperatorApp(o: OperatorAppOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', { schema: { response: { 200: stateSchema } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { response: { 200: stateSchema, 503: stateSchema } } },
    async (_req, reply) => {
      const synced = o.synced();
      return reply
        .code(synced ? 200 : 503)
        .send({ status: synced ? 'ready' : 'caches not synced', synced, leading: o.leading() });
    },
  );
  app.get('/metrics', async (_req, reply) => {
    const body = await o.registry.metrics();
    return reply.header('content-type', o.registry.contentType).send(body);
  });
  return app;
}
