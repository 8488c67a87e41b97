/**
 * Where the API server is and how to prove who we are: one context of a kubeconfig, or the pod's
 * service account, as a @kubernetes/client-node `KubeConfig` holding that context alone. client-node
 * parses the entries and owns the credentials (tokens, rotating token files, client certificates,
 * exec plugins); see credentials.ts and docs/adr/0017.
 *
 * What is ours is where kubectl and client-node read a kubeconfig differently, so that the operator
 * connects as `kubectl` with the same files would:
 *
 * - Files are found and merged as kubectl does: `--kubeconfig`, else every file in $KUBECONFIG
 *   (missing ones skipped; the first to name a cluster, user, context or current-context wins), else
 *   ~/.kube/config, else the service account when running in a pod. client-node's `loadFromDefault`
 *   fails on a missing file or a name defined twice, lets a later file's current-context win, and
 *   ends at http://localhost:8080 with no credentials.
 * - A user's `tokenFile` (client-node reads only `token-file`, once) becomes client-node's token-file
 *   provider, which re-reads it every minute, as the in-cluster service account's token is read.
 * - An exec plugin's relative command is found next to the kubeconfig naming it, and the plugin is
 *   told KUBERNETES_EXEC_INFO (with the cluster when `provideClusterInfo` is set), as client-go does.
 * - Impersonation beyond `as` (`as-groups`, `as-uid`, `as-user-extra`) is carried alongside, for the
 *   client to send.
 * - Refused, with what to do instead, rather than read differently from kubectl or failing at the
 *   first request: a path given with its `-data` form, a client certificate without its key,
 *   `auth-provider`, `proxy-url`, and plain http:// without `insecure-skip-tls-verify` (client-node
 *   refuses to send credentials over it otherwise).
 */

import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { KubeConfig as ClientNodeConfig, type Cluster, type User } from '@kubernetes/client-node';
import { load as loadYaml } from 'js-yaml';

/** Impersonation that client-node does not send (it sends `as` alone, as Impersonate-User). */
export interface Impersonation {
  readonly groups: readonly string[];
  readonly uid?: string;
  /** `as-user-extra`: extra attributes of the impersonated user, by key. */
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

export interface KubeConfig {
  /** client-node's configuration, holding the one context in use; credentials come from it. */
  readonly kc: ClientNodeConfig;
  /** `https://host:port`, no trailing slash. */
  readonly server: string;
  /** The context's namespace (or the service account's), if it names one. */
  readonly namespace?: string;
  /** The context used, or `in-cluster`. */
  readonly contextName: string;
  /** For messages: the kubeconfig file(s), or the service-account directory. */
  readonly source: string;
  readonly impersonate?: Impersonation;
}

export interface KubeConfigSource {
  /** A kubeconfig file; its current context unless `context` names another. */
  readonly kubeconfigPath?: string;
  readonly context?: string;
  /** The pod's service account (KUBERNETES_SERVICE_HOST, the mounted token and CA). */
  readonly inCluster?: boolean;
}

/** A kubeconfig that cannot be used: the message names the file, the entry and the field. */
export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadEnvironment {
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  readonly serviceAccountDir?: string;
}

/**
 * Loads a connection from a file, from the pod's service account, or — with neither given — the
 * way kubectl does. Throws {@link KubeConfigError} with what to fix.
 */
export function loadKubeConfig(source: KubeConfigSource = {}, environment: LoadEnvironment = {}): KubeConfig {
  const env = environment.env ?? process.env;
  const saDir = environment.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (source.kubeconfigPath !== undefined) return fromFiles([source.kubeconfigPath], source.context);
  if (source.inCluster) return inClusterConfig(env, saDir);
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (listed.length > 0) {
    // As kubectl: a file in the list that does not exist is skipped, not an error.
    const existing = listed.filter((p) => existsSync(p));
    if (existing.length === 0) {
      throw new KubeConfigError(`none of the files in KUBECONFIG exists: ${listed.join(delimiter)}`);
    }
    return fromFiles(existing, source.context);
  }
  const home = resolve(environment.home ?? env.HOME ?? homedir(), '.kube/config');
  if (existsSync(home)) return fromFiles([home], source.context);
  if (env.KUBERNETES_SERVICE_HOST) return inClusterConfig(env, saDir);
  throw new KubeConfigError(
    `no kubeconfig found: pass --kubeconfig FILE, set KUBECONFIG, or create ${home}` +
      ' (outside a pod there is no service account to fall back on)',
  );
}

/**
 * The pod's service account: the API server's service address, the mounted CA and token. Built as
 * client-node's `loadFromCluster` builds it (the token read by its token-file provider), with the
 * environment and directory given, and refusals that say what is missing.
 */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError(
      'not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; pass --kubeconfig FILE',
    );
  }
  const tokenFile = `${dir}/token`;
  if (!existsSync(tokenFile)) {
    throw new KubeConfigError(
      `no service-account token at ${tokenFile}: is automountServiceAccountToken turned off for this pod?`,
    );
  }
  const caFile = `${dir}/ca.crt`;
  const namespace = readOptional(`${dir}/namespace`)?.trim() || undefined;
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const name = 'in-cluster';
  const kc = new ClientNodeConfig();
  kc.loadFromOptions({
    clusters: [{ name, server, caFile: existsSync(caFile) ? caFile : undefined, skipTLSVerify: false }],
    users: [{ name, authProvider: tokenFileProvider(tokenFile) }],
    contexts: [{ name, cluster: name, user: name, namespace }],
    currentContext: name,
  });
  return { kc, server, namespace, contextName: name, source: dir };
}

