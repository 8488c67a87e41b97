/** The names topic discovery and the Topic reconciler share (src/operator/reconcilers/topic/names.ts). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { TopicSpec } from '../../../../../src/operator/api/index.ts';
import {
  ANNOTATION_DISCOVERED_SPEC,
  discoveredName,
  isDiscovered,
  specDigest,
  untouchedSinceDiscovery,
} from '../../../../../src/operator/reconcilers/topic/names.ts';
import { topicResource, topicState, discoveredResource } from './fixtures.ts';

/** Kubernetes' DNS-1123 subdomain: dot-separated labels that start and end with a letter or digit. */
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The `i`th 8 hex digits of the topic name's sha256. */
const hash8 = (topic: string, i = 0) =>
  createHash('sha256')
    .update(topic)
    .digest('hex')
    .slice(i * 8, i * 8 + 8);

const nothingTaken = () => false;

const spec = (o: Partial<TopicSpec> = {}): TopicSpec => ({
  clusterRef: { name: 'demo' },
  partitions: 3,
  replicationFactor: 3,
  config: { 'retention.ms': '86400000', 'cleanup.policy': 'delete' },
  deletionPolicy: 'Retain',
  ...o,
});

describe('topic names > specDigest', () => {
  it('is 16 hex digits', () => {
    expect(specDigest(spec())).toMatch(/^[0-9a-f]{16}$/);
  });

  it('does not depend on the order of the config keys', () => {
    const reordered = spec({ config: { 'cleanup.policy': 'delete', 'retention.ms': '86400000' } });
    expect(specDigest(reordered)).toBe(specDigest(spec()));
  });

  it('is the same for an absent and an empty config', () => {
    expect(specDigest(spec({ config: {} }))).toBe(specDigest(spec({ config: undefined })));
  });

  it('is the same for an absent deletionPolicy and Retain, its default', () => {
    const { deletionPolicy: _, ...withoutPolicy } = spec();
    expect(specDigest(withoutPolicy)).toBe(specDigest(spec()));
  });

  it('changes with the partitions', () => {
    expect(specDigest(spec({ partitions: 6 }))).not.toBe(specDigest(spec()));
  });

  it('changes with a config value, and with a config key added', () => {
    const base = specDigest(spec());
    expect(specDigest(spec({ config: { 'retention.ms': '1000', 'cleanup.policy': 'delete' } }))).not.toBe(
      base,
    );
    expect(
      specDigest(
        spec({ config: { 'retention.ms': '86400000', 'cleanup.policy': 'delete', 'segment.ms': '60000' } }),
      ),
    ).not.toBe(base);
  });

  it('changes with the deletionPolicy', () => {
    expect(specDigest(spec({ deletionPolicy: 'Delete' }))).not.toBe(specDigest(spec()));
  });

  it('changes with the topic name and the replication factor', () => {
    expect(specDigest(spec({ topicName: 'Orders' }))).not.toBe(specDigest(spec()));
    expect(specDigest(spec({ replicationFactor: 1 }))).not.toBe(specDigest(spec()));
  });
});

describe('topic names > discoveredName', () => {
  it('is the topic name when that is a valid, free resource name', () => {
    expect(discoveredName('orders', nothingTaken)).toBe('orders');
    expect(discoveredName('orders.v2', nothingTaken)).toBe('orders.v2');
    expect(discoveredName('orders-2024', nothingTaken)).toBe('orders-2024');
  });

  it('lower-cases and replaces underscores, then adds 8 hex digits of the hash', () => {
    expect(discoveredName('Client_Orders', nothingTaken)).toBe(`client-orders-${hash8('Client_Orders')}`);
  });

  it('drops the leading underscores of internal topics', () => {
    expect(discoveredName('__consumer_offsets', nothingTaken)).toBe(
      `consumer-offsets-${hash8('__consumer_offsets')}`,
    );
  });

  it('hashes a name with upper-case letters even when it has no other fault', () => {
    expect(discoveredName('Orders', nothingTaken)).toBe(`orders-${hash8('Orders')}`);
  });

  it('drops leading and trailing dots', () => {
    expect(discoveredName('.orders.', nothingTaken)).toBe(`orders-${hash8('.orders.')}`);
    expect(discoveredName('orders_', nothingTaken)).toBe(`orders-${hash8('orders_')}`);
  });

  it('is "topic" and the hash for a name with no letter or digit', () => {
    expect(discoveredName('___', nothingTaken)).toBe(`topic-${hash8('___')}`);
  });

  it('is the hashed form when the topic name is taken', () => {
    expect(discoveredName('orders', (n) => n === 'orders')).toBe(`orders-${hash8('orders')}`);
  });

  it('takes the next 8 hex digits when the hashed form is taken too', () => {
    const taken = new Set(['orders', `orders-${hash8('orders')}`]);
    expect(discoveredName('orders', (n) => taken.has(n))).toBe(`orders-${hash8('orders', 1)}`);
  });

  it('hashes a valid-looking name whose dot-separated parts are not labels', () => {
    expect(discoveredName('orders..v2', nothingTaken)).toBe(`orders.v2-${hash8('orders..v2')}`);
    expect(discoveredName('orders-.v2', nothingTaken)).toBe(`orders.v2-${hash8('orders-.v2')}`);
  });

  it('throws when every hashed form is taken', () => {
    expect(() => discoveredName('orders', () => true)).toThrow('no free resource name for topic orders');
  });

  it('keeps a long name within what Kubernetes accepts', () => {
    const name = discoveredName(`A${'b'.repeat(248)}`, nothingTaken);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(DNS_1123_SUBDOMAIN);
    expect(name).toBe(`a${'b'.repeat(199)}-${hash8(`A${'b'.repeat(248)}`)}`);
  });

  it.each([
    'Client_Orders',
    '__consumer_offsets',
    '.orders.',
    'A-_-b',
    'Orders-',
    'orders..v2',
    'orders.-v2',
    'Orders._v2',
    'a._b',
  ])('gives %s a valid DNS-1123 subdomain name', (topic) => {
    expect(discoveredName(topic, nothingTaken)).toMatch(DNS_1123_SUBDOMAIN);
  });
});

describe('topic names > discovered resources', () => {
  it('isDiscovered reads the tributary.dev/discovered label', () => {
    expect(isDiscovered(topicResource('orders', { discovered: true }))).toBe(true);
    expect(isDiscovered(topicResource('orders'))).toBe(false);
    const labelledFalse = topicResource('orders');
    labelledFalse.metadata.labels = { 'tributary.dev/discovered': 'false' };
    expect(isDiscovered(labelledFalse)).toBe(false);
  });

  it('a resource is untouched while its spec matches the digest discovery wrote', () => {
    expect(untouchedSinceDiscovery(discoveredResource(topicState('orders')))).toBe(true);
  });

  it('a resource whose spec was edited after discovery is not untouched', () => {
    const edited = discoveredResource(topicState('orders'));
    edited.spec = { ...edited.spec, partitions: 6 };
    expect(untouchedSinceDiscovery(edited)).toBe(false);
  });

  it('a resource without the digest annotation is not untouched', () => {
    const r = topicResource('orders', { discovered: true });
    expect(r.metadata.annotations?.[ANNOTATION_DISCOVERED_SPEC]).toBeUndefined();
    expect(untouchedSinceDiscovery(r)).toBe(false);
  });
});
