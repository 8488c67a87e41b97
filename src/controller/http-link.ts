/**
 * The broker's end of the controller HTTP API (docs/adr/0015; the server is ./http-server.ts):
 * registration retried with back-off while the controller is away, the image stream read line by
 * line and applied in order, heartbeats, AlterPartition, controlled shutdown, and the topic
 * administration clients ask any broker for. Every call goes to the controller among the configured
 * addresses (./controller-finder.ts): the one that answered last, else the next that answers.
 *
 * The data path never waits on this: with the controller away, the broker keeps the image it has;
 * admin calls answer REQUEST_TIMED_OUT (a Kafka error clients retry) within the request timeout.
 */
import http from 'node:http';
import type { HostPort } from '../broker/host-port.ts';
import type { Clock, TimerHandle } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type {
  AdminError,
  AdminResult,
  AlterPartitionRequest,
  AlterPartitionResult,
  AlterReassignmentsResult,
  ControllerLink,
  ElectLeadersResult,
  HeartbeatResponse,
  ListReassignmentsResult,
  OfflineReplica,
  RegisterRequest,
  RegisterResponse,
  TopicAdmin,
} from './api.ts';
import { type BrokerEndpoint, isNewer, type MetadataImage, type TopicState } from './image.ts';
import { ControllerFinder, formatHostPort, HttpStatusError, type LookupAll } from './controller-finder.ts';
import { openStream, postJson, readStream, type StreamOutcome, type Target } from './http-requests.ts';
import { fromWireImage, ROUTES, STREAM_KEEPALIVE_MS } from './http-wire.ts';

export interface HttpLinkOptions {
  /** `controller.address`: one or more HOST:PORT; a HOST may resolve to several addresses. */
  addresses: readonly HostPort[];
  /** Resolves the hosts at each round (tests inject one); `dns.lookup` with `all: true` by default. */
  lookup?: LookupAll;
  token: string;
  clock: Clock;
  logger: Logger;
  heartbeatIntervalMs: number;
  /** The longest any request waits for its answer (admin calls, AlterPartition, registration). */
  requestTimeoutMs?: number;
  /** A stream silent this long (not even a keep-alive) is taken for dead and opened again. */
  streamIdleTimeoutMs?: number;
  /** An address that does not accept the connection this fast is passed over for the next. */
  connectTimeoutMs?: number;
}

/** A registration is one small decision and one store write; no answer in this long moves on. */
const REGISTER_TIMEOUT_MS = 3000;
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

/** Answers that say this broker must register again (a new controller, or a newer registration). */
const REREGISTER = new Set<number>([ErrorCode.STALE_BROKER_EPOCH, ErrorCode.BROKER_ID_NOT_REGISTERED]);

/** A deposed controller's refusal: a newer one is at another address, so the round goes on. */
function deposedAnswer(answer: unknown): boolean {
  const a = answer as Partial<AdminError> & { ok?: boolean };
  return a.ok === false && a.errorCode === ErrorCode.NOT_CONTROLLER;
}

interface Started {
  self: BrokerEndpoint;
  incarnationId: string;
  clusterId: string | null;
  onImage: (image: MetadataImage) => Promise<void>;
}

export class HttpLink implements ControllerLink {
  readonly admin: TopicAdmin;
  readonly #o: Required<Omit<HttpLinkOptions, 'lookup'>>;
  readonly #log: Logger;
  readonly #agent = new http.Agent({ keepAlive: true });
  readonly #finder: ControllerFinder;
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
  /** Where the open stream goes: it is reopened when the controller is found elsewhere. */
  #streamAt: HostPort | null = null;
  /** The newest image accepted (handed to the apply chain), to drop any not newer. */
  #latest: MetadataImage | null = null;
  #applying: Promise<void> = Promise.resolve();
  #firstApplied: { resolve: () => void; reject: (err: unknown) => void } | null = null;
  /** Wakes a back-off sleep early (close). */
  #sleeps = new Set<() => void>();

