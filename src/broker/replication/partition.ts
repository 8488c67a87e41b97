/**
 * One partition hosted on this broker, as replication sees it (Kafka's Partition): its role under
 * the leader epoch it knows, the partition state (ISR, partition epoch) as last persisted by the
 * controller, and — while it leads — each follower's log end and catch-up time, the high watermark
 * over the ISR, and the acks=all produces waiting for it.
 *
 * Every change happens in one synchronous method call, so no state is shared across an `await`:
 * the one asynchronous step, an AlterPartition round trip, re-checks the epochs when its answer
 * comes and applies it only if nothing newer has arrived meanwhile. The ISR changes only when the
 * controller says so (its answer or a newer image); while a request is out, the high watermark
 * counts the ISR it would make (Kafka's maximal ISR), so an expansion never lowers what is
 * committed and a shrink never raises it early.
 */
import type { Clock, TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { AlterPartitionRequest, AlterPartitionResult } from '../../controller/api.ts';
import type { PartitionState } from '../../controller/image.ts';
import type { PartitionLog } from '../../storage/partition-log.ts';
import { afterFetch, type FollowerState, initialFollowerState, isrChange, nextHighWatermark } from './isr.ts';

export type Role = 'leader' | 'follower' | 'none';

export type HighWatermarkWait = 'ok' | 'timeout' | 'not-leader';

/** How applying a partition state changed this replica. */
export type Transition = 'became-leader' | 'became-follower' | 'lost-leadership' | 'updated' | 'unchanged';

export type AlterPartition = (
  req: Omit<AlterPartitionRequest, 'nodeId' | 'brokerEpoch'>,
) => Promise<AlterPartitionResult>;

export interface ReplicaPartitionOptions {
  nodeId: number;
  topicId: string;
  log: PartitionLog;
  clock: Clock;
  logger: Logger;
  lagTimeMaxMs: number;
  alterPartition: AlterPartition;
  /** Replicas the controller would not take into an ISR now (fenced, shutting down). */
  ineligible: () => ReadonlySet<number>;
  /** The high watermark moved (consumers' long polls wait on it). */
  onHighWatermark: () => void;
  /** The controller accepted an ISR change. */
  onIsrChanged?: (kind: 'shrink' | 'expand') => void;
}

/** After a refused AlterPartition, the next attempt waits for a newer state or this long. */
const REFUSAL_BACKOFF_MS = 5_000;

interface Waiter {
  offset: number;
  settle: (outcome: HighWatermarkWait) => void;
}

export class ReplicaPartition {
  readonly log: PartitionLog;
  readonly #o: ReplicaPartitionOptions;
  #state: PartitionState | null = null;
  #role: Role = 'none';
  readonly #followers = new Map<number, FollowerState>();
  #epochStartOffset = 0;
  readonly #waiters = new Set<Waiter>();
  /** The ISR requested from the controller and not yet answered. */
  #pendingIsr: number[] | null = null;
  #refusedAt: number | null = null;

  constructor(o: ReplicaPartitionOptions) {
    this.#o = o;
    this.log = o.log;
  }

  get topicId(): string {
    return this.#o.topicId;
  }
  get role(): Role {
    return this.#role;
  }
  get state(): PartitionState {
    if (!this.#state) throw new Error('partition state not applied yet');
    return this.#state;
  }
  get leaderEpoch(): number {
    return this.#state?.leaderEpoch ?? -1;
  }
  get highWatermark(): number {
    return this.log.highWatermark;
  }
  /** Where the current leader epoch's data starts in this log (the log end when it became leader). */
  get epochStartOffset(): number {
    return this.#epochStartOffset;
  }
  /** A leader's view of a follower, for metrics and tests. */
  follower(id: number): Readonly<FollowerState> | undefined {
    return this.#followers.get(id);
  }
  get alterPartitionInFlight(): boolean {
    return this.#pendingIsr !== null;
  }

  /**
   * Takes the controller's state for this partition (from an image or an AlterPartition answer):
   * a newer leader epoch changes the role, a newer partition epoch the ISR and replicas; anything
   * older than what is held is ignored.
   */
  applyState(state: PartitionState): Transition {
    const now = this.#o.clock.now();
    const held = this.#state;
    if (held && state.leaderEpoch < held.leaderEpoch) return 'unchanged';
    if (held && state.leaderEpoch === held.leaderEpoch && state.partitionEpoch <= held.partitionEpoch)
      return 'unchanged';
    this.#state = state;
    this.#pendingIsr = null;
    this.#refusedAt = null;
    const newEpoch = !held || state.leaderEpoch > held.leaderEpoch;
    const leads = state.leader === this.#o.nodeId;
    if (leads && (newEpoch || this.#role !== 'leader')) {
      this.#becomeLeader(state, now);
      return 'became-leader';
    }
    if (!leads) {
      const wasLeader = this.#role === 'leader';
      if (wasLeader) this.#stopLeading();
      this.#role = state.leader >= 0 ? 'follower' : 'none';
      if (this.#role === 'follower' && (newEpoch || wasLeader)) return 'became-follower';
      return wasLeader ? 'lost-leadership' : 'updated';
    }
    // Same leader epoch, newer partition epoch: the ISR or the replicas changed.
    for (const id of [...this.#followers.keys()])
      if (!state.replicas.includes(id)) this.#followers.delete(id);
    for (const id of state.replicas) {
      if (id !== this.#o.nodeId && !this.#followers.has(id))
        this.#followers.set(id, initialFollowerState(false, now));
    }
    this.#advanceHighWatermark();
    return 'updated';
  }

  /** This broker no longer hosts the partition (deleted, moved): waiting produces are answered. */
  close(): void {
    if (this.#role === 'leader') this.#stopLeading();
    this.#role = 'none';
  }

  /**
   * A follower fetched at `fetchOffset` (everything below it is in its log); `leaderLogEnd` is
   * this log's end as the fetch was served. May advance the high watermark and ask for an ISR
   * change.
   */
  recordFollowerFetch(replicaId: number, fetchOffset: number, leaderLogEnd: number): void {
    if (this.#role !== 'leader') return;
    const f = this.#followers.get(replicaId);
    if (!f) return;
    const now = this.#o.clock.now();
    this.#followers.set(replicaId, afterFetch(f, { fetchOffset, leaderLogEnd, now }));
    this.#advanceHighWatermark();
    this.maybeChangeIsr();
  }

  /** The leader appended: with an ISR of one, that alone moves the high watermark. */
  afterLeaderAppend(): void {
    if (this.#role === 'leader') this.#advanceHighWatermark();
  }

  /** A follower takes the leader's high watermark, never beyond its own log end. */
  followLeaderHighWatermark(leaderHighWatermark: number): void {
    if (this.#role !== 'follower') return;
    const before = this.log.highWatermark;
    if (this.log.updateHighWatermark(Math.min(leaderHighWatermark, this.log.logEndOffset)) !== before)
      this.#o.onHighWatermark();
  }

  /**
   * acks=all: resolves 'ok' once the high watermark reaches `offset` (every in-sync replica has
   * what lies below it), 'timeout' after `timeoutMs` or when `signal` aborts, 'not-leader' as soon
   * as this broker stops leading.
   */
  waitForHighWatermark(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<HighWatermarkWait> {
    if (this.#role !== 'leader') return Promise.resolve('not-leader');
    if (this.log.highWatermark >= offset) return Promise.resolve('ok');
    if (signal?.aborted) return Promise.resolve('timeout');
    const { clock } = this.#o;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        settle: (outcome) => {
          this.#waiters.delete(waiter);
          clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      };
      const onAbort = (): void => waiter.settle('timeout');
      const timer: TimerHandle = clock.setTimeout(() => waiter.settle('timeout'), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Asks the controller to shrink or expand the ISR when the followers call for it (one request at a time). */
  maybeChangeIsr(): void {
    const state = this.#state;
    if (this.#role !== 'leader' || !state || this.#pendingIsr) return;
    const now = this.#o.clock.now();
    if (this.#refusedAt !== null && now - this.#refusedAt < REFUSAL_BACKOFF_MS) return;
    const newIsr = isrChange({
      self: this.#o.nodeId,
      now,
      isr: state.isr,
      replicas: state.replicas,
      followers: this.#followers,
      leaderLogEnd: this.log.logEndOffset,
      highWatermark: this.log.highWatermark,
      epochStartOffset: this.#epochStartOffset,
      lagTimeMaxMs: this.#o.lagTimeMaxMs,
      ineligible: this.#o.ineligible(),
    });
    if (newIsr) this.#requestIsr(state, newIsr);
  }

  #requestIsr(state: PartitionState, newIsr: number[]): void {
    const kind = newIsr.length < state.isr.length ? 'shrink' : 'expand';
    this.#pendingIsr = newIsr;
    this.#o.logger.info({ isr: state.isr, newIsr, kind }, 'Requesting an ISR change from the controller');
    const sent = { leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch };
    this.#o.alterPartition({ topicId: this.#o.topicId, partition: this.log.partition, ...sent, newIsr }).then(
      (result) => this.#alterAnswered(sent, result, kind),
      (err: unknown) =>
        this.#alterAnswered(sent, { ok: false, errorCode: -1, errorMessage: String(err) }, kind),
    );
  }

  #alterAnswered(
    sent: { leaderEpoch: number; partitionEpoch: number },
    result: AlterPartitionResult,
    kind: 'shrink' | 'expand',
  ): void {
    const held = this.#state;
    // A newer image came first: it decides, and the request was cleared with it.
    if (!held || held.leaderEpoch !== sent.leaderEpoch || held.partitionEpoch !== sent.partitionEpoch) return;
    this.#pendingIsr = null;
    if (result.ok) {
      if (this.applyState(result.state) !== 'unchanged') {
        this.#o.onIsrChanged?.(kind);
        this.#o.logger.info({ isr: result.state.isr }, 'The controller changed the ISR');
      }
      return;
    }
    this.#refusedAt = this.#o.clock.now();
    this.#o.logger.warn(
      { errorCode: result.errorCode, errorMessage: result.errorMessage, kind },
      'The controller refused an ISR change; waiting for a newer image',
    );
  }

  #becomeLeader(state: PartitionState, now: number): void {
    this.#role = 'leader';
    this.#followers.clear();
    for (const id of state.replicas) {
      if (id !== this.#o.nodeId) this.#followers.set(id, initialFollowerState(state.isr.includes(id), now));
    }
    this.#epochStartOffset = this.log.logEndOffset;
    this.#advanceHighWatermark();
  }

  #stopLeading(): void {
    this.#followers.clear();
    for (const w of [...this.#waiters]) w.settle('not-leader');
  }

  /** HW = least log end over the (maximal) ISR; wakes the produces it satisfies. */
  #advanceHighWatermark(): void {
    const state = this.#state;
    if (this.#role !== 'leader' || !state) return;
    const isr = this.#pendingIsr ? [...new Set([...state.isr, ...this.#pendingIsr])] : state.isr;
    const hw = nextHighWatermark({
      self: this.#o.nodeId,
      isr,
      leaderLogEnd: this.log.logEndOffset,
      followers: this.#followers,
      current: this.log.highWatermark,
    });
    if (hw === null) return;
    const now = this.log.updateHighWatermark(hw);
    for (const w of [...this.#waiters]) if (now >= w.offset) w.settle('ok');
    this.#o.onHighWatermark();
  }
}
