/**
 * The metadata controller of a broker that runs alone: it decides topic creation, deletion,
 * partition growth and config changes, persists the result in `<dataDir>/metadata.json` (replaced
 * atomically, fsynced) before answering, and publishes the new image. When the cluster controller
 * lands (operator / dev mode), it takes this role and brokers receive images instead.
 *
 * Requests are judged as Kafka judges them and refused with Kafka's error codes; every change runs
 * on one serial queue, so two CreateTopics for one name cannot both succeed.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { Fs } from '../../storage/fs.ts';
import { writeFileAtomic } from '../../storage/fs.ts';
import { SerialQueue } from '../../storage/serial-queue.ts';
import type {
  AdminError,
  AdminResult,
  ConfigOp,
  CreateTopicRequest,
  TopicAdmin,
} from '../../controller/api.ts';
import { checkTopicConfig, TOPIC_CONFIG_BY_NAME } from '../topic-config.ts';
import {
  type BrokerEndpoint,
  indexTopics,
  type MetadataImage,
  type PartitionState,
  topicNameError,
  type TopicState,
} from '../../controller/image.ts';

export const METADATA_FILE = 'metadata.json';
const FORMAT = 1;

export type {
  AdminError,
  AdminResult,
  ConfigOp,
  CreateTopicRequest,
  TopicAdmin,
} from '../../controller/api.ts';

interface PersistedState {
  format: number;
  version: number;
  clusterId: string;
  nodeId: number;
  nextProducerId: string;
  topics: TopicState[];
}

export interface LocalControllerOptions {
  dataDir: string;
  fs: Fs;
  self: BrokerEndpoint;
  defaults: { numPartitions: number; replicationFactor: number; deleteTopicEnable: boolean };
  /** Told every new image, in order; the change is answered only after every listener returns. */
  onImage: (image: MetadataImage) => Promise<void>;
}

/** A random id in Kafka's Uuid form: 16 bytes, base64url, never starting with '-'. */
export function randomUuid(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-') && id !== 'AAAAAAAAAAAAAAAAAAAAAA') return id;
  }
}

/**
 * Kafka's controller refuses to create more partitions than this in one request, and so do we: it
 * bounds the work (and memory) one request can cause.
 */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;

export function tooManyPartitions(): { ok: false } & AdminError {
  return fail(ErrorCode.POLICY_VIOLATION, 'Excessively large number of partitions per request.');
}

function fail(errorCode: number, errorMessage: string): { ok: false } & AdminError {
  return { ok: false, errorCode, errorMessage };
}

/** Topics whose names differ only in '.' versus '_' collide in metric names, so Kafka refuses them. */
function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

export class LocalController implements TopicAdmin {
  readonly #o: LocalControllerOptions;
  readonly #queue = new SerialQueue();
  #state: PersistedState;
  #image: MetadataImage;

  private constructor(o: LocalControllerOptions, state: PersistedState) {
    this.#o = o;
    this.#state = state;
    this.#image = this.#toImage();
  }

  /**
   * Reads the persisted metadata, or starts a new cluster when there is none. Refuses a data
   * directory that belongs to another node id, as Kafka does, rather than serve someone else's logs.
   */
  static async open(o: LocalControllerOptions): Promise<LocalController> {
    const path = `${o.dataDir}/${METADATA_FILE}`;
    await o.fs.mkdir(o.dataDir);
    let state: PersistedState;
    if (await o.fs.stat(path)) {
      const text = (await o.fs.readFile(path)).toString('utf8');
      state = parseState(text, path);
      if (state.nodeId !== o.self.nodeId) {
        throw new Error(
          `${o.dataDir} belongs to node ${state.nodeId}, but this broker is node.id=${o.self.nodeId}; ` +
            'start it with the node id the data was written under, or point log.dirs at another directory',
        );
      }
    } else {
      state = {
        format: FORMAT,
        version: 1,
        clusterId: randomUuid(),
        nodeId: o.self.nodeId,
        nextProducerId: '0',
        topics: [],
      };
      await writeFileAtomic(o.fs, path, JSON.stringify(state, null, 1));
    }
    return new LocalController(o, state);
  }

  image(): MetadataImage {
    return this.#image;
  }

  /** Publishes the current image (at start-up, once every listener is attached). */
  publish(): Promise<void> {
    return this.#o.onImage(this.#image);
  }

  /** Replaces our own endpoint (the listener's port is known only once it is bound). */
  setSelf(self: BrokerEndpoint): void {
    this.#o.self = self;
    this.#image = this.#toImage();
  }

