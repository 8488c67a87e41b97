/**
 * The controller's HTTP API for remote brokers (docs/adr/0015): registration, heartbeats,
 * AlterPartition, topic administration forwarded from brokers, producer-id blocks, and the image
 * stream — `GET /v1/brokers/:nodeId/images`, NDJSON, the current image at once and every newer one
 * after it. That stream is the broker's session (./image-streams.ts): when its connection closes
 * without a completed controlled shutdown, the broker is reported lost at once (a SIGKILLed
 * process's sockets are closed by the kernel), rather than after the heartbeat session timeout.
 *
 * Every /v1 route needs `Authorization: Bearer <token>`. One server serves one controller (`token`
 * and `service`, as `tributary controller` does) or many, one per cluster, picked by the token
 * (`route`, as the operator does): a token that reaches no controller is refused with 401; one
 * whose controller is not served here now (this operator replica is not the leader, or the
 * cluster's controller is not open yet) gets 503 `{notController: true, message}`, on which a
 * broker tries its next controller address. A Kafka-level refusal is data (HTTP 200,
 * `{ok: false, errorCode, errorMessage}`); 4xx and 5xx are for authentication, malformed requests,
 * standby and faults. `buildControllerApp` does not listen, so tests use `app.inject`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../common/logger.ts';
import {
  NODE_ID_HEADER,
  type AlterPartitionRequest,
  type ConfigChange,
  type ControllerService,
  type CreateTopicRequest,
  type ElectionTarget,
  type ElectionType,
  type ReassignmentTarget,
  type HeartbeatRequest,
  type RegisterRequest,
} from './api.ts';
import { ROUTES, STREAM_KEEPALIVE_MS, type NotControllerBody } from './http-wire.ts';
import { ImageStreamRegistry } from './image-streams.ts';

/**
 * Where a request carrying a token goes: to a controller served here; to nobody here now, with the
 * reason (HTTP 503 `{notController: true, message}`: a standby operator replica, or a cluster whose
 * controller is not open yet); or nowhere (null: HTTP 401, no such token).
 */
export type ControllerRoute = { service: ControllerService } | { standby: string } | null;

interface CommonAppOptions {
  logger: Logger;
  /** /metrics; absent, /metrics answers an empty page. */
  registry?: Registry;
  /** Keep-alive period of the image streams (tests shorten it). */
  keepAliveMs?: number;
}

export type ControllerAppOptions = CommonAppOptions &
  (
    | {
        /** The one controller served. */
        service: ControllerService;
        /** The shared secret brokers send as `Authorization: Bearer <token>`. */
        token: string;
      }
    | {
        /**
         * The controller a presented token reaches, asked at every request and at every keep-alive
         * of an image stream (so keep it cheap). It must not leak the token through its timing:
         * look tokens up by their digest (`tokenDigest`) in a Map rather than comparing strings,
         * since a digest's prefix tells nothing of the token's. It must answer the same service
         * object for as long as that controller serves: when it stops answering the service that
         * accepted a stream (another object, a standby, null), the stream ends, unreported, and its
         * broker finds the controller again.
         */
        route: (token: string, nodeId?: number) => ControllerRoute;
      }
  );

const MiB = 1024 * 1024;
const int = { type: 'integer' } as const;
const intList = { type: 'array', items: int } as const;
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const configMap = { type: 'object', additionalProperties: { type: ['string', 'null'] } } as const;

const registerBody = {
  type: 'object',
  required: ['nodeId', 'host', 'port', 'rack', 'incarnationId', 'clusterId'],
  properties: {
    nodeId: int,
    host: str,
    port: int,
    rack: { type: ['string', 'null'] },
    incarnationId: str,
    clusterId: { type: ['string', 'null'] },
  },
} as const;

const heartbeatBody = {
  type: 'object',
  required: ['nodeId', 'brokerEpoch', 'caughtUp', 'wantShutdown'],
  properties: {
    nodeId: int,
    brokerEpoch: int,
    caughtUp: bool,
    wantShutdown: bool,
    offlineReplicas: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topicId', 'partition'],
        properties: { topicId: str, partition: int },
      },
    },
  },
} as const;

const alterPartitionBody = {
  type: 'object',
  required: ['nodeId', 'brokerEpoch', 'topicId', 'partition', 'leaderEpoch', 'partitionEpoch', 'newIsr'],
  properties: {
    nodeId: int,
    brokerEpoch: int,
    topicId: str,
    partition: int,
    leaderEpoch: int,
    partitionEpoch: int,
    newIsr: intList,
  },
} as const;

const createTopicBody = {
  type: 'object',
  required: ['request', 'validateOnly'],
  properties: {
    validateOnly: bool,
    request: {
      type: 'object',
      required: ['name', 'numPartitions', 'replicationFactor', 'assignments', 'configs'],
      properties: {
        name: str,
        numPartitions: int,
        replicationFactor: int,
        assignments: {
          type: 'array',
          items: {
            type: 'object',
            required: ['partition', 'brokerIds'],
            properties: { partition: int, brokerIds: intList },
          },
        },
        configs: configMap,
        internal: bool,
      },
    },
  },
} as const;

