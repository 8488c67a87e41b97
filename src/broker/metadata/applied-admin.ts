/**
 * Topic administration as the broker's handlers need it: answered only once this broker has applied
 * an image that shows the change (for ElectLeaders, the new leader epochs; for
 * AlterPartitionReassignments, the new partition epochs). The controller answers once the change is persisted and published,
 * but its image reaches each broker on its own stream; a handler that created a topic and then reads
 * the image (Metadata's auto-creation, CreateTopics' answer with the configs) must see the topic.
 *
 * A partition count or replication factor of -1 ("the default") is the broker's num.partitions and
 * default.replication.factor, resolved here as a Kafka broker resolves it, so every broker of a
 * cluster configured alike creates alike whichever controller answers.
 */
import type { Clock } from '../../common/clock.ts';
import type {
  AdminResult,
  CreateTopicRequest,
  TopicAdmin,
  TopicElectionResult,
  TopicReassignmentResult,
} from '../../controller/api.ts';
import type { MetadataImage, TopicState } from '../../controller/image.ts';

export interface AppliedAdminOptions {
  admin: TopicAdmin;
  clock: Clock;
  /** The image this broker serves. */
  image: () => MetadataImage;
  /** Subscribes to applied images; returns the unsubscribe function. */
  onApplied: (listener: () => void) => () => void;
  /** How long to wait for the image before answering anyway (the change is persisted either way). */
  timeoutMs?: number;
  defaults: { numPartitions: number; replicationFactor: number };
}

type TopicResult = AdminResult<{ topic: TopicState }>;

export function appliedAdmin(o: AppliedAdminOptions): TopicAdmin {
  const timeoutMs = o.timeoutMs ?? 5000;
  const until = (seen: (image: MetadataImage) => boolean): Promise<void> => {
    if (seen(o.image())) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        unsubscribe();
        o.clock.clearTimeout(timer);
        resolve();
      };
      const unsubscribe = o.onApplied(() => {
        if (seen(o.image())) done();
      });
      const timer = o.clock.setTimeout(done, timeoutMs);
    });
  };
  const applied = async (
    result: Promise<TopicResult>,
    validateOnly: boolean,
    seen: (t: TopicState, image: MetadataImage) => boolean,
  ): Promise<TopicResult> => {
    const r = await result;
    if (r.ok && !validateOnly) await until((image) => seen(r.topic, image));
    return r;
  };
  const current = (t: TopicState, image: MetadataImage): TopicState | undefined => {
    const found = image.topicsById.get(t.topicId);
    return found?.name === t.name ? found : undefined;
  };
  return {
    createTopic: (req, validateOnly) =>
      applied(
        o.admin.createTopic(withDefaults(req, o.defaults), validateOnly),
        validateOnly,
        (t, image) => current(t, image) !== undefined,
      ),
    deleteTopic: (ref) =>
      applied(o.admin.deleteTopic(ref), false, (t, image) => !image.topicsById.has(t.topicId)),
    createPartitions: (name, count, assignments, validateOnly) =>
      applied(
        o.admin.createPartitions(name, count, assignments, validateOnly),
        validateOnly,
        (t, image) => (current(t, image)?.partitions.length ?? 0) >= t.partitions.length,
      ),
    alterTopicConfigs: (name, change, validateOnly) =>
      applied(o.admin.alterTopicConfigs(name, change, validateOnly), validateOnly, (t, image) => {
        const found = current(t, image);
        return found !== undefined && sameConfigs(found.configs, t.configs);
      }),
    electLeaders: async (type, targets) => {
      const r = await o.admin.electLeaders(type, targets);
      if (r.ok) await until((image) => r.results.every((t) => electionsApplied(t, image)));
      return r;
    },
    alterPartitionReassignments: async (targets) => {
      const r = await o.admin.alterPartitionReassignments(targets);
      if (r.ok) await until((image) => r.results.every((t) => reassignmentsApplied(t, image)));
      return r;
    },
    listPartitionReassignments: (targets) => o.admin.listPartitionReassignments(targets),
    allocateProducerIds: (count) => o.admin.allocateProducerIds(count),
  };
}

/** Every partition the election gave a leader shows that leader epoch (or later), or is gone. */
function electionsApplied(t: TopicElectionResult, image: MetadataImage): boolean {
  const topic = image.topics.get(t.topic);
  if (!topic) return true;
  return t.partitions.every(
    (p) =>
      p.leaderEpoch === undefined ||
      (topic.partitions[p.partition]?.leaderEpoch ?? Infinity) >= p.leaderEpoch,
  );
}

/** Every partition the request changed shows that partition epoch (or later), or is gone. */
function reassignmentsApplied(t: TopicReassignmentResult, image: MetadataImage): boolean {
  const topic = image.topics.get(t.topic);
  if (!topic) return true;
  return t.partitions.every(
    (p) =>
      p.partitionEpoch === undefined ||
      (topic.partitions[p.partition]?.partitionEpoch ?? Infinity) >= p.partitionEpoch,
  );
}

function withDefaults(req: CreateTopicRequest, d: AppliedAdminOptions['defaults']): CreateTopicRequest {
  if (req.assignments.length > 0) return req;
  return {
    ...req,
    numPartitions: req.numPartitions === -1 ? d.numPartitions : req.numPartitions,
    replicationFactor: req.replicationFactor === -1 ? d.replicationFactor : req.replicationFactor,
  };
}

function sameConfigs(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