  createTopic(req: CreateTopicRequest, validateOnly: boolean): Promise<AdminResult<{ topic: TopicState }>> {
    return this.#queue.run(async () => {
      const nameError = topicNameError(req.name);
      if (nameError) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
      if (this.#image.topics.has(req.name)) {
        return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${req.name}' already exists.`);
      }
      const clash = this.#state.topics.find((t) => collisionKey(t.name) === collisionKey(req.name));
      if (clash) {
        return fail(
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `Topic '${req.name}' collides with existing topic '${clash.name}' ('.' and '_' are the same in metric names)`,
        );
      }
      const configs: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.configs)) {
        const why = checkTopicConfig(k, v);
        if (why) return fail(ErrorCode.INVALID_CONFIG, why);
        configs[k] = v!.trim();
      }
      const placed = this.#placeNew(req);
      if (!placed.ok) return placed;
      const topic: TopicState = {
        name: req.name,
        topicId: randomUuid(),
        internal: req.internal ?? false,
        partitions: placed.partitions,
        configs,
      };
      if (!validateOnly) await this.#commit({ ...this.#state, topics: [...this.#state.topics, topic] });
      return { ok: true, topic };
    });
  }

  deleteTopic(ref: { name: string } | { topicId: string }): Promise<AdminResult<{ topic: TopicState }>> {
    return this.#queue.run(async () => {
      const topic =
        'name' in ref ? this.#image.topics.get(ref.name) : this.#image.topicsById.get(ref.topicId);
      if (!topic) {
        return 'name' in ref
          ? fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${ref.name}' does not exist.`)
          : fail(ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${ref.topicId} does not exist.`);
      }
      if (!this.#o.defaults.deleteTopicEnable) {
        return fail(
          ErrorCode.TOPIC_DELETION_DISABLED,
          'Topic deletion is disabled (delete.topic.enable=false).',
        );
      }
      if (topic.internal) {
        return fail(
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `Topic '${topic.name}' is internal and cannot be deleted.`,
        );
      }
      await this.#commit({ ...this.#state, topics: this.#state.topics.filter((t) => t.name !== topic.name) });
      return { ok: true, topic };
    });
  }

  createPartitions(
    name: string,
    count: number,
    assignments: number[][] | null,
    validateOnly: boolean,
  ): Promise<AdminResult<{ topic: TopicState }>> {
    return this.#queue.run(async () => {
      const topic = this.#image.topics.get(name);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
      const current = topic.partitions.length;
      if (count < current) {
        return fail(
          ErrorCode.INVALID_PARTITIONS,
          `Topic currently has ${current} partitions, which is higher than the requested ${count}.`,
        );
      }
      if (count === current) {
        return fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`);
      }
      const rf = topic.partitions[0]?.replicas.length ?? 1;
      const added = count - current;
      if (added > MAX_PARTITIONS_PER_REQUEST) return tooManyPartitions();
      if (assignments !== null && assignments.length !== added) {
        return fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Increasing the number of partitions by ${added} but ${assignments.length} assignments provided.`,
        );
      }
      const lists = assignments ?? this.#roundRobin(added, rf, current);
      if (!Array.isArray(lists)) return lists;
      const partitions: PartitionState[] = [];
      for (let i = 0; i < added; i++) {
        const why = this.#checkReplicas(lists[i], rf);
        if (why) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, why);
        partitions.push(newPartition(current + i, lists[i]));
      }
      const grown: TopicState = { ...topic, partitions: [...topic.partitions, ...partitions] };
      if (!validateOnly) await this.#commit(this.#withTopic(grown));
      return { ok: true, topic: grown };
    });
  }

  alterTopicConfigs(
    name: string,
    change: { replace: Record<string, string | null> } | { ops: ConfigOp[] },
    validateOnly: boolean,
  ): Promise<AdminResult<{ topic: TopicState }>> {
    return this.#queue.run(async () => {
      const topic = this.#image.topics.get(name);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
      const ops: ConfigOp[] =
        'replace' in change
          ? Object.entries(change.replace).map(([k, value]) => ({ op: 'set', name: k, value }))
          : change.ops;
      // AlterConfigs replaces every override; IncrementalAlterConfigs changes the ones it names.
      const next: Record<string, string> = 'replace' in change ? {} : { ...topic.configs };
      for (const op of ops) {
        if (op.op === 'delete') {
          // As in Kafka, deleting an override that is not there (whatever its name) changes nothing.
          delete next[op.name];
          continue;
        }
        const value = op.op === 'set' ? op.value : listOp(op, next[op.name]);
        if (typeof value === 'object' && value !== null) return value;
        const why = checkTopicConfig(op.name, value);
        if (why) return fail(ErrorCode.INVALID_CONFIG, why);
        next[op.name] = value!.trim();
      }
      const altered: TopicState = { ...topic, configs: next };
      if (!validateOnly) await this.#commit(this.#withTopic(altered));
      return { ok: true, topic: altered };
    });
  }

  allocateProducerIds(count: number): Promise<bigint> {
    return this.#queue.run(async () => {
      const first = BigInt(this.#state.nextProducerId);
      await this.#commit({ ...this.#state, nextProducerId: String(first + BigInt(count)) }, false);
      return first;
    });
  }

  #placeNew(
    req: CreateTopicRequest,
  ): { ok: true; partitions: PartitionState[] } | ({ ok: false } & AdminError) {
    if (req.assignments.length > 0) {
      if (req.numPartitions !== -1 || req.replicationFactor !== -1) {
        return fail(
          ErrorCode.INVALID_REQUEST,
          'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
        );
      }
      if (req.assignments.length > MAX_PARTITIONS_PER_REQUEST) return tooManyPartitions();
      const sorted = [...req.assignments].sort((a, b) => a.partition - b.partition);
      const rf = sorted[0].brokerIds.length;
      const partitions: PartitionState[] = [];
      for (let i = 0; i < sorted.length; i++) {
        if (sorted[i].partition !== i) {
          return fail(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            'Partitions should be a consecutive 0-based integer sequence',
          );
        }
        const why = this.#checkReplicas(sorted[i].brokerIds, rf);
        if (why) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, why);
        partitions.push(newPartition(i, sorted[i].brokerIds));
      }
      return { ok: true, partitions };
    }
    const count = req.numPartitions === -1 ? this.#o.defaults.numPartitions : req.numPartitions;
    if (count < 1) return fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
    if (count > MAX_PARTITIONS_PER_REQUEST) return tooManyPartitions();
    const rf = req.replicationFactor === -1 ? this.#o.defaults.replicationFactor : req.replicationFactor;
    if (rf < 1)
      return fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
    const lists = this.#roundRobin(count, rf, 0);
    if (!Array.isArray(lists)) return lists;
    return { ok: true, partitions: lists.map((r, i) => newPartition(i, r)) };
  }

  /** Replica lists for `count` new partitions, spread over the brokers starting after the last. */
  #roundRobin(count: number, rf: number, first: number): number[][] | ({ ok: false } & AdminError) {
    const brokers = this.#image.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
    if (rf > brokers.length) {
      return fail(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${brokers.length} broker(s) are registered.`,
      );
    }
    return Array.from({ length: count }, (_, i) =>
      Array.from({ length: rf }, (_, r) => brokers[(first + i + r) % brokers.length]),
    );
  }

  #checkReplicas(ids: number[] | undefined, rf: number): string | null {
    if (!ids || ids.length === 0) return 'Replica assignment is empty.';
    if (ids.length !== rf) return 'All partitions should have the same number of replicas.';
    if (new Set(ids).size !== ids.length)
      return `Duplicate brokers not allowed in replica assignment: ${ids.join(', ')}.`;
    const known = new Set(this.#image.brokers.map((b) => b.nodeId));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length > 0) return `Unknown broker(s) in replica assignment: ${unknown.join(', ')}.`;
    return null;
  }

  #withTopic(topic: TopicState): PersistedState {
    return { ...this.#state, topics: this.#state.topics.map((t) => (t.name === topic.name ? topic : t)) };
  }

  /** Persists `next`, then publishes it; `changesImage` false for state clients never see. */
  async #commit(next: PersistedState, changesImage = true): Promise<void> {
    const state = { ...next, version: next.version + 1 };
    await writeFileAtomic(this.#o.fs, `${this.#o.dataDir}/${METADATA_FILE}`, JSON.stringify(state, null, 1));
    this.#state = state;
    this.#image = this.#toImage();
    if (changesImage) await this.#o.onImage(this.#image);
  }

  #toImage(): MetadataImage {
    return {
      version: this.#state.version,
      clusterId: this.#state.clusterId,
      controllerEpoch: 1,
      controllerId: this.#o.self.nodeId,
      brokers: [this.#o.self],
      registrations: [
        { ...this.#o.self, incarnationId: '', brokerEpoch: 1, fenced: false, shuttingDown: false },
      ],
      ...indexTopics(this.#state.topics),
    };
  }
}

/** APPEND or SUBTRACT on a list config; only list configs take them. */
function listOp(
  op: { op: 'append' | 'subtract'; name: string; value: string | null },
  current: string | undefined,
): string | ({ ok: false } & AdminError) {
  const def = TOPIC_CONFIG_BY_NAME.get(op.name)?.def;
  if (def?.type !== 'list') {
    return fail(
      ErrorCode.INVALID_CONFIG,
      `Can't ${op.op.toUpperCase()} to key ${op.name} because its type is not LIST.`,
    );
  }
  // An absent override starts from the config's own default, not the broker's (as Kafka does).
  const items = (current ?? def.default ?? '').split(',').filter((s) => s !== '');
  for (const v of (op.value ?? '').split(',').map((s) => s.trim())) {
    if (op.op === 'append' && !items.includes(v)) items.push(v);
    if (op.op === 'subtract' && items.includes(v)) items.splice(items.indexOf(v), 1);
  }
  return items.join(',');
}

function newPartition(partition: number, replicas: number[]): PartitionState {
  return {
    partition,
    leader: replicas[0],
    leaderEpoch: 0,
    partitionEpoch: 0,
    replicas: [...replicas],
    isr: [...replicas],
  };
}

function parseState(text: string, path: string): PersistedState {
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
  const s = v as PersistedState;
  if (typeof s !== 'object' || s === null || s.format !== FORMAT || !Array.isArray(s.topics)) {
    throw new Error(`${path} is not a Tributary metadata file of format ${FORMAT}`);
  }
  return s;
}
