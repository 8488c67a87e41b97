import { describe, expect, it } from '@jest/globals';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { claimsToExpand } from '../../../../../src/operator/reconcilers/cluster/volumes.ts';
import { storedCluster } from './fixtures.ts';

const claim = (name: string, storage: string, deleting = false): PersistentVolumeClaim => ({
  metadata: { name, ...(deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
  spec: { resources: { requests: { storage } } },
});

describe('cluster > volume growth', () => {
  it('asks each smaller claim of the cluster’s brokers for the new size', () => {
    const cluster = storedCluster({ storage: { size: '20Gi' } });
    expect(
      claimsToExpand(cluster, [
        claim('data-demo-broker-1', '10Gi'),
        claim('data-demo-broker-0', '10240Mi'),
        claim('data-demo-broker-2', '20Gi'),
        claim('data-demo-broker-3', '21474836480'),
      ]),
    ).toEqual([
      { name: 'data-demo-broker-0', from: '10240Mi', to: '20Gi' },
      { name: 'data-demo-broker-1', from: '10Gi', to: '20Gi' },
    ]);
  });

  it('never shrinks a claim, and leaves other claims and claims being deleted alone', () => {
    const cluster = storedCluster({ storage: { size: '10Gi' } });
    expect(
      claimsToExpand(cluster, [
        claim('data-demo-broker-0', '20Gi'),
        claim('data-other-broker-0', '1Gi'),
        claim('data-demo-broker-x', '1Gi'),
        claim('scratch-demo-broker-0', '1Gi'),
        claim('data-demo-broker-1', '1Gi', true),
      ]),
    ).toEqual([]);
  });
});
