/**
 * What the children of a Cluster are called and how they are labelled. Every name derives from the
 * Cluster's name (at most 40 characters, a DNS label: see CLUSTER_NAME_MAX_LENGTH), so the longest,
 * the StatefulSet's revision hash label `<name>-broker-<10-char hash>`, still fits in 63.
 */

import { FIELD_MANAGER } from '../../runtime/apply.ts';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** On every child, PVCs included: how a PVC (which has no owner reference to the Cluster) finds it. */
export const LABEL_CLUSTER = 'tributary.dev/cluster';

/** The label selector the operator's child informers use: only what it manages is cached. */
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${FIELD_MANAGER}`;

/** Set by the StatefulSet controller on each pod (Kubernetes ≥ 1.28): the pod's ordinal. */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export interface ClusterNames {
  readonly statefulSet: string;
  /** Headless: per-pod DNS names `<pod>.<headless>.<namespace>.svc.<domain>`. */
  readonly headlessService: string;
  readonly bootstrapService: string;
  readonly configMap: string;
  readonly adminSecret: string;
  readonly podDisruptionBudget: string;
  /** The volumeClaimTemplate's name; PVCs are `<template>-<statefulSet>-<ordinal>`. */
  readonly volumeClaimTemplate: string;
}

export function clusterNames(cluster: string): ClusterNames {
  return {
    statefulSet: `${cluster}-broker`,
    headlessService: `${cluster}-brokers`,
    bootstrapService: `${cluster}-bootstrap`,
    configMap: `${cluster}-broker-config`,
    adminSecret: `${cluster}-admin-token`,
    podDisruptionBudget: `${cluster}-broker`,
    volumeClaimTemplate: 'data',
  };
}

/** Pod `ordinal` of the cluster's StatefulSet, as the StatefulSet controller names it. */
export function podName(cluster: string, ordinal: number): string {
  return `${clusterNames(cluster).statefulSet}-${ordinal}`;
}

/** The PVC of broker `ordinal`, as the StatefulSet controller names it. */
export function claimName(cluster: string, ordinal: number): string {
  const n = clusterNames(cluster);
  return `${n.volumeClaimTemplate}-${n.statefulSet}-${ordinal}`;
}

/** Selects the brokers' pods; part of the StatefulSet's immutable selector, so it never changes. */
export function selectorLabels(cluster: string): Record<string, string> {
  return { [LABEL_NAME]: 'tributary', [LABEL_COMPONENT]: 'broker', [LABEL_CLUSTER]: cluster };
}

/** On every child. */
export function childLabels(cluster: string): Record<string, string> {
  return {
    ...selectorLabels(cluster),
    [LABEL_INSTANCE]: cluster,
    [LABEL_MANAGED_BY]: FIELD_MANAGER,
  };
}

/** `<pod>.<headless>.<namespace>.svc.<domain>`: the address broker `pod` advertises. */
export function brokerHost(cluster: string, namespace: string, pod: string, clusterDomain: string): string {
  return `${pod}.${clusterNames(cluster).headlessService}.${namespace}.svc.${clusterDomain}`;
}

/** `<bootstrap>.<namespace>.svc:<port>`: resolvable from any namespace of the cluster. */
export function bootstrapAddress(cluster: string, namespace: string, port: number): string {
  return `${clusterNames(cluster).bootstrapService}.${namespace}.svc:${port}`;
}
