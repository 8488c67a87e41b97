import { describe, expect, it } from '@jest/globals';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import {
  controllerOf,
  controllerReference,
  ownerKeyOf,
  withController,
} from '../../../../src/operator/runtime/owner.ts';

const cluster = {
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'prod', namespace: 'kafka', uid: 'uid-1' },
};

describe('owner references', () => {
  it('builds a controller reference that blocks the owner’s foreground deletion', () => {
    expect(controllerReference(cluster)).toEqual({
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'Cluster',
      name: 'prod',
      uid: 'uid-1',
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it('refuses an owner without a uid (one not read from the API)', () => {
    expect(() => controllerReference({ ...cluster, metadata: { name: 'prod' } })).toThrow(/uid/);
  });

  it('replaces the controller reference of a child and keeps other owners', () => {
    const other = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u2' };
    const oldController = { ...other, name: 'old', controller: true };
    const child: ConfigMap = { metadata: { name: 'c', ownerReferences: [other, oldController] } };
    const owned = withController(child, cluster);
    expect(owned.metadata?.ownerReferences).toEqual([other, controllerReference(cluster)]);
    expect(child.metadata?.ownerReferences).toHaveLength(2);
    expect(controllerOf(owned)?.name).toBe('prod');
  });

  it('maps a child to its controller’s key, for the owner kind and group only', () => {
    const child = withController({ metadata: { name: 'prod-config', namespace: 'kafka' } }, cluster);
    expect(ownerKeyOf('Cluster')(child)).toBe('kafka/prod');
    expect(ownerKeyOf('Cluster', 'tributary.dev/v1alpha1')(child)).toBe('kafka/prod');
    expect(ownerKeyOf('Cluster', 'other.io/v1')(child)).toBeUndefined();
    expect(ownerKeyOf('Topic')(child)).toBeUndefined();
    expect(ownerKeyOf('Cluster')({ metadata: { name: 'orphan' } })).toBeUndefined();
  });
});