// --- kubeconfig files ------------------------------------------------------------------------

/** A named entry: as written (for what client-node does not read) and as client-node read it. */
interface Entry<T> {
  readonly name: string;
  readonly raw: Record<string, unknown>;
  /** Undefined when client-node found the entry invalid (a cluster without a server). */
  readonly parsed: T | undefined;
  /** The kubeconfig it came from: relative paths in it are relative to this file. */
  readonly file: string;
}

interface Merged {
  readonly clusters: Map<string, Entry<Cluster>>;
  readonly users: Map<string, Entry<User>>;
  /** Read from `raw` alone: client-node's reading of a context adds nothing. */
  readonly contexts: Map<string, Entry<{ name: string }>>;
  currentContext?: string;
}

const emptyMerge = (): Merged => ({ clusters: new Map(), users: new Map(), contexts: new Map() });

/** Merges the files in order (first wins, as kubectl merges $KUBECONFIG) and resolves one context. */
export function fromFiles(files: readonly string[], context?: string): KubeConfig {
  const merged = emptyMerge();
  for (const file of files) {
    const full = resolve(file);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (err) {
      throw new KubeConfigError(`cannot read kubeconfig ${full}: ${(err as Error).message}`);
    }
    mergeFile(merged, full, parseDocument(text, full));
  }
  return resolveContext(merged, context, files.join(delimiter));
}

/** Parses one kubeconfig's text (YAML or JSON) as if read from `file`. */
export function parseKubeConfig(text: string, file: string, context?: string): KubeConfig {
  const merged = emptyMerge();
  mergeFile(merged, resolve(file), parseDocument(text, file));
  return resolveContext(merged, context, file);
}

function parseDocument(text: string, file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = loadYaml(text);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === undefined || doc === null) return {};
  if (!isRecord(doc)) throw new KubeConfigError(`kubeconfig ${file}: expected a mapping at the top level`);
  return doc;
}

function mergeFile(merged: Merged, file: string, doc: Record<string, unknown>): void {
  // client-node reads the same document (JSON is YAML) and makes its file paths absolute; entries
  // it finds invalid are left out here and explained when a context uses them.
  const kc = new ClientNodeConfig();
  kc.loadFromString(JSON.stringify(doc), { onInvalidEntry: 'filter' });
  kc.makePathsAbsolute(dirname(file));
  const add = <T extends { name: string }>(
    into: Map<string, Entry<T>>,
    field: string,
    inner: string,
    parsed: readonly T[],
  ) => {
    const list = doc[field];
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) throw new KubeConfigError(`kubeconfig ${file}: "${field}" must be a list`);
    list.forEach((item: unknown, i) => {
      if (!isRecord(item) || typeof item.name !== 'string' || item.name === '') {
        throw new KubeConfigError(`kubeconfig ${file}: ${field}[${i}] needs a "name"`);
      }
      const raw = item[inner] ?? {};
      if (!isRecord(raw))
        throw new KubeConfigError(`kubeconfig ${file}: ${field}[${i}].${inner} must be a mapping`);
      const name = item.name;
      if (!into.has(name)) into.set(name, { name, raw, parsed: parsed.find((p) => p.name === name), file });
    });
  };
  add(merged.clusters, 'clusters', 'cluster', kc.clusters);
  add(merged.users, 'users', 'user', kc.users);
  add(merged.contexts, 'contexts', 'context', []);
  const current = doc['current-context'];
  if (merged.currentContext === undefined && typeof current === 'string' && current !== '') {
    merged.currentContext = current;
  }
}