const deleteTopicBody = {
  type: 'object',
  properties: { name: str, topicId: str },
  anyOf: [{ required: ['name'] }, { required: ['topicId'] }],
} as const;

const createPartitionsBody = {
  type: 'object',
  required: ['name', 'count', 'assignments', 'validateOnly'],
  properties: {
    name: str,
    count: int,
    // A type list rather than anyOf: fastify's type coercion would turn null into [[0]].
    assignments: { type: ['array', 'null'], items: intList },
    validateOnly: bool,
  },
} as const;

const alterConfigsBody = {
  type: 'object',
  required: ['name', 'change', 'validateOnly'],
  properties: {
    name: str,
    validateOnly: bool,
    change: {
      type: 'object',
      properties: {
        replace: configMap,
        ops: {
          type: 'array',
          items: {
            type: 'object',
            required: ['op', 'name'],
            properties: {
              op: { enum: ['set', 'delete', 'append', 'subtract'] },
              name: str,
              value: { type: ['string', 'null'] },
            },
          },
        },
      },
      anyOf: [{ required: ['replace'] }, { required: ['ops'] }],
    },
  },
} as const;

const electLeadersBody = {
  type: 'object',
  required: ['type', 'targets'],
  properties: {
    type: { enum: ['preferred', 'unclean'] },
    // A type list rather than anyOf, as for createPartitions: null means every partition.
    targets: {
      type: ['array', 'null'],
      items: {
        type: 'object',
        required: ['topic', 'partitions'],
        properties: { topic: str, partitions: intList },
      },
    },
  },
} as const;

const alterReassignmentsBody = {
  type: 'object',
  required: ['targets'],
  properties: {
    targets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topic', 'partitions'],
        properties: {
          topic: str,
          partitions: {
            type: 'array',
            items: {
              type: 'object',
              required: ['partition', 'replicas'],
              // null cancels the partition's reassignment.
              properties: { partition: int, replicas: { type: ['array', 'null'], items: int } },
            },
          },
        },
      },
    },
  },
} as const;

const listReassignmentsBody = {
  type: 'object',
  required: ['targets'],
  properties: { targets: electLeadersBody.properties.targets },
} as const;

