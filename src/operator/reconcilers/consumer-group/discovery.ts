/**
 * Discovery: the consumer groups that exist in a cluster appear as ConsumerGroup resources (when
 * the Cluster's `spec.discovery.consumerGroups` is on), labelled `tributary.dev/discovered` and
 * owned by the Cluster; a discovered resource whose group is gone from Kafka goes too.
 *
 * "Exists" is what ListGroups lists: a group with members, or one that only holds offsets (Empty).
 * Groups of other protocols than the consumer's (Kafka Connect's workers, say) are left out: their
 * "lag" means nothing. A resource is only removed on a complete listing (every live broker
 * answered, none still loading its offsets partitions): a group missing from a partial one may
 * well exist.
 *
 * Names: the group id itself when it is a valid object name and no ConsumerGroup of the namespace
 * has it; otherwise a sanitized id with 8 hex characters of a hash of cluster and id, with
 * `spec.groupId` saying which group it is.
 */
import { createHash } from 'node:crypto';
import type { ConsumerGroup } from '../../api/consumer-group.ts';
import type { ListedGroup } from '../../kafka/types.ts';

export const LABEL_DISCOVERED = 'tributary.dev/discovered';
/**
 * Deleting a ConsumerGroup that carries this annotation leaves the group's offsets in Kafka (the
 * value says why). Discovery sets it before deleting a resource whose group is gone; anyone may
 * set it to drop a resource and keep the offsets.
 */
export const ANNOTATION_KEEP_OFFSETS = 'tributary.dev/keep-offsets';

const MAX_NAME = 253;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The group id in Kafka a ConsumerGroup names. */
export function groupIdOf(cg: Pick<ConsumerGroup, 'metadata' | 'spec'>): string {
  return cg.spec.groupId ?? cg.metadata.name;
}

export function isDiscovered(cg: Pick<ConsumerGroup, 'metadata'>): boolean {
  return cg.metadata.labels?.[LABEL_DISCOVERED] === 'true';
}

/** Groups whose offsets and lag the operator shows. */
export function isConsumerGroup(g: ListedGroup): boolean {
  return g.protocolType === 'consumer' || g.protocolType === '';
}

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME && DNS_SUBDOMAIN.test(name);
}

/**
 * The resource name for `groupId` of Cluster `cluster`, given the names taken in the namespace;
 * undefined if even the hashed name is taken (by a resource someone made by hand).
 */
export function discoveredName(
  groupId: string,
  cluster: string,
  taken: ReadonlySet<string>,
): string | undefined {
  if (isValidName(groupId) && !taken.has(groupId)) return groupId;
  const hash = createHash('sha256').update(`${cluster}/${groupId}`).digest('hex').slice(0, 8);
  // Each dot-separated label starts and ends with a letter or digit; '-' joins the hash on.
  const base =
    groupId
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, '-')
      .split('.')
      .map((label) => label.replace(/^-+|-+$/g, ''))
      .filter((label) => label.length > 0)
      .join('.')
      .slice(0, MAX_NAME - 9)
      .replace(/[^a-z0-9]+$/, '') || 'group';
  const name = `${base}-${hash}`;
  return taken.has(name) ? undefined : name;
}

export interface DiscoveryInput {
  readonly cluster: string;
  /** `spec.discovery.consumerGroups` of the Cluster. */
  readonly enabled: boolean;
  readonly listed: readonly ListedGroup[];
  /** Every listed group is in `listed` (every broker answered and was loaded). */
  readonly complete: boolean;
  /** Every ConsumerGroup of the Cluster's namespace (of any Cluster: their names are taken). */
  readonly resources: readonly ConsumerGroup[];
}

export interface DiscoveryPlan {
  readonly create: ReadonlyArray<{ readonly name: string; readonly groupId: string }>;
  /** Discovered resources to delete (group gone, or discovery turned off), without deleting offsets. */
  readonly remove: readonly ConsumerGroup[];
}

export function discoveryPlan(i: DiscoveryInput): DiscoveryPlan {
  const mine = i.resources.filter((r) => r.spec.clusterRef.name === i.cluster);
  const declared = new Set(mine.map(groupIdOf));
  const listed = new Set(i.listed.filter(isConsumerGroup).map((g) => g.groupId));
  const remove = mine.filter(
    (r) =>
      isDiscovered(r) &&
      !(r.metadata as { deletionTimestamp?: string }).deletionTimestamp &&
      (!i.enabled || (i.complete && !listed.has(groupIdOf(r)))),
  );
  if (!i.enabled) return { create: [], remove };
  const taken = new Set(i.resources.map((r) => r.metadata.name));
  const create: Array<{ name: string; groupId: string }> = [];
  for (const groupId of [...listed].sort()) {
    if (declared.has(groupId)) continue;
    const name = discoveredName(groupId, i.cluster, taken);
    if (name === undefined) continue;
    taken.add(name);
    create.push({ name, groupId });
  }
  return { create, remove };
}
