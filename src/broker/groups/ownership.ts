/**
 * The offsets partitions this broker leads, and the groups loaded from them: which partitions are
 * owned (following the metadata image — a partition newly led here is loaded by reading it from the
 * start, one no longer led is unloaded and its waiting requests answered NOT_COORDINATOR), where a
 * group's requests are served, and the loaded groups by id. The coordinator (./coordinator.ts)
 * answers the requests; this decides whether they can be answered here.
 */
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { MetadataImage } from '../../controller/image.ts';
import { ClassicGroup, type GroupEnv } from './group.ts';
import { offsetsPartitionFor } from './hash.ts';
import { loadGroups } from './loader.ts';
import type { GroupMetrics } from './metrics.ts';
import type { OffsetsLog } from './offsets-store.ts';
import { OFFSETS_TOPIC } from './records.ts';

/** How long after a failed load of an offsets partition the next request tries again. */
const LOAD_RETRY_MS = 5000;

/** Which group APIs accept the empty group id (Kafka allows it where old clients used it). */
export type GroupApi = 'join' | 'sync' | 'heartbeat' | 'leave' | 'commit' | 'fetch' | 'describe' | 'delete';
const EMPTY_ID_ALLOWED: ReadonlySet<GroupApi> = new Set(['commit', 'fetch', 'describe', 'delete']);

export interface OwnedPartition {
  partition: number;
  leaderEpoch: number;
  status: 'loading' | 'active' | 'failed';
  failedAt: number;
  log: OffsetsLog;
  groups: Set<string>;
  loading: Promise<void>;
}

export type Route = { ok: true; owned: OwnedPartition } | { ok: false; errorCode: number };

export interface OffsetsPartitionsOptions {
  nodeId: number;
  clock: Clock;
  log: Logger;
  metadata: () => MetadataImage;
  /** The log of one offsets partition. */
  offsetsLog: (partition: number) => OffsetsLog;
  /** What every group built here (loaded or new) is given. */
  env: GroupEnv;
  metrics?: GroupMetrics;
}

export class OffsetsPartitions {
  readonly #o: OffsetsPartitionsOptions;
  readonly #log: Logger;
  readonly #groups = new Map<string, ClassicGroup>();
  readonly #owned = new Map<number, OwnedPartition>();
  #imageVersion = -1;
  #closed = false;

  constructor(options: OffsetsPartitionsOptions) {
    this.#o = options;
    this.#log = options.log;
  }

  /** A loaded group. */
  get(groupId: string): ClassicGroup | undefined {
    return this.#groups.get(groupId);
  }

  /** Every loaded group. */
  groups(): IterableIterator<ClassicGroup> {
    return this.#groups.values();
  }

