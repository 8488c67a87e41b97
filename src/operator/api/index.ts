/**
 * The operator's API, `tributary.dev/v1alpha1`: Cluster, Topic and ConsumerGroup, each defined once
 * (TypeBox) and from that definition typed, validated and published as a CRD (hack/gen-crds.ts).
 */
import { ClusterResource } from './cluster.ts';
import { ConsumerGroupResource } from './consumer-group.ts';
import { TopicResource } from './topic.ts';
import type { ResourceDefinition } from './resource.ts';

export * from './cluster.ts';
export * from './consumer-group.ts';
export * from './crd.ts';
export * from './meta.ts';
export * from './quantity.ts';
export * from './resource.ts';
export * from './topic.ts';
export * from './validate.ts';
export { type CelRule } from './schema.ts';

/** Every resource of the API, in the order their CRDs are written. */
export const RESOURCES: readonly ResourceDefinition[] = [
  ClusterResource,
  TopicResource,
  ConsumerGroupResource,
];

/** The definition of `kind` (undefined for a kind this API does not have). */
export function resourceFor(kind: string): ResourceDefinition | undefined {
  return RESOURCES.find((r) => r.kind === kind);
}
