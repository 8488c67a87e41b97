import { describe, expect, it } from '@jest/globals';
import {
  KubeApiError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  retryOnConflict,
} from '../../../../src/operator/runtime/api-errors.ts';
import { objectKey, parseKey } from '../../../../src/operator/runtime/objects.ts';
import {
  ConfigMaps,
  Leases,
  resourcePath,
  type ResourceType,
} from '../../../../src/operator/runtime/resources.ts';

const Namespaces: ResourceType = {
  apiVersion: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
};

describe('resource paths', () => {
  it('builds core and group paths for collections, objects and subresources', () => {
    expect(resourcePath(ConfigMaps)).toBe('/api/v1/configmaps');
    expect(resourcePath(ConfigMaps, { namespace: 'ns' })).toBe('/api/v1/namespaces/ns/configmaps');
    expect(resourcePath(Leases, { namespace: 'ns', name: 'op' })).toBe(
      '/apis/coordination.k8s.io/v1/namespaces/ns/leases/op',
    );
    expect(resourcePath(ConfigMaps, { namespace: 'ns', name: 'a', subresource: 'status' })).toBe(
      '/api/v1/namespaces/ns/configmaps/a/status',
    );
    expect(resourcePath(Namespaces, { namespace: 'ignored', name: 'kafka' })).toBe(
      '/api/v1/namespaces/kafka',
    );
  });

  it('refuses a namespaced object path without a namespace', () => {
    expect(() => resourcePath(ConfigMaps, { name: 'a' })).toThrow(/namespaced/);
  });

  it('escapes names', () => {
    expect(resourcePath(ConfigMaps, { namespace: 'ns', name: 'a/b' })).toBe(
      '/api/v1/namespaces/ns/configmaps/a%2Fb',
    );
  });
});

describe('object keys', () => {
  it('are namespace/name, or name for cluster-scoped objects, and parse back', () => {
    expect(objectKey({ metadata: { name: 'a', namespace: 'ns' } })).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'kafka' } })).toBe('kafka');
    expect(parseKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(parseKey('kafka')).toEqual({ name: 'kafka' });
    expect(() => objectKey({ metadata: {} })).toThrow(TypeError);
  });
});

describe('API errors', () => {
  const err = (status: number, reason?: string): KubeApiError =>
    new KubeApiError({ status, method: 'PUT', path: '/x', body: { reason, message: 'said the server' } });

  it('tell conflicts, existing objects and missing objects apart', () => {
    expect(isConflict(err(409, 'Conflict'))).toBe(true);
    expect(isConflict(err(409, 'AlreadyExists'))).toBe(false);
    expect(isAlreadyExists(err(409, 'AlreadyExists'))).toBe(true);
    expect(isNotFound(err(404, 'NotFound'))).toBe(true);
    expect(isNotFound(new Error('404'))).toBe(false);
    expect(err(409, 'Conflict').message).toBe('PUT /x failed with HTTP 409: said the server');
  });

  it('retries a read-modify-write on conflict, and gives up after the attempts', async () => {
    let calls = 0;
    await expect(
      retryOnConflict(async () => {
        if (++calls < 3) throw err(409, 'Conflict');
        return 'done';
      }),
    ).resolves.toBe('done');
    calls = 0;
    await expect(
      retryOnConflict(async () => {
        calls++;
        throw err(409, 'Conflict');
      }, 4),
    ).rejects.toThrow(KubeApiError);
    expect(calls).toBe(4);
    await expect(retryOnConflict(async () => Promise.reject(err(422, 'Invalid')))).rejects.toThrow(/422/);
  });
});