function resolveContext(merged: Merged, requested: string | undefined, source: string): KubeConfig {
  const contextName = requested ?? merged.currentContext;
  if (contextName === undefined) {
    throw new KubeConfigError(`kubeconfig ${source} has no current-context; pass --context NAME`);
  }
  const context = merged.contexts.get(contextName);
  if (context === undefined) {
    const known = [...merged.contexts.keys()];
    throw new KubeConfigError(
      `kubeconfig ${source} has no context "${contextName}"` +
        (known.length > 0 ? ` (it has: ${known.join(', ')})` : ''),
    );
  }
  const clusterName = optionalString(context, 'cluster');
  const cluster = clusterName === undefined ? undefined : merged.clusters.get(clusterName);
  if (cluster === undefined) {
    throw new KubeConfigError(
      `kubeconfig ${context.file}: context "${contextName}" names cluster "${clusterName ?? ''}", which is not defined`,
    );
  }
  const userName = optionalString(context, 'user') || undefined;
  const user = userName === undefined ? undefined : merged.users.get(userName);
  if (userName !== undefined && user === undefined) {
    throw new KubeConfigError(
      `kubeconfig ${context.file}: context "${contextName}" names user "${userName}", which is not defined`,
    );
  }
  const checkedCluster = checkCluster(cluster);
  const namespace = optionalString(context, 'namespace') || undefined;
  const { user: checkedUser, impersonate } =
    user === undefined
      ? // client-node applies the cluster's CA and TLS settings only for a context with a user.
        { user: { name: 'anonymous' }, impersonate: undefined }
      : checkUser(user, checkedCluster);
  const kc = new ClientNodeConfig();
  kc.loadFromOptions({
    clusters: [checkedCluster],
    users: [checkedUser],
    contexts: [{ name: contextName, cluster: checkedCluster.name, user: checkedUser.name, namespace }],
    currentContext: contextName,
  });
  return { kc, server: checkedCluster.server, namespace, contextName, source, impersonate };
}

function checkCluster(entry: Entry<Cluster>): Cluster {
  const where = `kubeconfig ${entry.file}: cluster "${entry.name}"`;
  for (const field of STRING_FIELDS.cluster) optionalString(entry, field);
  const server = optionalString(entry, 'server');
  if (!server || entry.parsed === undefined) throw new KubeConfigError(`${where} has no "server"`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KubeConfigError(`${where}: server "${server}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeConfigError(`${where}: server "${server}" must be http:// or https://`);
  }
  if (url.protocol === 'http:' && !entry.parsed.skipTLSVerify) {
    throw new KubeConfigError(
      `${where}: server "${server}" is plain HTTP, over which credentials would travel in the clear;` +
        ' use https://, or set insecure-skip-tls-verify: true to allow it',
    );
  }
  if (optionalString(entry, 'proxy-url')) {
    throw new KubeConfigError(
      `${where}: proxy-url is not supported; reach the API server directly, or through kubectl proxy` +
        ' (http://, with insecure-skip-tls-verify: true)',
    );
  }
  checkFileOrData(entry, 'certificate-authority');
  return { ...entry.parsed, server: server.replace(/\/+$/, '') };
}

function checkUser(entry: Entry<User>, cluster: Cluster): { user: User; impersonate?: Impersonation } {
  const where = `kubeconfig ${entry.file}: user "${entry.name}"`;
  if (entry.raw['auth-provider'] !== undefined) {
    const provider = (entry.raw['auth-provider'] as { name?: unknown } | null)?.name;
    throw new KubeConfigError(
      `${where}: auth-provider "${String(provider)}" is not supported (kubectl dropped the gcp and azure` +
        ' ones, and a long-running operator cannot write a refreshed OIDC token back);' +
        ' use an exec credential plugin instead (for OIDC, kubelogin; for GKE, gke-gcloud-auth-plugin;' +
        ' for AKS, kubelogin)',
    );
  }
  for (const field of STRING_FIELDS.user) optionalString(entry, field);
  const hasCert = checkFileOrData(entry, 'client-certificate');
  const hasKey = checkFileOrData(entry, 'client-key');
  if (hasCert !== hasKey) {
    throw new KubeConfigError(`${where}: client-certificate and client-key must be given together`);
  }
  let user: User = { ...(entry.parsed ?? {}), name: entry.name };
  const tokenFile = optionalString(entry, 'tokenFile');
  if (tokenFile && !user.token) {
    user = { ...user, authProvider: tokenFileProvider(resolvePath(entry, tokenFile)) };
  }
  if (entry.raw.exec !== undefined) user = { ...user, exec: execSettings(entry, where, cluster) };
  return { user, impersonate: impersonation(entry, where) };
}

/** client-node's provider for a token in a file, re-read every minute (as its in-cluster config uses). */
const tokenFileProvider = (path: string) => ({ name: 'tokenFile', config: { tokenFile: path } });

const EXEC_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

/** The exec section as client-node runs it, with client-go's path resolution and KUBERNETES_EXEC_INFO. */
function execSettings(entry: Entry<User>, where: string, cluster: Cluster): Record<string, unknown> {
  const exec = entry.raw.exec;
  if (!isRecord(exec)) throw new KubeConfigError(`${where}: exec must be a mapping`);
  const command = exec.command;
  if (typeof command !== 'string' || command === '') {
    throw new KubeConfigError(`${where}: exec needs a "command"`);
  }
  const apiVersion = exec.apiVersion;
  if (typeof apiVersion !== 'string' || !EXEC_VERSIONS.includes(apiVersion)) {
    throw new KubeConfigError(
      `${where}: exec apiVersion "${String(apiVersion)}" is not supported; use one of ${EXEC_VERSIONS.join(', ')}`,
    );
  }
  const env = exec.env ?? [];
  if (
    !Array.isArray(env) ||
    !env.every((e) => isRecord(e) && typeof e.name === 'string' && typeof e.value === 'string')
  ) {
    throw new KubeConfigError(`${where}: exec env must be a list of {name, value}`);
  }
  const spec: Record<string, unknown> = { interactive: false };
  if (exec.provideClusterInfo === true) {
    const ca =
      cluster.caData ?? (cluster.caFile ? readOptional(cluster.caFile, true)?.toString('base64') : undefined);
    spec.cluster = {
      server: cluster.server,
      'certificate-authority-data': ca,
      'insecure-skip-tls-verify': cluster.skipTLSVerify || undefined,
      'tls-server-name': cluster.tlsServerName,
    };
  }
  return {
    ...exec,
    // client-go: a command with a path separator is relative to the kubeconfig naming it.
    command: command.includes('/') ? resolve(dirname(entry.file), command) : command,
    args: exec.args ?? [],
    env: [
      ...env,
      { name: 'KUBERNETES_EXEC_INFO', value: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec }) },
    ],
  };
}

