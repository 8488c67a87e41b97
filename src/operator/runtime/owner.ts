/**
 * Owner references: every child the operator creates names its Cluster (or Topic) as its
 * controller, so the garbage collector deletes it with its owner and informer events on a child
 * can be mapped back to the owner's key.
 */

import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { assertNamed, type KubeObject } from './objects.ts';

/**
 * The controller reference to put on a child of `owner`: `controller: true` (one per object) and
 * `blockOwnerDeletion: true` (a foreground delete of the owner waits for it). `owner` must be an
 * object read from the API: the reference needs its uid.
 */
export function controllerReference(owner: KubeObject): OwnerReference {
  const named = assertNamed(owner);
  const uid = named.metadata.uid;
  if (!uid)
    throw new TypeError(`${named.kind} ${named.metadata.name} has no uid: read it from the API first`);
  return {
    apiVersion: named.apiVersion,
    kind: named.kind,
    name: named.metadata.name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * `child` with `owner` as its controller, replacing any controller reference it had (an object
 * has at most one) and keeping its other owner references.
 */
export function withController<T extends KubeObject>(child: T, owner: KubeObject): T {
  const ref = controllerReference(owner);
  const others = (child.metadata?.ownerReferences ?? []).filter((r) => r.controller !== true);
  return { ...child, metadata: { ...child.metadata, ownerReferences: [...others, ref] } };
}

/** The controller reference of `obj`, if it has one. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/**
 * For `Controller.watch` on children: the key of a child's controller if it is of `kind` (and
 * `apiVersion`'s group), else none. Owners are in the child's namespace (the API forbids
 * cross-namespace owners).
 */
export function ownerKeyOf(kind: string, apiVersion?: string): (child: KubeObject) => string | undefined {
  const group = apiVersion === undefined ? undefined : groupOf(apiVersion);
  return (child) => {
    const ref = controllerOf(child);
    if (ref === undefined || ref.kind !== kind) return undefined;
    if (group !== undefined && groupOf(ref.apiVersion) !== group) return undefined;
    const namespace = child.metadata?.namespace;
    return namespace ? `${namespace}/${ref.name}` : ref.name;
  };
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