const producerIdsBody = {
  type: 'object',
  required: ['count'],
  properties: { count: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
} as const;

const imagesParams = { type: 'object', required: ['nodeId'], properties: { nodeId: int } } as const;
const imagesQuery = { type: 'object', required: ['brokerEpoch'], properties: { brokerEpoch: int } } as const;

/** The key to look a token up by: a SHA-256 digest (hex), whose timing in a Map leaks nothing of the token. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function tokenMatcher(token: string): (presented: string) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (presented) => timingSafeEqual(createHash('sha256').update(presented).digest(), expected);
}

function routerOf(o: ControllerAppOptions): (token: string, nodeId?: number) => ControllerRoute {
  if ('route' in o) return o.route;
  const matches = tokenMatcher(o.token);
  const routed = { service: o.service };
  return (presented) => (matches(presented) ? routed : null);
}

/** The broker's node id from NODE_ID_HEADER, when it sent a valid one. */
function nodeIdOf(req: FastifyRequest): number | undefined {
  const v = req.headers[NODE_ID_HEADER];
  return typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : undefined;
}

/** What the onRequest hook found for a request that reached a controller. */
interface Routed {
  service: ControllerService;
  /** The cluster, for the image streams: the token's digest. */
  key: string;
  token: string;
}

export function buildControllerApp(o: ControllerAppOptions): FastifyInstance {
  const log = o.logger;
  const route = routerOf(o);
  const metrics = o.registry ? controllerApiMetrics(o.registry) : undefined;
  const streams = new ImageStreamRegistry({
    log,
    keepAliveMs: o.keepAliveMs ?? STREAM_KEEPALIVE_MS,
    onCountChange: (n) => metrics?.streams.set(n),
  });
  const routedRequests = new WeakMap<FastifyRequest, Routed>();
  const routed = (req: FastifyRequest): Routed => {
    const r = routedRequests.get(req);
    if (!r) throw new Error('a /v1 request was not routed to a controller');
    return r;
  };
  const serviceOf = (req: FastifyRequest): ControllerService => routed(req).service;

  const app = Fastify({ logger: false, bodyLimit: 64 * MiB });

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, req, reply) => {
    if (err.validation || (err.statusCode !== undefined && err.statusCode < 500)) {
      return reply.code(err.statusCode ?? 400).send({ error: 'bad request', message: err.message });
    }
    log.error({ err, route: routeOf(req) }, 'Controller API request failed');
    return reply.code(500).send({ error: 'internal error', message: err.message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ready' }));
  app.get('/metrics', async (_req, reply) => {
    if (!o.registry) return reply.header('content-type', 'text/plain').send('');
    return reply.header('content-type', o.registry.contentType).send(await o.registry.metrics());
  });

  app.addHook('preClose', async () => streams.closeAll());

  void app.register(async (v1) => {
    v1.addHook('onRequest', async (req, reply) => {
      const header = req.headers.authorization;
      const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : null;
      const found = presented === null ? null : route(presented, nodeIdOf(req));
      const key = presented === null ? null : tokenDigest(presented);
      if (key !== null) streams.routed(key, found !== null && 'service' in found ? found.service : null);
      if (found !== null && 'service' in found) {
        routedRequests.set(req, { service: found.service, key: key!, token: presented! });
        return;
      }
      if (found !== null) {
        metrics?.standby.inc();
        const body: NotControllerBody = { notController: true, message: found.standby };
        await reply.code(503).send(body);
        return;
      }
      metrics?.unauthorized.inc();
      log.warn(
        {
          remoteAddress: req.ip,
          method: req.method,
          route: routeOf(req),
          tokenPresented: presented !== null,
        },
        'Refused a controller API request without the right token',
      );
      await reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'unauthorized',
        message: 'A valid controller token is required (Authorization: Bearer …).',
      });
    });

    v1.post(ROUTES.register, { schema: { body: registerBody } }, (req) =>
      serviceOf(req).register(req.body as RegisterRequest),
    );
    v1.post(ROUTES.heartbeat, { schema: { body: heartbeatBody } }, async (req) => {
      const hb = req.body as HeartbeatRequest;
      const { service, key } = routed(req);
      const result = await service.heartbeat(hb);
      if (result.ok && hb.wantShutdown && result.shutdownReady)
        streams.shutdownCompleted(key, service, hb.nodeId, hb.brokerEpoch);
      return result;
    });
    v1.post(ROUTES.alterPartition, { schema: { body: alterPartitionBody } }, (req) =>
      serviceOf(req).alterPartition(req.body as AlterPartitionRequest),
    );
    v1.post(ROUTES.createTopic, { schema: { body: createTopicBody } }, (req) => {
      const b = req.body as { request: CreateTopicRequest; validateOnly: boolean };
      return serviceOf(req).createTopic(b.request, b.validateOnly);
    });
    v1.post(ROUTES.deleteTopic, { schema: { body: deleteTopicBody } }, (req) => {
      const b = req.body as { name?: string; topicId?: string };
      return serviceOf(req).deleteTopic(
        b.name !== undefined ? { name: b.name } : { topicId: b.topicId as string },
      );
    });
    v1.post(ROUTES.createPartitions, { schema: { body: createPartitionsBody } }, (req) => {
      const b = req.body as {
        name: string;
        count: number;
        assignments: number[][] | null;
        validateOnly: boolean;
      };
      return serviceOf(req).createPartitions(b.name, b.count, b.assignments, b.validateOnly);
    });
    v1.post(ROUTES.alterConfigs, { schema: { body: alterConfigsBody } }, (req) => {
      const b = req.body as { name: string; change: ConfigChange; validateOnly: boolean };
      return serviceOf(req).alterTopicConfigs(b.name, b.change, b.validateOnly);
    });
    v1.post(ROUTES.electLeaders, { schema: { body: electLeadersBody } }, (req) => {
      const b = req.body as { type: ElectionType; targets: ElectionTarget[] | null };
      return serviceOf(req).electLeaders(b.type, b.targets);
    });
    v1.post(ROUTES.alterReassignments, { schema: { body: alterReassignmentsBody } }, (req) => {
      const b = req.body as { targets: ReassignmentTarget[] };
      return serviceOf(req).alterPartitionReassignments(b.targets);
    });
    v1.post(ROUTES.listReassignments, { schema: { body: listReassignmentsBody } }, (req) => {
      const b = req.body as { targets: ElectionTarget[] | null };
      return serviceOf(req).listPartitionReassignments(b.targets);
    });
    v1.post(ROUTES.producerIds, { schema: { body: producerIdsBody } }, async (req) => {
      const first = await serviceOf(req).allocateProducerIds((req.body as { count: number }).count);
      return { ok: true, first: first.toString() };
    });
    v1.get(
      '/v1/brokers/:nodeId/images',
      { schema: { params: imagesParams, querystring: imagesQuery } },
      (req, reply) => {
        const { nodeId } = req.params as { nodeId: number };
        const { brokerEpoch } = req.query as { brokerEpoch: number };
        const { service, key, token } = routed(req);
        const stillRouted = (): boolean => {
          const now = route(token);
          return now !== null && 'service' in now && now.service === service;
        };
        streams.open({ key, service, stillRouted, nodeId, brokerEpoch, reply, remoteAddress: req.ip });
      },
    );
  });
  return app;
}

function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? req.url.split('?')[0];
}

function controllerApiMetrics(registry: Registry) {
  return {
    unauthorized: new Counter({
      name: 'tributary_controller_api_unauthorized_requests_total',
      help: 'Controller API requests refused for a missing or wrong token.',
      registers: [registry],
    }),
    standby: new Counter({
      name: 'tributary_controller_api_standby_requests_total',
      help: 'Controller API requests answered 503 notController: their cluster has no controller here now.',
      registers: [registry],
    }),
    streams: new Gauge({
      name: 'tributary_controller_image_streams',
      help: 'Brokers connected to the image stream (each one a live session).',
      registers: [registry],
    }),
  };
}
