/**
 * What the runtime needs to know about any Kubernetes object, whatever its kind: its type, its
 * metadata, and the key the caches and work queues file it under.
 */

import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

/** Any object the API serves, as plain JSON (no class instances, timestamps as strings). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** An object that can be named on the API: everything a path to it needs. */
export interface NamedObject extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { name: string };
}

/**
 * `namespace/name` for namespaced objects and `name` for cluster-scoped ones, as client-go's
 * MetaNamespaceKeyFunc makes them, so keys read the same in logs of both.
 */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (name === undefined || name === '') throw new TypeError('an object without metadata.name has no key');
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

/** The inverse of {@link objectKey}. */
export function parseKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  if (slash < 0) return { name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** `metadata.resourceVersion`, or '' when the object has none yet. */
export function resourceVersionOf(obj: KubeObject): string {
  return obj.metadata?.resourceVersion ?? '';
}

/** Narrows an object to one that has what a request path needs, or throws saying what is missing. */
export function assertNamed<T extends KubeObject>(obj: T): T & NamedObject {
  const missing = [
    obj.apiVersion ? undefined : 'apiVersion',
    obj.kind ? undefined : 'kind',
    obj.metadata?.name ? undefined : 'metadata.name',
  ].filter((f) => f !== undefined);
  if (missing.length > 0) throw new TypeError(`object lacks ${missing.join(', ')}`);
  return obj as T & NamedObject;
}
