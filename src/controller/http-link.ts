/**
 * The broker's end of the controller HTTP API (docs/adr/0015; the server is ./http-server.ts):
 * registration retried with back-off while the controller is away, the image stream read line by
 * line and applied in order, heartbeats, AlterPartition, controlled shutdown, and the topic
 * administration clients ask any broker for.
 *
 * The data path never waits on this: with the controller away, the broker keeps the image it has;
 * admin calls answer REQUEST_TIMED_OUT (a Kafka error clients retry) within the request timeout.
 */
import http from 'node:http';
import type { HostPort } from '../broker/config.ts';
import type { Clock, TimerHandle } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type {
  AdminResult,
  AlterPartitionRequest,
  AlterPartitionResult,
  ControllerLink,
  HeartbeatResponse,
  OfflineReplica,
  RegisterRequest,
  RegisterResponse,
  TopicAdmin,
} from './api.ts';
import { type BrokerEndpoint, isNewer, type MetadataImage, type TopicState } from './image.ts';
import { fromWireImage, ROUTES, STREAM_KEEPALIVE_MS, type StreamLine } from './http-wire.ts';

export interface HttpLinkOptions {
  address: HostPort;
  token: string;
  clock: Clock;
  logger: Logger;
  heartbeatIntervalMs: number;
  /** The longest any request waits for its answer (admin calls, AlterPartition, registration). */
  requestTimeoutMs?: number;
  /** A stream silent this long (not even a keep-alive) is taken for dead and opened again. */
  streamIdleTimeoutMs?: number;
}

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 500;

/**
 * Back-off between attempts to reach the controller: 100 ms doubling to 500 ms. Short, because until
 * a broker's image stream is open again after a controller restart, the controller can tell that
 * broker's death only by its session timeout, not at once: the fault soak (test/fault/soak.ts) found
 * leader kills right after a controller kill failing over in 3.4 s with a 2 s cap. Retries of an
 * unreachable loopback or in-cluster address twice a second cost nothing worth saving.
 */
export function nextBackoff(previousMs: number | null): number {
  return previousMs === null ? FIRST_BACKOFF_MS : Math.min(previousMs * 2, MAX_BACKOFF_MS);
}

/** The controller answered, but not with 200: a fault (bad token, malformed request), not a Kafka error. */
class HttpStatusError extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(`the controller answered HTTP ${status}: ${body.slice(0, 200)}`);
    this.status = status;
  }
}

/** Answers that say this broker must register again (a new controller, or a newer registration). */
const REREGISTER = new Set<number>([ErrorCode.STALE_BROKER_EPOCH, ErrorCode.BROKER_ID_NOT_REGISTERED]);

interface Started {
  self: BrokerEndpoint;
  incarnationId: string;
  clusterId: string | null;
  onImage: (image: MetadataImage) => Promise<void>;
}

export class HttpLink implements ControllerLink {
  readonly admin: TopicAdmin;
  readonly #o: Required<HttpLinkOptions>;
  readonly #log: Logger;
  readonly #agent = new http.Agent({ keepAlive: true });
  readonly #where: string;
  #started: Started | null = null;
  #brokerEpoch: number | null = null;
  #registering: Promise<void> | null = null;
  #caughtUp = false;
  #wantShutdown = false;
  #offlineReplicas: OfflineReplica[] | null = null;
  #closed = false;
  /** The controller could not be reached: logged once when it starts, once when it ends. */
  #outageSince: number | null = null;
  #heartbeatTimer: TimerHandle | null = null;
  #heartbeatInFlight = false;
  /** Something changed (caught up, shutdown asked) while a heartbeat was in flight: send another at once. */
  #heartbeatAgain = false;
  #shutdownWaiters: Array<() => void> = [];
  #stream: http.ClientRequest | null = null;
  /** The newest image accepted (handed to the apply chain), to drop any not newer. */
  #latest: MetadataImage | null = null;
  #applying: Promise<void> = Promise.resolve();
  #firstApplied: { resolve: () => void; reject: (err: unknown) => void } | null = null;
  /** Wakes a back-off sleep early (close). */
  #sleeps = new Set<() => void>();

