/**
 * The link of a broker that runs its controller in its own process (`tributary broker` without
 * controller.address, `tributary dev` with one broker): the same registration, heartbeats, image
 * stream and AlterPartition as over HTTP, as plain calls. A lone broker behaves as before the
 * cluster controller existed: once caught up it is unfenced and leads every partition.
 *
 * Topic administration answers only once this broker has applied the image holding the change, so a
 * client that creates a topic and then asks this broker for metadata sees it at once.
 */
import type { Clock, TimerHandle } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { SerialQueue } from '../storage/serial-queue.ts';
import type {
  AlterPartitionRequest,
  AlterPartitionResult,
  ControllerLink,
  ControllerService,
  HeartbeatResponse,
  OfflineReplica,
  TopicAdmin,
} from './api.ts';
import { type BrokerEndpoint, isNewer, type MetadataImage } from './image.ts';

export interface EmbeddedLinkOptions {
  controller: ControllerService;
  clock: Clock;
  logger: Logger;
  heartbeatIntervalMs: number;
}

interface Registration {
  self: BrokerEndpoint;
  incarnationId: string;
  clusterId: string | null;
  brokerEpoch: number;
}

export class EmbeddedLink implements ControllerLink {
  readonly admin: TopicAdmin;
  readonly #o: EmbeddedLinkOptions;
  readonly #applying = new SerialQueue();
  #reg: Registration | null = null;
  #onImage: ((image: MetadataImage) => Promise<void>) | null = null;
  #applied: MetadataImage | null = null;
  #unsubscribe: (() => void) | null = null;
  #timer: TimerHandle | null = null;
  #caughtUp = false;
  #wantShutdown = false;
  #offlineReplicas: OfflineReplica[] | null = null;
  #closed = false;

  constructor(o: EmbeddedLinkOptions) {
    this.#o = o;
    this.admin = this.#adminThatWaitsForImages();
  }

  async start(o: {
    self: BrokerEndpoint;
    incarnationId: string;
    clusterId: string | null;
    onImage: (image: MetadataImage) => Promise<void>;
  }): Promise<void> {
    this.#onImage = o.onImage;
    this.#unsubscribe = this.#o.controller.onImage((image) => void this.#deliver(image));
    await this.#register({
      self: o.self,
      incarnationId: o.incarnationId,
      clusterId: o.clusterId,
      brokerEpoch: -1,
    });
    await this.#deliver(this.#o.controller.image());
    this.#schedule();
  }

  markCaughtUp(): void {
    this.#caughtUp = true;
    void this.#heartbeat().catch((err: unknown) => this.#o.logger.warn({ err }, 'Heartbeat failed'));
  }

  reportOfflineReplicas(replicas: OfflineReplica[]): void {
    this.#offlineReplicas = [...replicas];
    if (this.#reg === null) return;
    void this.#heartbeat().catch((err: unknown) => this.#o.logger.warn({ err }, 'Heartbeat failed'));
  }

  alterPartition(req: Omit<AlterPartitionRequest, 'nodeId' | 'brokerEpoch'>): Promise<AlterPartitionResult> {
    const reg = this.#registration();
    return this.#o.controller.alterPartition({
      ...req,
      nodeId: reg.self.nodeId,
      brokerEpoch: reg.brokerEpoch,
    });
  }

  async controlledShutdown(timeoutMs: number): Promise<void> {
    this.#wantShutdown = true;
    const deadline = this.#o.clock.now() + timeoutMs;
    for (;;) {
      const r = await this.#heartbeat().catch(() => null);
      if (r?.shutdownReady) return;
      const left = deadline - this.#o.clock.now();
      if (left <= 0 || this.#closed) {
        this.#o.logger.warn('Controlled shutdown timed out: some partitions still need this broker');
        return;
      }
      await new Promise<void>((resolve) =>
        this.#o.clock.setTimeout(resolve, Math.min(left, this.#o.heartbeatIntervalMs)),
      );
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.#applying.idle();
  }

  async #register(r: Registration): Promise<void> {
    const answer = await this.#o.controller.register({
      ...r.self,
      incarnationId: r.incarnationId,
      clusterId: r.clusterId,
    });
    if (!answer.ok) {
      throw new Error(`The controller refused to register broker ${r.self.nodeId}: ${answer.errorMessage}`);
    }
    this.#reg = { ...r, brokerEpoch: answer.brokerEpoch, clusterId: answer.clusterId };
  }

  /** One heartbeat; registers again if the controller no longer knows this broker epoch. */
  async #heartbeat(): Promise<HeartbeatResponse | null> {
    const reg = this.#registration();
    const r = await this.#o.controller.heartbeat({
      nodeId: reg.self.nodeId,
      brokerEpoch: reg.brokerEpoch,
      caughtUp: this.#caughtUp,
      wantShutdown: this.#wantShutdown,
      ...(this.#offlineReplicas ? { offlineReplicas: this.#offlineReplicas } : {}),
    });
    if (r.ok) return r;
    if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH && !this.#closed) {
      this.#o.logger.warn(`Registering again: ${r.errorMessage}`);
      await this.#register(reg);
    } else {
      this.#o.logger.warn(`Heartbeat refused: ${r.errorMessage}`);
    }
    return null;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null;
      this.#heartbeat()
        .catch((err: unknown) => this.#o.logger.warn({ err }, 'Heartbeat failed'))
        .finally(() => this.#schedule());
    }, this.#o.heartbeatIntervalMs);
  }

  /** Applies `image` after every image before it, unless a newer one was applied already. */
  #deliver(image: MetadataImage): Promise<void> {
    return this.#applying.run(async () => {
      if (this.#closed || !this.#onImage || !isNewer(image, this.#applied)) return;
      try {
        await this.#onImage(image);
        this.#applied = image;
      } catch (err) {
        this.#o.logger.error({ err, version: image.version }, 'Failed to apply a metadata image');
      }
    });
  }

  #registration(): Registration {
    if (!this.#reg) throw new Error('The controller link is not started');
    return this.#reg;
  }

  /** The controller's TopicAdmin, each change answered once this broker has applied it. */
  #adminThatWaitsForImages(): TopicAdmin {
    const c = this.#o.controller;
    const applied = async <T>(result: T): Promise<T> => {
      await this.#deliver(c.image());
      return result;
    };
    return {
      createTopic: async (req, validateOnly) => applied(await c.createTopic(req, validateOnly)),
      deleteTopic: async (ref) => applied(await c.deleteTopic(ref)),
      createPartitions: async (name, count, assignments, validateOnly) =>
        applied(await c.createPartitions(name, count, assignments, validateOnly)),
      alterTopicConfigs: async (name, change, validateOnly) =>
        applied(await c.alterTopicConfigs(name, change, validateOnly)),
      electLeaders: async (type, targets) => applied(await c.electLeaders(type, targets)),
      alterPartitionReassignments: async (targets) => applied(await c.alterPartitionReassignments(targets)),
      listPartitionReassignments: (targets) => c.listPartitionReassignments(targets),
      allocateProducerIds: (count) => c.allocateProducerIds(count),
    };
  }
}
