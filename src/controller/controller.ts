/**
 * The metadata controller's shell around the pure decisions (./brokers.ts, ./topics.ts, ./isr.ts,
 * ./shutdown.ts): one serial queue for every call, each decision saved to the store before it is
 * answered or published, the brokers' sessions, a timer that fences brokers whose heartbeats
 * stopped, and one that moves leadership back to preferred replicas (./leader-rebalance.ts).
 *
 * Opening takes the controller role: a new controller epoch is persisted before anything is
 * served, so a deposed controller's next write fails the store's compare-and-swap; from then on it
 * answers NOT_CONTROLLER and publishes nothing. Every unfenced broker gets a fresh session at
 * takeover, so a controller restart fences nobody that keeps heartbeating.
 */
import type { Clock, TimerHandle } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { SerialQueue } from '../storage/serial-queue.ts';
import type {
  AdminError,
  AdminResult,
  AlterPartitionRequest,
  AlterPartitionResult,
  AlterReassignmentsResult,
  ConfigChange,
  ControllerService,
  CreateTopicRequest,
  ElectionTarget,
  ElectionType,
  ElectLeadersResult,
  HeartbeatRequest,
  HeartbeatResponse,
  ListReassignmentsResult,
  ReassignmentTarget,
  RegisterRequest,
  RegisterResponse,
} from './api.ts';
import * as brokers from './brokers.ts';
import { electLeaders } from './elect-leaders.ts';
import type { MetadataImage, TopicState } from './image.ts';
import { alterPartition } from './isr.ts';
import { rebalanceLeaders } from './leader-rebalance.ts';
import { alterPartitionReassignments, listPartitionReassignments } from './reassign.ts';
import {
  type BrokerSession,
  type ClusterState,
  type Decision,
  fail,
  newClusterState,
  randomUuid,
  takeOver,
  toImage,
} from './state.ts';
import { type MetadataStore, StaleControllerError } from './store.ts';
import * as topics from './topics.ts';

export interface ControllerSettings {
  /** A broker whose last heartbeat is older than this is fenced. */
  sessionTimeoutMs: number;
  /** num.partitions: for CreateTopics with numPartitions -1. */
  numPartitions: number;
  /** default.replication.factor: for CreateTopics with replicationFactor -1. */
  defaultReplicationFactor: number;
  /** delete.topic.enable */
  deleteTopicEnable: boolean;
  /** auto.leader.rebalance.enable: elect preferred replicas back on a timer (./leader-rebalance.ts). */
  autoLeaderRebalanceEnable: boolean;
  /** leader.imbalance.check.interval.seconds, in milliseconds. */
  leaderImbalanceCheckIntervalMs: number;
  /** leader.imbalance.per.broker.percentage */
  leaderImbalancePerBrokerPercentage: number;
}

export interface ControllerOptions {
  store: MetadataStore;
  /**
   * Which brokers asked this controller's host while it waited to lead ({@link brokers.fenceUnheard}):
   * the silent ones are fenced in the takeover. Absent, every unfenced broker gets a fresh session.
   */
  heard?: ReadonlyMap<number, brokers.Heard>;
  clock: Clock;
  logger: Logger;
  settings: ControllerSettings;
}

type Refusal = { ok: false } & AdminError;

function notController(): Refusal {
  return fail(ErrorCode.NOT_CONTROLLER, 'This controller has been replaced by a newer one.');
}

export class Controller implements ControllerService {
  readonly #o: ControllerOptions;
  readonly #log: Logger;
  readonly #queue = new SerialQueue();
  readonly #sessions = new Map<number, BrokerSession>();
  readonly #listeners = new Set<(image: MetadataImage) => void>();
  #state: ClusterState;
  #image: MetadataImage;
  #timer: TimerHandle | null = null;
  #rebalanceTimer: TimerHandle | null = null;
  #deposed = false;
  #closed = false;

  private constructor(o: ControllerOptions, state: ClusterState) {
    this.#o = o;
    this.#state = state;
    this.#image = toImage(state);
    this.#log = o.logger.child({ controllerEpoch: state.controllerEpoch });
    const now = o.clock.now();
    for (const b of state.brokers) {
      if (!b.fenced) this.#sessions.set(b.nodeId, { lastHeartbeatMs: now, caughtUp: true });
    }
  }