  constructor(o: HttpLinkOptions) {
    const { lookup, ...rest } = o;
    this.#o = {
      ...rest,
      requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
      streamIdleTimeoutMs: o.streamIdleTimeoutMs ?? 3 * STREAM_KEEPALIVE_MS,
      connectTimeoutMs: o.connectTimeoutMs ?? 2000,
    };
    this.#log = o.logger;
    this.#finder = new ControllerFinder({
      addresses: o.addresses,
      lookup,
      logger: o.logger,
      onMove: (to) => {
        const at = this.#streamAt;
        if (at && (at.host !== to.host || at.port !== to.port)) this.#stream?.destroy();
      },
    });
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
        // Short, as a heartbeat's: a controller replica that stopped (a paused operator) accepts
        // connections in its kernel but answers nothing, and the next address may be the leader.
        const r = await this.#post<AdminResult<RegisterResponse>>(
          ROUTES.register,
          req,
          Math.min(this.#o.requestTimeoutMs, REGISTER_TIMEOUT_MS),
        );
        this.#reachable();
        if (r.ok) {
          this.#brokerEpoch = r.brokerEpoch;
          s.clusterId = r.clusterId;
          this.#log.info(
            {
              brokerEpoch: r.brokerEpoch,
              clusterId: r.clusterId,
              controllerEpoch: r.controllerEpoch,
              controller: this.#where(),
            },
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
      const outcome = await this.#openAndRead(epoch);
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

  /** Opens the stream at the controller (a round over the addresses), then reads it until it ends; never rejects. */
  async #openAndRead(brokerEpoch: number): Promise<StreamOutcome> {
    const nodeId = this.#started?.self.nodeId ?? -1;
    let delivered = false;
    let opened: { req: http.ClientRequest; res: http.IncomingMessage };
    try {
      opened = await this.#finder.call((at) =>
        openStream(this.#target(at), ROUTES.images(nodeId, brokerEpoch), (r) => {
          this.#stream = r;
          this.#streamAt = at;
          // Closed meanwhile: close() destroyed the stream before this one existed.
          if (this.#closed) r.destroy();
        }),
      );
    } catch (err) {
      this.#stream = null;
      this.#streamAt = null;
      return { kind: 'failed', err, delivered: false };
    }
    const { req, res } = opened;
    const outcome = await readStream(req, res, {
      clock: this.#o.clock,
      idleTimeoutMs: this.#o.streamIdleTimeoutMs,
      onImage: (wire) => {
        if (!delivered) this.#reachable();
        delivered = true;
        this.#accept(fromWireImage(wire));
      },
    });
    if (this.#stream === req) {
      this.#stream = null;
      this.#streamAt = null;
    }
    return outcome;
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

  /** A POST to the controller: a round over the addresses, from the one that answered last. */
  #post<T>(path: string, body: unknown, timeoutMs: number): Promise<T> {
    return this.#finder.call((at) => postJson<T>(this.#target(at), path, body, timeoutMs), deposedAnswer);
  }

  #target(at: HostPort): Target {
    const o = this.#o;
    return {
      at,
      token: o.token,
      nodeId: this.#started?.self.nodeId ?? null,
      agent: this.#agent,
      clock: o.clock,
      connectTimeoutMs: o.connectTimeoutMs,
    };
  }

  #where(): string | null {
    const at = this.#finder.current;
    return at && formatHostPort(at);
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
      electLeaders: (type, targets) =>
        this.#adminCall<ElectLeadersResult>(ROUTES.electLeaders, { type, targets }),
      alterPartitionReassignments: (targets) =>
        this.#adminCall<AlterReassignmentsResult>(ROUTES.alterReassignments, { targets }),
      listPartitionReassignments: (targets) =>
        this.#adminCall<ListReassignmentsResult>(ROUTES.listReassignments, { targets }),
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