  constructor(o: HttpLinkOptions) {
    this.#o = {
      ...o,
      requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
      streamIdleTimeoutMs: o.streamIdleTimeoutMs ?? 3 * STREAM_KEEPALIVE_MS,
    };
    this.#where = `${o.address.host}:${o.address.port}`;
    this.#log = o.logger.child({ controller: this.#where });
    this.admin = this.#topicAdmin();
  }

  async start(o: Started): Promise<void> {
    this.#started = { ...o };
    const firstApplied = new Promise<void>((resolve, reject) => (this.#firstApplied = { resolve, reject }));
    await this.#ensureRegistered();
    this.#scheduleHeartbeat(0);
    void this.#streamLoop();
    await firstApplied;
  }

  markCaughtUp(): void {
    this.#caughtUp = true;
    this.#scheduleHeartbeat(0);
  }

  reportOfflineReplicas(replicas: OfflineReplica[]): void {
    this.#offlineReplicas = [...replicas];
    this.#scheduleHeartbeat(0);
  }

  async alterPartition(
    req: Omit<AlterPartitionRequest, 'nodeId' | 'brokerEpoch'>,
  ): Promise<AlterPartitionResult> {
    const epoch = this.#brokerEpoch;
    const nodeId = this.#started?.self.nodeId;
    if (epoch === null || nodeId === undefined) return unreachable('this broker is not registered yet');
    return this.#adminCall<AlterPartitionResult>(ROUTES.alterPartition, {
      ...req,
      nodeId,
      brokerEpoch: epoch,
    });
  }

  controlledShutdown(timeoutMs: number): Promise<void> {
    this.#wantShutdown = true;
    if (this.#closed || this.#brokerEpoch === null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.#o.clock.setTimeout(() => {
        this.#log.warn({ timeoutMs }, 'The controller did not confirm the controlled shutdown in time');
        done();
      }, timeoutMs);
      const done = (): void => {
        this.#o.clock.clearTimeout(timer);
        this.#shutdownWaiters = this.#shutdownWaiters.filter((w) => w !== done);
        resolve();
      };
      this.#shutdownWaiters.push(done);
      this.#scheduleHeartbeat(0);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeatTimer) this.#o.clock.clearTimeout(this.#heartbeatTimer);
    this.#stream?.destroy();
    for (const wake of this.#sleeps) wake();
    for (const w of this.#shutdownWaiters.splice(0)) w();
    this.#firstApplied?.reject(new Error('The controller link was closed before the first metadata image'));
    this.#agent.destroy();
  }

  // Registration

  /** Registers unless already registered; concurrent callers share one attempt. */
  #ensureRegistered(): Promise<void> {
    if (this.#brokerEpoch !== null) return Promise.resolve();
    this.#registering ??= this.#register().finally(() => (this.#registering = null));
    return this.#registering;
  }

  async #register(): Promise<void> {
    const s = this.#started;
    if (!s) throw new Error('HttpLink.start() was not called');
    let backoff: number | null = null;
    let refusalLogged = false;
    while (!this.#closed) {
      const req: RegisterRequest = { ...s.self, incarnationId: s.incarnationId, clusterId: s.clusterId };
      try {
        const r = await this.#post<AdminResult<RegisterResponse>>(
          ROUTES.register,
          req,
          this.#o.requestTimeoutMs,
        );
        this.#reachable();
        if (r.ok) {
          this.#brokerEpoch = r.brokerEpoch;
          s.clusterId = r.clusterId;
          this.#log.info(
            { brokerEpoch: r.brokerEpoch, clusterId: r.clusterId, controllerEpoch: r.controllerEpoch },
            'Registered with the controller',
          );
          return;
        }
        if (!refusalLogged) {
          this.#log.warn(
            { errorCode: r.errorCode, reason: r.errorMessage },
            'The controller refused the registration; retrying',
          );
          refusalLogged = true;
        }
      } catch (err) {
        this.#unreachable(err);
      }
      backoff = nextBackoff(backoff);
      await this.#sleep(backoff);
    }
    throw new Error('The controller link was closed');
  }

  /** The current registration is no longer the controller's: register again, and reopen the stream with the new epoch. */
  #reregister(reason: string): void {
    if (this.#closed || this.#brokerEpoch === null) return;
    this.#log.info({ brokerEpoch: this.#brokerEpoch, reason }, 'Registering with the controller again');
    this.#brokerEpoch = null;
    this.#stream?.destroy();
  }

  // Heartbeats

  #scheduleHeartbeat(delayMs: number): void {
    if (this.#closed) return;
    if (this.#heartbeatTimer) this.#o.clock.clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = this.#o.clock.setTimeout(() => {
      this.#heartbeatTimer = null;
      void this.#heartbeat().finally(() => {
        if (this.#heartbeatTimer === null) this.#scheduleHeartbeat(this.#o.heartbeatIntervalMs);
      });
    }, delayMs);
  }

  async #heartbeat(): Promise<void> {
    const epoch = this.#brokerEpoch;
    const nodeId = this.#started?.self.nodeId;
    if (epoch === null || nodeId === undefined) return;
    if (this.#heartbeatInFlight) {
      this.#heartbeatAgain = true;
      return;
    }
    this.#heartbeatInFlight = true;
    const wantShutdown = this.#wantShutdown;
    try {
      const r = await this.#post<AdminResult<HeartbeatResponse>>(
        ROUTES.heartbeat,
        {
          nodeId,
          brokerEpoch: epoch,
          caughtUp: this.#caughtUp,
          wantShutdown,
          ...(this.#offlineReplicas ? { offlineReplicas: this.#offlineReplicas } : {}),
        },
        Math.max(1000, 4 * this.#o.heartbeatIntervalMs),
      );
      if (!r.ok) {
        if (REREGISTER.has(r.errorCode)) this.#reregister(r.errorMessage);
        return;
      }
      if (wantShutdown && r.shutdownReady) for (const w of [...this.#shutdownWaiters]) w();
    } catch {
      // The stream and registration report an unreachable controller; heartbeats just keep trying.
    } finally {
      this.#heartbeatInFlight = false;
      if (this.#heartbeatAgain) {
        this.#heartbeatAgain = false;
        this.#scheduleHeartbeat(0);
      }
    }
  }

  // The image stream

  async #streamLoop(): Promise<void> {
    let backoff: number | null = null;
    while (!this.#closed) {
      try {
        await this.#ensureRegistered();
      } catch {
        return; // closed
      }
      const epoch = this.#brokerEpoch;
      if (epoch === null) continue;
      const outcome = await this.#readStream(epoch);
      if (this.#closed) return;
      if (outcome.kind === 'refused') {
        this.#reregister(outcome.reason);
        continue;
      }
      if (outcome.kind === 'failed') this.#unreachable(outcome.err);
      backoff = outcome.delivered ? null : nextBackoff(backoff);
      await this.#sleep(backoff ?? FIRST_BACKOFF_MS);
    }
  }

  /** Reads one stream until it ends; never rejects. */
  #readStream(
    brokerEpoch: number,
  ): Promise<
    { kind: 'ended' | 'failed'; err?: unknown; delivered: boolean } | { kind: 'refused'; reason: string }
  > {
    const nodeId = this.#started?.self.nodeId ?? -1;
    return new Promise((resolve) => {
      let delivered = false;
      let settled = false;
      let idle: TimerHandle | null = null;
      const finish = (r: Parameters<typeof resolve>[0]): void => {
        if (settled) return;
        settled = true;
        if (idle) this.#o.clock.clearTimeout(idle);
        if (this.#stream === req) this.#stream = null;
        req.destroy();
        resolve(r);
      };
      const touch = (): void => {
        if (idle) this.#o.clock.clearTimeout(idle);
        idle = this.#o.clock.setTimeout(
          () => finish({ kind: 'failed', err: new Error('the image stream went silent'), delivered }),
          this.#o.streamIdleTimeoutMs,
        );
      };
      const req = http.get({
        host: this.#o.address.host,
        port: this.#o.address.port,
        path: ROUTES.images(nodeId, brokerEpoch),
        headers: { authorization: `Bearer ${this.#o.token}`, accept: 'application/x-ndjson' },
        agent: this.#agent,
      });
      this.#stream = req;
      touch();
      req.on('error', (err) => finish({ kind: 'failed', err, delivered }));
      req.on('close', () => finish({ kind: 'ended', delivered }));
      req.on('response', (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (c: string) => (body += c));
          res.on('end', () =>
            finish({ kind: 'failed', err: new HttpStatusError(res.statusCode ?? 0, body), delivered }),
          );
          return;
        }
        let buffered = '';
        res.on('data', (chunk: string) => {
          touch();
          buffered += chunk;
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const text = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            let line: StreamLine;
            try {
              line = JSON.parse(text) as StreamLine;
            } catch (err) {
              finish({ kind: 'failed', err, delivered });
              return;
            }
            if (line.type === 'refused') {
              finish({ kind: 'refused', reason: line.errorMessage });
              return;
            }
            if (line.type === 'image') {
              if (!delivered) this.#reachable();
              delivered = true;
              this.#accept(fromWireImage(line.image));
            }
          }
        });
        res.on('error', (err) => finish({ kind: 'failed', err, delivered }));
        res.on('end', () => finish({ kind: 'ended', delivered }));
      });
    });
  }

  /** Queues an image for `onImage` if it is newer than every one queued before. */
  #accept(image: MetadataImage): void {
    if (!isNewer(image, this.#latest)) return;
    this.#latest = image;
    const onImage = this.#started?.onImage;
    if (!onImage) return;
    this.#applying = this.#applying.then(async () => {
      if (this.#closed) return;
      try {
        await onImage(image);
        this.#firstApplied?.resolve();
      } catch (err) {
        this.#log.error({ err, version: image.version }, 'Applying a metadata image failed');
        this.#firstApplied?.reject(err);
      }
      this.#firstApplied = null;
    });
  }

  // Requests

  #post<T>(path: string, body: unknown, timeoutMs: number): Promise<T> {
    const payload = JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const timer = this.#o.clock.setTimeout(
        () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const req = http.request(
        {
          host: this.#o.address.host,
          port: this.#o.address.port,
          method: 'POST',
          path,
          agent: this.#agent,
          headers: {
            authorization: `Bearer ${this.#o.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('error', reject);
          res.on('end', () => {
            this.#o.clock.clearTimeout(timer);
            if (res.statusCode !== 200) return reject(new HttpStatusError(res.statusCode ?? 0, text));
            try {
              resolve(JSON.parse(text) as T);
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
        },
      );
      req.on('error', (err) => {
        this.#o.clock.clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  }

  /** An admin call: a Kafka refusal passes through; an unreachable controller becomes REQUEST_TIMED_OUT. */
  async #adminCall<R extends AdminResult<object>>(path: string, body: unknown): Promise<R> {
    if (this.#closed) return unreachable('the broker is shutting down') as R;
    try {
      return await this.#post<R>(path, body, this.#o.requestTimeoutMs);
    } catch (err) {
      if (err instanceof HttpStatusError) {
        this.#log.error({ err, path }, 'The controller refused an admin request');
        return {
          ok: false,
          errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
          errorMessage: `The controller refused the request: ${err.message}`,
        } as R;
      }
      return unreachable((err as Error).message) as R;
    }
  }

  #topicAdmin(): TopicAdmin {
    type TopicResult = AdminResult<{ topic: TopicState }>;
    return {
      createTopic: (request, validateOnly) =>
        this.#adminCall<TopicResult>(ROUTES.createTopic, { request, validateOnly }),
      deleteTopic: (ref) => this.#adminCall<TopicResult>(ROUTES.deleteTopic, ref),
      createPartitions: (name, count, assignments, validateOnly) =>
        this.#adminCall<TopicResult>(ROUTES.createPartitions, { name, count, assignments, validateOnly }),
      alterTopicConfigs: (name, change, validateOnly) =>
        this.#adminCall<TopicResult>(ROUTES.alterConfigs, { name, change, validateOnly }),
      allocateProducerIds: async (count) => {
        let r: { ok: true; first: string };
        try {
          r = await this.#post<{ ok: true; first: string }>(
            ROUTES.producerIds,
            { count },
            this.#o.requestTimeoutMs,
          );
        } catch (err) {
          throw new Error(`The controller is not reachable: ${(err as Error).message}`, { cause: err });
        }
        return BigInt(r.first);
      },
    };
  }

  // Outages and back-off

  #unreachable(err: unknown): void {
    if (this.#outageSince !== null || this.#closed) return;
    this.#outageSince = this.#o.clock.now();
    const e = err as NodeJS.ErrnoException;
    if (err instanceof HttpStatusError && err.status === 401) {
      this.#log.error(
        'The controller refused our token (controller.token / controller.token.file); retrying',
      );
    } else {
      this.#log.warn({ reason: e.code ?? e.message }, 'The controller is not reachable; retrying');
    }
  }

  #reachable(): void {
    if (this.#outageSince === null) return;
    this.#log.info({ outageMs: this.#o.clock.now() - this.#outageSince }, 'Reached the controller again');
    this.#outageSince = null;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#o.clock.clearTimeout(timer);
        this.#sleeps.delete(wake);
        resolve();
      };
      const timer = this.#o.clock.setTimeout(wake, ms);
      this.#sleeps.add(wake);
    });
  }
}

function unreachable(reason: string): { ok: false; errorCode: number; errorMessage: string } {
  return {
    ok: false,
    errorCode: ErrorCode.REQUEST_TIMED_OUT,
    errorMessage: `The controller is not reachable: ${reason}`,
  };
}
