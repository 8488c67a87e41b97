/**
 * Where the controller's state is kept: every decision is saved here before it is answered or
 * published. A save is a compare-and-swap, so that a deposed controller (one that a newer one took
 * over from) can never get a decision persisted: it is refused when the stored state has a newer
 * controller epoch, or under the same epoch is not the immediate predecessor of the write.
 *
 * LocalFileStore keeps `<dir>/metadata.json`, replaced atomically and fsynced (dev mode, a lone
 * broker). It also reads format 1, written by a lone broker before the cluster controller existed.
 * On Kubernetes the same interface is served by Cluster.status / Topic.status with resourceVersion
 * as the swap's guard.
 */
import { ControllerDeposedError } from '../common/errors.ts';
import type { Fs } from '../storage/fs.ts';
import { writeFileAtomic } from '../storage/fs.ts';
import { SerialQueue } from '../storage/serial-queue.ts';
import { fence } from './brokers.ts';
import type { TopicState } from './image.ts';
import type { ClusterState } from './state.ts';

export const METADATA_FILE = 'metadata.json';

export interface MetadataStore {
  /** The stored state, or null when there is none yet (a new cluster). */
  load(): Promise<ClusterState | null>;
  /** Stores `next` if what is stored is its predecessor; throws StaleControllerError if not. */
  save(next: ClusterState): Promise<void>;
}

/**
 * The store holds a newer controller's state: the writer has been deposed (TRIB_CONTROLLER_DEPOSED in
 * the error catalogue).
 */
export const StaleControllerError = ControllerDeposedError;
export type StaleControllerError = ControllerDeposedError;

/** Throws StaleControllerError unless `next` may replace `stored`. */
export function checkSwap(
  stored: Pick<ClusterState, 'controllerEpoch' | 'version'> | null,
  next: ClusterState,
): void {
  if (!stored) return;
  if (stored.controllerEpoch > next.controllerEpoch) {
    throw new StaleControllerError({
      reason: `the metadata was written by controller epoch ${stored.controllerEpoch}, newer than this controller's ${next.controllerEpoch}`,
    });
  }
  if (stored.controllerEpoch === next.controllerEpoch && stored.version !== next.version - 1) {
    throw new StaleControllerError({
      reason: `the metadata is at version ${stored.version} of controller epoch ${stored.controllerEpoch}, not ${next.version - 1}: another controller wrote it`,
    });
  }
}

export class LocalFileStore implements MetadataStore {
  readonly #fs: Fs;
  readonly #dir: string;
  readonly #path: string;
  /** Load-compare-write as one step, for every controller of this process. */
  readonly #queue = new SerialQueue();

  constructor(o: { dir: string; fs: Fs }) {
    this.#fs = o.fs;
    this.#dir = o.dir;
    this.#path = `${o.dir}/${METADATA_FILE}`;
  }

  load(): Promise<ClusterState | null> {
    return this.#queue.run(() => this.#read());
  }

  save(next: ClusterState): Promise<void> {
    return this.#queue.run(async () => {
      checkSwap(await this.#read(), next);
      await this.#fs.mkdir(this.#dir);
      await writeFileAtomic(this.#fs, this.#path, JSON.stringify(next));
    });
  }

  async #read(): Promise<ClusterState | null> {
    if (!(await this.#fs.stat(this.#path))) return null;
    return parseState((await this.#fs.readFile(this.#path)).toString('utf8'), this.#path);
  }
}

/** What a lone broker wrote before the cluster controller: one node, no partition epochs. */
interface FormatOne {
  format: 1;
  version: number;
  clusterId: string;
  nodeId: number;
  nextProducerId: string;
  topics: Array<
    Omit<TopicState, 'partitions'> & {
      partitions: Array<Omit<TopicState['partitions'][number], 'partitionEpoch'>>;
    }
  >;
}

export function parseState(text: string, path: string): ClusterState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${path} is not valid JSON; restore it from a backup or move it away to start a new cluster`,
      {
        cause: err,
      },
    );
  }
  const s = v as { format?: unknown; topics?: unknown };
  if (typeof s === 'object' && s !== null && Array.isArray(s.topics)) {
    if (s.format === 2) return s as ClusterState;
    if (s.format === 1) return fromFormatOne(s as FormatOne);
  }
  throw new Error(`${path} is not a Tributary metadata file of format 1 or 2`);
}

/**
 * Format 1 → 2: the partition epoch starts at the leader epoch (both only ever grew together), and
 * the lone node becomes a registration, fenced (so its partitions wait, leaderless) until it
 * registers and heartbeats as any broker does.
 */
export function fromFormatOne(s: FormatOne): ClusterState {
  const converted: ClusterState = {
    format: 2,
    version: s.version,
    controllerEpoch: 0,
    clusterId: s.clusterId,
    nextProducerId: s.nextProducerId,
    nextBrokerEpoch: 2,
    brokers: [
      {
        nodeId: s.nodeId,
        host: '',
        port: 0,
        rack: null,
        incarnationId: '',
        brokerEpoch: 1,
        fenced: false,
        shuttingDown: false,
      },
    ],
    topics: s.topics.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => ({ ...p, partitionEpoch: p.leaderEpoch })),
    })),
  };
  // Fencing moves the version on by one; the stored version stays the one format 1 had.
  return { ...fence(converted, [s.nodeId], 'converted from format 1').state, version: s.version };
}

/** A store in memory, with the same compare-and-swap: for tests, and for a controller that keeps nothing. */
export class MemoryStore implements MetadataStore {
  #state: ClusterState | null;
  /** Saves that succeeded. */
  writes = 0;

  constructor(initial: ClusterState | null = null) {
    this.#state = initial;
  }

  load(): Promise<ClusterState | null> {
    return Promise.resolve(this.#state);
  }

  save(next: ClusterState): Promise<void> {
    try {
      checkSwap(this.#state, next);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    this.#state = structuredClone(next);
    this.writes++;
    return Promise.resolve();
  }
}
