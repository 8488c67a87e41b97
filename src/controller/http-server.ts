/**
 * The controller's HTTP API for remote brokers (docs/adr/0015): registration, heartbeats,
 * AlterPartition, topic administration forwarded from brokers, producer-id blocks, and the image
 * stream — `GET /v1/brokers/:nodeId/images`, NDJSON, the current image at once and every newer one
 * after it. That stream is the broker's session: when its connection closes without a completed
 * controlled shutdown, the broker is reported lost at once (a SIGKILLed process's sockets are closed
 * by the kernel), rather than after the heartbeat session timeout.
 *
 * Every /v1 route needs `Authorization: Bearer <token>`. A Kafka-level refusal is data (HTTP 200,
 * `{ok: false, errorCode, errorMessage}`); 4xx and 5xx are for authentication, malformed requests
 * and faults. `buildControllerApp` does not listen, so tests use `app.inject`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type {
  AlterPartitionRequest,
  ConfigChange,
  ControllerService,
  CreateTopicRequest,
  HeartbeatRequest,
  RegisterRequest,
} from './api.ts';
import { isNewer, type MetadataImage } from './image.ts';
import { NDJSON, ROUTES, STREAM_KEEPALIVE_MS, type StreamLine, toWireImage } from './http-wire.ts';

export interface ControllerAppOptions {
  service: ControllerService;
  /** The shared secret brokers send as `Authorization: Bearer <token>`. */
  token: string;
  logger: Logger;
  /** /metrics; absent, /metrics answers an empty page. */
  registry?: Registry;
  /** Keep-alive period of the image streams (tests shorten it). */
  keepAliveMs?: number;
}

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

const producerIdsBody = {
  type: 'object',
  required: ['count'],
  properties: { count: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
} as const;

const imagesParams = { type: 'object', required: ['nodeId'], properties: { nodeId: int } } as const;
const imagesQuery = { type: 'object', required: ['brokerEpoch'], properties: { brokerEpoch: int } } as const;

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function tokenMatcher(token: string): (presented: string) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (presented) => timingSafeEqual(createHash('sha256').update(presented).digest(), expected);
}

export function buildControllerApp(o: ControllerAppOptions): FastifyInstance {
  const log = o.logger;
  const service = o.service;
  const matches = tokenMatcher(o.token);
  const metrics = o.registry ? controllerApiMetrics(o.registry) : undefined;
  const streams = new ImageStreams({
    service,
    log,
    keepAliveMs: o.keepAliveMs ?? STREAM_KEEPALIVE_MS,
    onCountChange: (n) => metrics?.streams.set(n),
  });

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
      if (presented !== null && matches(presented)) return;
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
      service.register(req.body as RegisterRequest),
    );
    v1.post(ROUTES.heartbeat, { schema: { body: heartbeatBody } }, async (req) => {
      const hb = req.body as HeartbeatRequest;
      const result = await service.heartbeat(hb);
      if (result.ok && hb.wantShutdown && result.shutdownReady)
        streams.shutdownCompleted(hb.nodeId, hb.brokerEpoch);
      return result;
    });
    v1.post(ROUTES.alterPartition, { schema: { body: alterPartitionBody } }, (req) =>
      service.alterPartition(req.body as AlterPartitionRequest),
    );
    v1.post(ROUTES.createTopic, { schema: { body: createTopicBody } }, (req) => {
      const b = req.body as { request: CreateTopicRequest; validateOnly: boolean };
      return service.createTopic(b.request, b.validateOnly);
    });
    v1.post(ROUTES.deleteTopic, { schema: { body: deleteTopicBody } }, (req) => {
      const b = req.body as { name?: string; topicId?: string };
      return service.deleteTopic(b.name !== undefined ? { name: b.name } : { topicId: b.topicId as string });
    });
    v1.post(ROUTES.createPartitions, { schema: { body: createPartitionsBody } }, (req) => {
      const b = req.body as {
        name: string;
        count: number;
        assignments: number[][] | null;
        validateOnly: boolean;
      };
      return service.createPartitions(b.name, b.count, b.assignments, b.validateOnly);
    });
    v1.post(ROUTES.alterConfigs, { schema: { body: alterConfigsBody } }, (req) => {
      const b = req.body as { name: string; change: ConfigChange; validateOnly: boolean };
      return service.alterTopicConfigs(b.name, b.change, b.validateOnly);
    });
    v1.post(ROUTES.producerIds, { schema: { body: producerIdsBody } }, async (req) => {
      const first = await service.allocateProducerIds((req.body as { count: number }).count);
      return { ok: true, first: first.toString() };
    });
    v1.get(
      '/v1/brokers/:nodeId/images',
      { schema: { params: imagesParams, querystring: imagesQuery } },
      (req, reply) => {
        const { nodeId } = req.params as { nodeId: number };
        const { brokerEpoch } = req.query as { brokerEpoch: number };
        streams.open({ nodeId, brokerEpoch, reply, remoteAddress: req.ip });
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
    streams: new Gauge({
      name: 'tributary_controller_image_streams',
      help: 'Brokers connected to the image stream (each one a live session).',
      registers: [registry],
    }),
  };
}

