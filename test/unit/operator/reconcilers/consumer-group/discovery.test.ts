import { describe, expect, it } from '@jest/globals';
import type { ConsumerGroup } from '../../../../../src/operator/api/consumer-group.ts';
import {
  discoveredName,
  discoveryPlan,
  isValidName,
  type DiscoveryInput,
} from '../../../../../src/operator/reconcilers/consumer-group/discovery.ts';

function resource(
  name: string,
  o: { cluster?: string; groupId?: string; discovered?: boolean; deleting?: boolean } = {},
): ConsumerGroup {
  return {
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'ConsumerGroup',
    metadata: {
      name,
      namespace: 'ns',
      ...(o.discovered ? { labels: { 'tributary.dev/discovered': 'true' } } : {}),
      ...(o.deleting ? ({ deletionTimestamp: '2024-05-01T00:00:00Z' } as object) : {}),
    },
    spec: { clusterRef: { name: o.cluster ?? 'shop' }, ...(o.groupId ? { groupId: o.groupId } : {}) },
  };
}

const listed = (...ids: string[]) =>
  ids.map((groupId) => ({ groupId, protocolType: 'consumer', state: 'Empty' }));

function plan(over: Partial<DiscoveryInput>) {
  return discoveryPlan({
    cluster: 'shop',
    enabled: true,
    listed: [],
    complete: true,
    resources: [],
    ...over,
  });
}

describe('consumer group > discovery > names', () => {
  it('is the group id when that is a free object name', () => {
    expect(discoveredName('billing.v2', 'shop', new Set())).toBe('billing.v2');
  });

  it('is a sanitized id with a hash when the id is not a valid name', () => {
    const name = discoveredName('Billing_Service..v2-', 'shop', new Set())!;
    expect(name).toMatch(/^billing-service\.v2-[0-9a-f]{8}$/);
    expect(isValidName(name)).toBe(true);
  });

  it('is hashed when the id is taken, differently for each cluster', () => {
    const a = discoveredName('billing', 'shop', new Set(['billing']));
    const b = discoveredName('billing', 'warehouse', new Set(['billing']));
    expect(a).toMatch(/^billing-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });

  it('stays within 253 characters, and has a name for an id with no usable character', () => {
    expect(discoveredName('x'.repeat(300), 'shop', new Set())!.length).toBeLessThanOrEqual(253);
    expect(discoveredName('___', 'shop', new Set())).toMatch(/^group-[0-9a-f]{8}$/);
  });
});

describe('consumer group > discovery > plan', () => {
  it('creates a resource for each consumer group without one, including groups with only offsets', () => {
    const p = plan({
      listed: [...listed('billing'), { groupId: 'offsets-only', protocolType: '', state: 'Empty' }],
    });
    expect(p.create).toEqual([
      { name: 'billing', groupId: 'billing' },
      { name: 'offsets-only', groupId: 'offsets-only' },
    ]);
  });

  it('leaves out groups of other protocols (Kafka Connect)', () => {
    expect(
      plan({ listed: [{ groupId: 'connect-cluster', protocolType: 'connect', state: 'Stable' }] }).create,
    ).toEqual([]);
  });

  it('creates nothing for a group a resource declares, by name or by spec.groupId', () => {
    const resources = [resource('billing'), resource('audit-cg', { groupId: 'audit' })];
    expect(plan({ listed: listed('billing', 'audit'), resources }).create).toEqual([]);
  });

  it('does not count resources of another Cluster as declaring the group, but their names are taken', () => {
    const p = plan({ listed: listed('billing'), resources: [resource('billing', { cluster: 'warehouse' })] });
    expect(p.create).toEqual([{ name: expect.stringMatching(/^billing-[0-9a-f]{8}$/), groupId: 'billing' }]);
  });

  it('removes a discovered resource whose group is gone, but never a declared one', () => {
    const gone = resource('gone', { discovered: true });
    const p = plan({ listed: listed(), resources: [gone, resource('declared')] });
    expect(p.remove).toEqual([gone]);
  });

  it('removes nothing on an incomplete listing', () => {
    const p = plan({ listed: [], complete: false, resources: [resource('gone', { discovered: true })] });
    expect(p.remove).toEqual([]);
  });

  it('does not remove a resource that is already being deleted', () => {
    const p = plan({ resources: [resource('gone', { discovered: true, deleting: true })] });
    expect(p.remove).toEqual([]);
  });

  it('removes every discovered resource and creates none when discovery is off', () => {
    const found = resource('billing', { discovered: true });
    const p = plan({ enabled: false, listed: listed('billing', 'audit'), resources: [found] });
    expect(p).toEqual({ create: [], remove: [found] });
  });
});
