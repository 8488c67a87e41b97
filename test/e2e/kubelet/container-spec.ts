/**
 * From a pod's container spec to a local command line and environment, as the kubelet would build
 * them for a container: environment variables in order (envFrom first), downward-API fields, `$(VAR)`
 * expansion (Kubernetes' third_party/forked/golang/expansion rules), then command and args expanded
 * with the whole environment. With no container image to run in, two rewrites follow: a value that
 * starts with a volume's mount path points into that volume's host directory, and `0.0.0.0` becomes
 * the pod's own loopback address.
 */
import type { Container, EnvVar, Pod } from 'kubernetes-types/core/v1.js';

/** What runs a command locally: the first word of a container's command → the argv that replaces it. */
export type Executables = Readonly<Record<string, readonly string[]>>;

/** An image's ENTRYPOINT and CMD, for containers that name no command. */
export type Images = Readonly<Record<string, { entrypoint: readonly string[]; cmd?: readonly string[] }>>;

/** A ConfigMap's or Secret's data, decoded; undefined if the object does not exist. */
export type DataReader = (
  kind: 'configmaps' | 'secrets',
  namespace: string,
  name: string,
) => Promise<Record<string, string> | undefined>;

export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/** A volume mount resolved to a directory (or file, with subPath) on this machine. */
export interface MappedMount {
  mountPath: string;
  hostPath: string;
}

/**
 * `$(NAME)` → the value of NAME when `lookup` knows it, else left as written; `$$` → `$`; any other
 * `$` is literal.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = lookup(name);
      out += value ?? `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

/** The value of a downward-API `fieldRef` path, as the kubelet formats it. */
export function fieldValue(pod: Pod, fieldPath: string, addresses: PodAddresses): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations': {
      const map = (fieldPath === 'metadata.labels' ? pod.metadata?.labels : pod.metadata?.annotations) ?? {};
      return Object.keys(map)
        .sort()
        .map((k) => `${k}=${JSON.stringify(map[k])}`)
        .join('\n');
    }
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return addresses.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return addresses.hostIP;
    default:
      throw new Error(`the kubelet stand-in does not support fieldRef ${fieldPath}`);
  }
}

/** The container's environment, in the kubelet's order; throws if a referenced object is missing. */
export async function containerEnv(
  pod: Pod,
  container: Container,
  addresses: PodAddresses,
  read: DataReader,
): Promise<Map<string, string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'configmaps' : 'secrets';
    const data = ref?.name ? await read(kind, ns, ref.name) : undefined;
    if (!data && !ref?.optional) throw new Error(`envFrom: ${kind} ${ns}/${ref?.name} not found`);
    for (const [k, v] of Object.entries(data ?? {})) env.set(`${from.prefix ?? ''}${k}`, v);
  }
  for (const e of container.env ?? []) {
    const value = await envValue(pod, e, env, addresses, read);
    if (value !== undefined) env.set(e.name, value);
  }
  return env;
}

async function envValue(
  pod: Pod,
  e: EnvVar,
  env: Map<string, string>,
  addresses: PodAddresses,
  read: DataReader,
): Promise<string | undefined> {
  if (e.value !== undefined) return expand(e.value, (name) => env.get(name));
  const from = e.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, addresses);
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (ref) {
    const kind = from.configMapKeyRef ? 'configmaps' : 'secrets';
    const ns = pod.metadata?.namespace ?? 'default';
    const value = ref.name ? (await read(kind, ns, ref.name))?.[ref.key] : undefined;
    if (value === undefined && !ref.optional)
      throw new Error(`env ${e.name}: ${kind} ${ns}/${ref.name} key ${ref.key} not found`);
    return value;
  }
  // resourceFieldRef (requests and limits) has no meaning without cgroups here.
  return '';
}

/** The argv (before rewriting) of `container`: its command, or its image's entrypoint, expanded. */
export function commandLine(container: Container, env: Map<string, string>, images: Images): string[] {
  const image = container.image ? images[container.image] : undefined;
  const command = container.command ?? image?.entrypoint ?? [];
  const args = container.args ?? (container.command ? [] : (image?.cmd ?? []));
  const lookup = (name: string): string | undefined => env.get(name);
  return [...command, ...args].map((word) => expand(word, lookup));
}

/** `argv` with its first word replaced by what runs it here; throws if nothing does. */
export function localArgv(argv: string[], executables: Executables): string[] {
  const [first, ...rest] = argv;
  const local = first === undefined ? undefined : executables[first];
  if (!local)
    throw new Error(
      `no executable for command ${JSON.stringify(first)} (known: ${Object.keys(executables).join(', ')})`,
    );
  return [...local, ...rest];
}

/**
 * A value as the process must see it here: a leading mount path (also after `--flag=`) points into
 * the volume's host directory (the longest mount path that matches wins), and `0.0.0.0` is the pod's
 * own address.
 */
export function rewriteValue(value: string, mounts: readonly MappedMount[], podIP: string): string {
  const byLength = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  const mapPath = (s: string): string => {
    for (const m of byLength) {
      if (s === m.mountPath || s.startsWith(`${m.mountPath.replace(/\/$/, '')}/`)) {
        return m.hostPath + s.slice(m.mountPath.replace(/\/$/, '').length);
      }
    }
    return s;
  };
  const eq = value.indexOf('=');
  const mapped =
    value.startsWith('/') || eq < 0 ? mapPath(value) : value.slice(0, eq + 1) + mapPath(value.slice(eq + 1));
  return mapped.replaceAll('0.0.0.0', podIP);
}