function impersonation(entry: Entry<User>, where: string): Impersonation | undefined {
  const groups = entry.raw['as-groups'];
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string'))) {
    throw new KubeConfigError(`${where}: as-groups must be a list of strings`);
  }
  const extra = entry.raw['as-user-extra'];
  if (
    extra !== undefined &&
    !(
      isRecord(extra) &&
      Object.values(extra).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'))
    )
  ) {
    throw new KubeConfigError(`${where}: as-user-extra must map keys to lists of strings`);
  }
  const uid = optionalString(entry, 'as-uid') || undefined;
  if (groups === undefined && extra === undefined && uid === undefined) return undefined;
  return {
    groups: (groups as string[] | undefined) ?? [],
    uid,
    extra: (extra as Record<string, string[]> | undefined) ?? {},
  };
}

// --- small helpers ----------------------------------------------------------------------------

/** Fields read as strings: a number or a list there is a mistake worth naming. */
const STRING_FIELDS = {
  cluster: ['server', 'certificate-authority', 'certificate-authority-data', 'tls-server-name', 'proxy-url'],
  user: [
    'token',
    'tokenFile',
    'username',
    'password',
    'client-certificate',
    'client-certificate-data',
    'client-key',
    'client-key-data',
    'as',
    'as-uid',
  ],
};

/**
 * Whether `<field>` (a file, which must be readable) or `<field>-data` is given. Not both: kubectl
 * refuses that rather than guess which was meant, where client-node would take the file.
 */
function checkFileOrData(entry: Entry<unknown>, field: string): boolean {
  const data = optionalString(entry, `${field}-data`);
  const path = optionalString(entry, field);
  if (data && path) {
    throw new KubeConfigError(
      `kubeconfig ${entry.file}: "${entry.name}" gives both ${field} and ${field}-data; keep one`,
    );
  }
  if (path) {
    try {
      accessSync(resolvePath(entry, path), constants.R_OK);
    } catch (err) {
      throw new KubeConfigError(
        `kubeconfig ${entry.file}: ${field} of "${entry.name}" cannot be read: ${(err as Error).message}`,
      );
    }
  }
  return Boolean(data || path);
}

function resolvePath(entry: Entry<unknown>, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(entry.file), path);
}

function optionalString(entry: Entry<unknown>, field: string): string | undefined {
  const value = entry.raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new KubeConfigError(`kubeconfig ${entry.file}: "${field}" of "${entry.name}" must be a string`);
  }
  return value;
}

function readOptional(path: string, raw: true): Buffer | undefined;
function readOptional(path: string): string | undefined;
function readOptional(path: string, raw = false): Buffer | string | undefined {
  try {
    return raw ? readFileSync(path) : readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