  /** The partitions owned now, with their loaded groups, for those that are active. */
  *active(): IterableIterator<{ owned: OwnedPartition; groups: ClassicGroup[] }> {
    for (const owned of this.#owned.values()) {
      if (owned.status !== 'active') continue;
      const groups = [...owned.groups].flatMap((id) => this.#groups.get(id) ?? []);
      yield { owned, groups };
    }
  }

  /** True while some owned partition is still being read. */
  get loading(): boolean {
    return [...this.#owned.values()].some((o) => o.status === 'loading');
  }

  /** Resolves once every partition being loaded has been loaded (or failed to). */
  async loaded(): Promise<void> {
    await Promise.all([...this.#owned.values()].map((o) => o.loading));
  }

  partitionCounts(): Record<'loading' | 'active' | 'failed', number> {
    const counts = { loading: 0, active: 0, failed: 0 };
    for (const o of this.#owned.values()) counts[o.status]++;
    return counts;
  }

  /** Unloads everything and follows the image no more. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const owned of [...this.#owned.values()]) this.#unload(owned);
  }

  /** Loads the partitions newly led here, unloads those no longer led. Cheap when nothing changed. */
  follow(): void {
    const image = this.#o.metadata();
    if (image.version === this.#imageVersion || this.#closed) return;
    this.#imageVersion = image.version;
    const topic = image.topics.get(OFFSETS_TOPIC);
    const led = new Map<number, number>();
    for (const p of topic?.partitions ?? [])
      if (p.leader === this.#o.nodeId) led.set(p.partition, p.leaderEpoch);
    for (const owned of [...this.#owned.values()]) {
      if (led.get(owned.partition) !== owned.leaderEpoch) this.#unload(owned);
    }
    for (const [partition, leaderEpoch] of led) {
      if (!this.#owned.has(partition)) this.#load(partition, leaderEpoch);
    }
  }

  #load(partition: number, leaderEpoch: number): void {
    const owned: OwnedPartition = {
      partition,
      leaderEpoch,
      status: 'loading',
      failedAt: 0,
      log: this.#o.offsetsLog(partition),
      groups: new Set(),
      loading: Promise.resolve(),
    };
    this.#owned.set(partition, owned);
    owned.loading = this.#read(owned).catch((err: unknown) => {
      if (this.#owned.get(partition) !== owned) return;
      owned.status = 'failed';
      owned.failedAt = this.#o.clock.now();
      this.#log.error({ err, partition }, 'Failed to load an offsets partition; its groups are unavailable');
    });
  }

  async #read(owned: OwnedPartition): Promise<void> {
    const started = performance.now();
    const log = this.#log.child({ partition: owned.partition });
    const { groups, skipped } = await loadGroups(owned.log, this.#o.env, log);
    if (this.#owned.get(owned.partition) !== owned || this.#closed) return;
    for (const g of groups) {
      this.#groups.set(g.groupId, g);
      owned.groups.add(g.groupId);
    }
    owned.status = 'active';
    for (const g of groups) g.onLoaded();
    const seconds = (performance.now() - started) / 1000;
    this.#o.metrics?.loadSeconds.observe(seconds);
    log.info({ groups: groups.length, skipped, seconds }, 'Loaded offsets partition');
  }

  #unload(owned: OwnedPartition): void {
    this.#owned.delete(owned.partition);
    for (const id of owned.groups) {
      this.#groups.get(id)?.unload();
      this.#groups.delete(id);
    }
    if (owned.groups.size > 0) {
      this.#log.info({ partition: owned.partition, groups: owned.groups.size }, 'Unloaded offsets partition');
    }
  }

  /** Where `groupId` is served, or the error telling the client why not here. */
  route(groupId: string, api: GroupApi): Route {
    if (groupId === '' && !EMPTY_ID_ALLOWED.has(api))
      return { ok: false, errorCode: ErrorCode.INVALID_GROUP_ID };
    if (this.#closed) return { ok: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    this.follow();
    const count = this.#o.metadata().topics.get(OFFSETS_TOPIC)?.partitions.length ?? 0;
    if (count === 0) return { ok: false, errorCode: ErrorCode.NOT_COORDINATOR };
    const owned = this.#owned.get(offsetsPartitionFor(groupId, count));
    if (!owned) return { ok: false, errorCode: ErrorCode.NOT_COORDINATOR };
    if (owned.status === 'loading') return { ok: false, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    if (owned.status === 'failed') {
      if (this.#o.clock.now() - owned.failedAt >= LOAD_RETRY_MS) {
        this.#unload(owned);
        this.#load(owned.partition, owned.leaderEpoch);
        return { ok: false, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
      }
      return { ok: false, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
    return { ok: true, owned };
  }

  create(groupId: string, owned: OwnedPartition): ClassicGroup {
    const group = new ClassicGroup(groupId, this.#o.env);
    this.#groups.set(groupId, group);
    owned.groups.add(groupId);
    return group;
  }

  remove(group: ClassicGroup): void {
    group.markDead();
    this.#groups.delete(group.groupId);
    for (const o of this.#owned.values()) o.groups.delete(group.groupId);
  }

  ownerOf(groupId: string): OwnedPartition | undefined {
    const count = this.#o.metadata().topics.get(OFFSETS_TOPIC)?.partitions.length ?? 0;
    const owned = count === 0 ? undefined : this.#owned.get(offsetsPartitionFor(groupId, count));
    return owned?.groups.has(groupId) ? owned : undefined;
  }
}