interface Stream {
  nodeId: number;
  brokerEpoch: number;
  res: ServerResponse;
  /** Ended by the controller itself (superseded, refused, shutting down): not a lost broker. */
  endedByUs: boolean;
}

/**
 * The open image streams, one per broker. Each stream writes only images newer than the last it
 * wrote; when the broker reads slowly, only the newest waiting image is kept (an image is a whole
 * snapshot, so skipping one in between loses nothing).
 */
class ImageStreams {
  readonly #service: ControllerService;
  readonly #log: Logger;
  readonly #keepAliveMs: number;
  readonly #onCountChange: (n: number) => void;
  readonly #byNode = new Map<number, Stream>();
  /** Broker epochs told `shutdownReady`, by node: their stream's close is the expected exit. */
  readonly #shutDown = new Map<number, number>();
  /** Each image serialised once, however many brokers it goes to. */
  readonly #lines = new WeakMap<MetadataImage, string>();
  #closing = false;

  constructor(o: {
    service: ControllerService;
    log: Logger;
    keepAliveMs: number;
    onCountChange: (n: number) => void;
  }) {
    this.#service = o.service;
    this.#log = o.log;
    this.#keepAliveMs = o.keepAliveMs;
    this.#onCountChange = o.onCountChange;
  }

  shutdownCompleted(nodeId: number, brokerEpoch: number): void {
    this.#shutDown.set(nodeId, brokerEpoch);
  }

  open(o: { nodeId: number; brokerEpoch: number; reply: FastifyReply; remoteAddress: string }): void {
    const { nodeId, brokerEpoch } = o;
    const log = this.#log.child({ nodeId, brokerEpoch });
    o.reply.hijack();
    const res = o.reply.raw;
    res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
    res.socket?.setNoDelay(true);

    const registered = this.#service.image().registrations.find((r) => r.nodeId === nodeId);
    if (this.#closing || !registered || registered.brokerEpoch !== brokerEpoch) {
      const line: StreamLine = {
        type: 'refused',
        errorCode: registered ? ErrorCode.STALE_BROKER_EPOCH : ErrorCode.BROKER_ID_NOT_REGISTERED,
        errorMessage: this.#closing
          ? 'The controller is shutting down'
          : registered
            ? `Broker ${nodeId} is registered with epoch ${registered.brokerEpoch}, not ${brokerEpoch}: register again`
            : `Broker ${nodeId} is not registered`,
      };
      res.end(JSON.stringify(line) + '\n');
      return;
    }

    const previous = this.#byNode.get(nodeId);
    if (previous) {
      previous.endedByUs = true;
      previous.res.end();
    }
    const stream: Stream = { nodeId, brokerEpoch, res, endedByUs: false };
    this.#byNode.set(nodeId, stream);
    this.#shutDown.delete(nodeId);
    this.#onCountChange(this.#byNode.size);

    let last: MetadataImage | null = null;
    let waiting: MetadataImage | null = null;
    const send = (image: MetadataImage): void => {
      if (last && !isNewer(image, last)) return;
      if (res.writableNeedDrain) {
        waiting = image;
        return;
      }
      last = image;
      res.write(this.#lineOf(image));
    };
    res.on('drain', () => {
      const next = waiting;
      waiting = null;
      if (next) send(next);
    });
    const unsubscribe = this.#service.onImage(send);
    send(this.#service.image());
    const keepAlive = setInterval(() => {
      if (!res.writableNeedDrain) res.write('{"type":"keepalive"}\n');
    }, this.#keepAliveMs);
    log.info({ remoteAddress: o.remoteAddress }, 'Broker connected to the image stream');

    res.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
      if (this.#byNode.get(nodeId) === stream) this.#byNode.delete(nodeId);
      this.#onCountChange(this.#byNode.size);
      if (stream.endedByUs || this.#closing) return;
      // Either way the broker is gone and is fenced now, so clients stop being sent to it; after a
      // controlled shutdown it leads nothing any more, so the fencing moves nothing.
      let reason = 'connection closed';
      if (this.#shutDown.get(nodeId) === brokerEpoch) {
        this.#shutDown.delete(nodeId);
        log.info('Broker closed its image stream after its controlled shutdown');
        reason = 'stopped after its controlled shutdown';
      } else {
        log.warn('Broker lost: its image stream closed without a controlled shutdown');
      }
      this.#service.brokerLost(nodeId, brokerEpoch, reason).catch((err: unknown) => {
        log.error({ err }, 'Could not fence a lost broker');
      });
    });
  }

  #lineOf(image: MetadataImage): string {
    let line = this.#lines.get(image);
    if (line === undefined) {
      const l: StreamLine = { type: 'image', image: toWireImage(image) };
      line = JSON.stringify(l) + '\n';
      this.#lines.set(image, line);
    }
    return line;
  }

  /** The controller is stopping: end every stream without reporting its broker lost. */
  closeAll(): void {
    this.#closing = true;
    for (const s of this.#byNode.values()) {
      s.endedByUs = true;
      s.res.end();
    }
  }
}