  /** Loads the state (or starts a new cluster), takes the controller role, and starts the session timer. */
  static async open(o: ControllerOptions): Promise<Controller> {
    const loaded = await o.store.load();
    let state = takeOver(loaded ?? newClusterState(randomUuid()));
    const unheard = o.heard
      ? brokers.fenceUnheard(state, o.heard, o.clock.now(), o.settings.sessionTimeoutMs)
      : undefined;
    if (unheard) state = unheard.state;
    await o.store.save(state);
    const c = new Controller(o, state);
    for (const line of unheard?.log ?? []) c.#log.info(line);
    c.#log.info(
      loaded
        ? `Took over as controller of cluster ${state.clusterId} at version ${state.version}`
        : `Started a new cluster ${state.clusterId}`,
    );
    c.#armTimer();
    c.#armRebalanceTimer();
    return c;
  }

  image(): MetadataImage {
    return this.#image;
  }

  onImage(listener: (image: MetadataImage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether a newer controller has taken over from this one. */
  get deposed(): boolean {
    return this.#deposed;
  }

  /** Stops the session timer and waits for the call in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#disarmTimer();
    await this.#queue.idle();
  }

  register(req: RegisterRequest): Promise<AdminResult<RegisterResponse>> {
    return this.#decide(() => brokers.register(this.#state, req), {
      onAnswer: (a) => {
        if (a.ok) this.#sessions.set(req.nodeId, { lastHeartbeatMs: this.#o.clock.now(), caughtUp: false });
      },
    });
  }

  heartbeat(req: HeartbeatRequest): Promise<AdminResult<HeartbeatResponse>> {
    return this.#decide(() => brokers.heartbeat(this.#state, req), {
      onAnswer: (a) => {
        if (a.ok)
          this.#sessions.set(req.nodeId, { lastHeartbeatMs: this.#o.clock.now(), caughtUp: req.caughtUp });
      },
    });
  }

  alterPartition(req: AlterPartitionRequest): Promise<AlterPartitionResult> {
    return this.#decide(() => alterPartition(this.#state, req));
  }

  async brokerLost(nodeId: number, brokerEpoch: number, reason: string): Promise<void> {
    await this.#decide(() => brokers.brokerLost(this.#state, nodeId, brokerEpoch, reason));
  }

  /**
   * Something other than the broker's session says it is gone (the operator saw its pod deleted or
   * its node fail): its current registration is fenced now rather than at the session timeout. True
   * when it was fenced by this call.
   */
  async fenceBroker(nodeId: number, reason: string): Promise<boolean> {
    const answer = await this.#decide(() => {
      const reg = this.#state.brokers.find((b) => b.nodeId === nodeId);
      if (!reg) return { state: this.#state, answer: false, log: [] };
      return brokers.brokerLost(this.#state, nodeId, reg.brokerEpoch, reason);
    });
    return answer === true;
  }

  createTopic(req: CreateTopicRequest, validateOnly: boolean): Promise<AdminResult<{ topic: TopicState }>> {
    return this.#decide(
      () => topics.createTopic(this.#state, req, { defaults: this.#defaults(), topicId: randomUuid() }),
      { validateOnly },
    );
  }

  deleteTopic(ref: { name: string } | { topicId: string }): Promise<AdminResult<{ topic: TopicState }>> {
    return this.#decide(() => topics.deleteTopic(this.#state, ref, this.#defaults()));
  }

  createPartitions(
    name: string,
    count: number,
    assignments: number[][] | null,
    validateOnly: boolean,
  ): Promise<AdminResult<{ topic: TopicState }>> {
    return this.#decide(() => topics.createPartitions(this.#state, { name, count, assignments }), {
      validateOnly,
    });
  }

  alterTopicConfigs(
    name: string,
    change: ConfigChange,
    validateOnly: boolean,
  ): Promise<AdminResult<{ topic: TopicState }>> {
    return this.#decide(() => topics.alterTopicConfigs(this.#state, name, change), { validateOnly });
  }

  electLeaders(type: ElectionType, targets: ElectionTarget[] | null): Promise<ElectLeadersResult> {
    return this.#decide(() => electLeaders(this.#state, type, targets));
  }

  alterPartitionReassignments(targets: ReassignmentTarget[]): Promise<AlterReassignmentsResult> {
    return this.#decide(() => alterPartitionReassignments(this.#state, targets));
  }

  listPartitionReassignments(targets: ElectionTarget[] | null): Promise<ListReassignmentsResult> {
    return this.#decide(() => ({
      state: this.#state,
      answer: listPartitionReassignments(this.#state, targets),
      log: [],
    }));
  }

  /** Throws StaleControllerError once deposed: there is no error code to answer with. */
  async allocateProducerIds(count: number): Promise<bigint> {
    const r = await this.#decide(() => topics.allocateProducerIds(this.#state, count));
    if (typeof r !== 'bigint') throw new StaleControllerError({ reason: r.errorMessage });
    return r;
  }

  #defaults(): topics.TopicDefaults {
    const s = this.#o.settings;
    return {
      numPartitions: s.numPartitions,
      replicationFactor: s.defaultReplicationFactor,
      deleteTopicEnable: s.deleteTopicEnable,
    };
  }

  /**
   * Runs one decision on the queue and persists its state (unless validateOnly) before answering.
   * `onAnswer` runs on the queue too, for the sessions, which only this controller keeps.
   */
  #decide<T>(
    decide: () => Decision<T>,
    o: { validateOnly?: boolean; onAnswer?: (answer: T) => void } = {},
  ): Promise<T | Refusal> {
    return this.#queue.run(async () => {
      if (this.#deposed) return notController();
      const d = decide();
      if (d.state !== this.#state && !o.validateOnly) {
        if (!(await this.#commit(d.state))) return notController();
        for (const line of d.log) this.#log.info(line);
      }
      o.onAnswer?.(d.answer);
      return d.answer;
    });
  }

  /** Saves, then publishes; false when a newer controller holds the store. */
  async #commit(next: ClusterState): Promise<boolean> {
    try {
      await this.#o.store.save(next);
    } catch (err) {
      if (!(err instanceof StaleControllerError)) throw err;
      this.#deposed = true;
      this.#disarmTimer();
      this.#log.warn({ err }, 'Stopped acting as controller: a newer controller took over');
      return false;
    }
    this.#state = next;
    this.#image = toImage(next);
    for (const listener of this.#listeners) {
      try {
        listener(this.#image);
      } catch (err) {
        this.#log.error({ err }, 'An image listener failed');
      }
    }
    return true;
  }

  #armTimer(): void {
    if (this.#closed || this.#deposed) return;
    const every = Math.max(1, Math.floor(this.#o.settings.sessionTimeoutMs / 4));
    const dueAt = this.#o.clock.now() + every;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null;
      const lateMs = this.#o.clock.now() - dueAt;
      // A check this late means this process did not run (stopped, swapped out, a long pause):
      // the heartbeats of that time wait unread in its sockets, so silence proves nothing against
      // the brokers. They get a fresh session, as at takeover; a dead one's closed stream or its
      // next missed session still fences it.
      const tick =
        lateMs > every
          ? this.#queue.run(async () => this.#renewSessions(lateMs))
          : this.#decide(() =>
              brokers.expireSessions(
                this.#state,
                this.#sessions,
                this.#o.clock.now(),
                this.#o.settings.sessionTimeoutMs,
              ),
            );
      tick
        .catch((err: unknown) =>
          this.#log.error({ err }, 'Failed to persist the fencing of expired sessions'),
        )
        .finally(() => this.#armTimer());
    }, every);
  }

  #renewSessions(lateMs: number): void {
    const now = this.#o.clock.now();
    for (const [nodeId, session] of this.#sessions)
      this.#sessions.set(nodeId, { ...session, lastHeartbeatMs: now });
    this.#log.warn(
      { lateMs },
      'The session check ran late (this process did not run meanwhile); renewed every broker session instead of fencing',
    );
  }

  /** The preferred-leader rebalance check, every leader.imbalance.check.interval.seconds. */
  #armRebalanceTimer(): void {
    const s = this.#o.settings;
    if (this.#closed || this.#deposed || !s.autoLeaderRebalanceEnable) return;
    this.#rebalanceTimer = this.#o.clock.setTimeout(() => {
      this.#rebalanceTimer = null;
      this.#decide(() => rebalanceLeaders(this.#state, s.leaderImbalancePerBrokerPercentage))
        .catch((err: unknown) => this.#log.error({ err }, 'Failed to persist a preferred-leader rebalance'))
        .finally(() => this.#armRebalanceTimer());
    }, s.leaderImbalanceCheckIntervalMs);
  }

  #disarmTimer(): void {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#rebalanceTimer) this.#o.clock.clearTimeout(this.#rebalanceTimer);
    this.#rebalanceTimer = null;
  }
}
