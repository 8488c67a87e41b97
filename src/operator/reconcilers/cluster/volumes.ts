/**
 * Growing the brokers' volumes. A StatefulSet's volumeClaimTemplates never change after it is
 * created, so a bigger `spec.storage.size` is asked of each existing PVC instead (the storage class
 * must allow expansion; Kubernetes reports on the PVC if it does not). New brokers get the size of
 * the template and are grown by the next reconcile.
 */

import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { compareQuantityText, type Cluster } from '../../api/index.ts';
import { clusterNames } from './names.ts';

export interface ClaimResize {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

/** The cluster's PVCs (of its StatefulSet's template) that ask for less than `spec.storage.size`. */
export function claimsToExpand(cluster: Cluster, claims: readonly PersistentVolumeClaim[]): ClaimResize[] {
  const n = clusterNames(cluster.metadata.name);
  const prefix = `${n.volumeClaimTemplate}-${n.statefulSet}-`;
  const wanted = cluster.spec.storage.size;
  const out: ClaimResize[] = [];
  for (const claim of claims) {
    const name = claim.metadata?.name ?? '';
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
    if (claim.metadata?.deletionTimestamp) continue;
    const current = claim.spec?.resources?.requests?.['storage'];
    if (current === undefined) continue;
    if ((compareQuantityText(current, wanted) ?? 0) < 0) out.push({ name, from: current, to: wanted });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
