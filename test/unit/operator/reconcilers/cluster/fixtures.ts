/** Clusters as the operator reads them from its cache: namespaced, with a uid and a generation. */
import {
  API_VERSION,
  ClusterResource,
  withDefaults,
  type ClusterSpec,
} from '../../../../../src/operator/api/index.ts';
import type { StoredCluster } from '../../../../../src/operator/reconcilers/cluster/children.ts';

export const UID = '5f2b1c1e-0000-4000-8000-000000000001';

export function storedCluster(
  spec: Partial<ClusterSpec> = {},
  name = 'demo',
  namespace = 'streams',
): StoredCluster {
  const cluster = {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: { name, namespace, uid: UID, generation: 1 },
    spec: { replicas: 3, storage: { size: '10Gi' }, ...spec },
  };
  // As the API server stores it: with the schema's defaults.
  return withDefaults(ClusterResource, cluster) as StoredCluster;
}

export const options = { image: 'example.com/tributary:1.0', clusterDomain: 'cluster.local' };
