/**
 * A local-path provisioner, as rancher's local-path-provisioner works: a default StorageClass with
 * volumeBindingMode WaitForFirstConsumer, so kube-scheduler picks the node first and marks the
 * claim (`volume.kubernetes.io/selected-node`); this then creates a `local` PersistentVolume on a
 * directory of its own, pinned to that node and pre-bound to the claim, and kube-controller-manager's
 * persistentvolume-binder completes the binding. A claim outlives its pods, so a pod made again for
 * it (a StatefulSet's) finds the same directory, on the same node. A volume released by a deleted
 * claim is deleted with its directory (reclaim policy Delete, done by the provisioner as for any
 * external one).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { Api } from './api.ts';

export const STORAGE_CLASS = 'tributary-e2e-local';
export const PROVISIONER = 'tributary.dev/e2e-local-path';
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';

export class LocalPathProvisioner {
  readonly #api: Api;
  readonly #root: string;
  readonly #pending = new Set<string>();

  constructor(api: Api, root: string) {
    this.#api = api;
    this.#root = root;
  }

  async start(signal: AbortSignal): Promise<void> {
    const storageClass: StorageClass = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: STORAGE_CLASS,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: PROVISIONER,
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    };
    await this.#api.must('POST', '/apis/storage.k8s.io/v1/storageclasses', storageClass, { allow: [409] });
    await this.#api.informer<PersistentVolumeClaim>(
      '/api/v1/persistentvolumeclaims',
      { onChange: (pvc) => void this.#provision(pvc).catch(() => undefined), onDelete: () => undefined },
      signal,
    );
    await this.#api.informer<PersistentVolume>(
      '/api/v1/persistentvolumes',
      { onChange: (pv) => void this.#reclaim(pv).catch(() => undefined), onDelete: () => undefined },
      signal,
    );
  }

  /** The directory of a volume this provisioner made. */
  directory(volumeName: string): string {
    return join(this.#root, volumeName);
  }

  async #provision(pvc: PersistentVolumeClaim): Promise<void> {
    const node = pvc.metadata?.annotations?.[SELECTED_NODE];
    const uid = pvc.metadata?.uid ?? '';
    if (pvc.spec?.storageClassName !== STORAGE_CLASS || pvc.spec.volumeName || !node) return;
    if (this.#pending.has(uid)) return;
    this.#pending.add(uid);
    const name = `pvc-${uid}`;
    mkdirSync(this.directory(name), { recursive: true });
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { [PROVISIONED_BY]: PROVISIONER } },
      spec: {
        capacity: { storage: pvc.spec.resources?.requests?.['storage'] ?? '1Gi' },
        accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: STORAGE_CLASS,
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: pvc.metadata?.namespace,
          name: pvc.metadata?.name,
          uid,
        },
        local: { path: this.directory(name) },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
            ],
          },
        },
      },
    };
    try {
      await this.#api.must('POST', '/api/v1/persistentvolumes', pv, { allow: [409] });
    } finally {
      this.#pending.delete(uid);
    }
  }

  async #reclaim(pv: PersistentVolume): Promise<void> {
    const name = pv.metadata?.name ?? '';
    if (pv.metadata?.annotations?.[PROVISIONED_BY] !== PROVISIONER || pv.status?.phase !== 'Released') return;
    await this.#api.must('DELETE', `/api/v1/persistentvolumes/${name}`, undefined, { allow: [404] });
    rmSync(this.directory(name), { recursive: true, force: true });
  }
}
