/**
 * Where the API server is and how to prove who we are: one context of a kubeconfig, or the pod's
 * service account, resolved into plain data the {@link KubeClient} connects with.
 *
 * Files are found and merged as kubectl does: `--kubeconfig`, else every file in $KUBECONFIG (the
 * first to name a cluster, user, context or current-context wins), else ~/.kube/config, else the
 * service account when running in a pod. Relative file paths are relative to the kubeconfig that
 * names them.
 *
 * Supported credentials: bearer tokens (inline or `tokenFile`, re-read as it rotates), client
 * certificates, basic auth, exec credential plugins (client.authentication.k8s.io v1 and v1beta1),
 * and impersonation (user, groups, uid, extra). Legacy `auth-provider` plugins and `proxy-url` are
 * refused with a message that says what to use instead, never silently ignored (docs/adr/0014).
 */

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { load as loadYaml } from 'js-yaml';

export interface ExecConfig {
  /** The ExecCredential version the plugin speaks (client.authentication.k8s.io/v1 or v1beta1). */
  readonly apiVersion: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Pass the cluster's server and CA to the plugin in KUBERNETES_EXEC_INFO. */
  readonly provideClusterInfo: boolean;
  /** Where a relative `command` with a slash in it is found: the kubeconfig's directory. */
  readonly baseDir: string;
}

/** How requests are authenticated, besides a client certificate. */
export type UserAuth =
  | { readonly type: 'none' }
  | { readonly type: 'token'; readonly token: string }
  /** A file holding the token, re-read as it changes (projected service-account tokens rotate). */
  | { readonly type: 'tokenFile'; readonly path: string }
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  | { readonly type: 'exec'; readonly exec: ExecConfig };

export interface Impersonation {
  readonly user: string;
  readonly groups: readonly string[];
  readonly uid?: string;
  /** `as-user-extra`: extra attributes of the impersonated user, by key. */
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

export interface KubeConfig {
  /** `https://host:port`, no trailing slash. */
  readonly server: string;
  /** PEM CA bundle to verify the server with; the system's when absent. */
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string;
  /** PEM client certificate and key, when the user authenticates with one. */
  readonly clientCert?: { readonly cert: Buffer; readonly key: Buffer };
  readonly auth: UserAuth;
  readonly impersonate?: Impersonation;
  /** The context's namespace (or the service account's), if it names one. */
  readonly namespace?: string;
  /** The context used, or `in-cluster`. */
  readonly contextName: string;
  /** For messages: the kubeconfig file(s), or the service-account directory. */
  readonly source: string;
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

/** The pod's service account: the API server's service address, the mounted CA and token. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError(
      'not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; pass --kubeconfig FILE',
    );
  }
  const tokenPath = `${dir}/token`;
  if (!existsSync(tokenPath)) {
    throw new KubeConfigError(
      `no service-account token at ${tokenPath}: is automountServiceAccountToken turned off for this pod?`,
    );
  }
  const namespace = readOptional(`${dir}/namespace`)?.trim();
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readOptional(`${dir}/ca.crt`, true),
    insecureSkipTlsVerify: false,
    auth: { type: 'tokenFile', path: tokenPath },
    namespace: namespace || undefined,
    contextName: 'in-cluster',
    source: dir,
  };
}

// --- kubeconfig files ------------------------------------------------------------------------

/** A named entry and the file it came from (relative paths in it are relative to that file). */
interface Entry {
  readonly name: string;
  readonly body: Record<string, unknown>;
  readonly file: string;
}

interface Merged {
  readonly clusters: Map<string, Entry>;
  readonly users: Map<string, Entry>;
  readonly contexts: Map<string, Entry>;
  currentContext?: string;
}

/** Merges the files in order (first wins, as kubectl merges $KUBECONFIG) and resolves one context. */
export function fromFiles(files: readonly string[], context?: string): KubeConfig {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of files) mergeFile(merged, resolve(file), readKubeconfig(resolve(file)));
  return resolveContext(merged, context, files.join(delimiter));
}

/** Parses one kubeconfig's text (YAML or JSON) as if read from `file`. */
export function parseKubeConfig(text: string, file: string, context?: string): KubeConfig {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  mergeFile(merged, resolve(file), parseDocument(text, file));
  return resolveContext(merged, context, file);
}

function readKubeconfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
  }
  return parseDocument(text, file);
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
  const add = (into: Map<string, Entry>, list: unknown, field: string, inner: string) => {
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) throw new KubeConfigError(`kubeconfig ${file}: "${field}" must be a list`);
    list.forEach((item: unknown, i) => {
      if (!isRecord(item) || typeof item.name !== 'string' || item.name === '') {
        throw new KubeConfigError(`kubeconfig ${file}: ${field}[${i}] needs a "name"`);
      }
      const body = item[inner] ?? {};
      if (!isRecord(body))
        throw new KubeConfigError(`kubeconfig ${file}: ${field}[${i}].${inner} must be a mapping`);
      if (!into.has(item.name)) into.set(item.name, { name: item.name, body, file });
    });
  };
  add(merged.clusters, doc.clusters, 'clusters', 'cluster');
  add(merged.users, doc.users, 'users', 'user');
  add(merged.contexts, doc.contexts, 'contexts', 'context');
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
  const userName = optionalString(context, 'user');
  const user = userName === undefined || userName === '' ? undefined : merged.users.get(userName);
  if (userName !== undefined && userName !== '' && user === undefined) {
    throw new KubeConfigError(
      `kubeconfig ${context.file}: context "${contextName}" names user "${userName}", which is not defined`,
    );
  }
  return {
    ...clusterSettings(cluster),
    ...(user === undefined ? { auth: { type: 'none' as const } } : userSettings(user)),
    namespace: optionalString(context, 'namespace') || undefined,
    contextName,
    source,
  };
}

type ClusterSettings = Pick<KubeConfig, 'server' | 'ca' | 'insecureSkipTlsVerify' | 'tlsServerName'>;

function clusterSettings(entry: Entry): ClusterSettings {
  const where = `kubeconfig ${entry.file}: cluster "${entry.name}"`;
  const server = optionalString(entry, 'server');
  if (server === undefined || server === '') throw new KubeConfigError(`${where} has no "server"`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KubeConfigError(`${where}: server "${server}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeConfigError(`${where}: server "${server}" must be http:// or https://`);
  }
  if (optionalString(entry, 'proxy-url')) {
    throw new KubeConfigError(
      `${where}: proxy-url is not supported; reach the API server directly (or through kubectl proxy)`,
    );
  }
  return {
    server: server.replace(/\/+$/, ''),
    ca: fileOrData(entry, 'certificate-authority'),
    insecureSkipTlsVerify: entry.body['insecure-skip-tls-verify'] === true,
    tlsServerName: optionalString(entry, 'tls-server-name') || undefined,
  };
}

type UserSettings = Pick<KubeConfig, 'clientCert' | 'auth' | 'impersonate'>;

function userSettings(entry: Entry): UserSettings {
  const where = `kubeconfig ${entry.file}: user "${entry.name}"`;
  if (entry.body['auth-provider'] !== undefined) {
    const provider = (entry.body['auth-provider'] as { name?: unknown } | null)?.name;
    throw new KubeConfigError(
      `${where}: auth-provider "${String(provider)}" is not supported (kubectl dropped these plugins);` +
        ' use an exec credential plugin instead (for OIDC, kubelogin; for GKE, gke-gcloud-auth-plugin;' +
        ' for AKS, kubelogin)',
    );
  }
  const cert = fileOrData(entry, 'client-certificate');
  const key = fileOrData(entry, 'client-key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new KubeConfigError(`${where}: client-certificate and client-key must be given together`);
  }

  let auth: UserAuth = { type: 'none' };
  const token = optionalString(entry, 'token');
  const tokenFile = optionalString(entry, 'tokenFile');
  const username = optionalString(entry, 'username');
  if (token) auth = { type: 'token', token };
  else if (tokenFile) auth = { type: 'tokenFile', path: resolvePath(entry, tokenFile) };
  else if (entry.body.exec !== undefined) auth = { type: 'exec', exec: execSettings(entry, where) };
  else if (username) auth = { type: 'basic', username, password: optionalString(entry, 'password') ?? '' };

  const as = optionalString(entry, 'as');
  const groups = entry.body['as-groups'];
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string'))) {
    throw new KubeConfigError(`${where}: as-groups must be a list of strings`);
  }
  const extra = entry.body['as-user-extra'];
  if (
    extra !== undefined &&
    !(
      isRecord(extra) &&
      Object.values(extra).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'))
    )
  ) {
    throw new KubeConfigError(`${where}: as-user-extra must map keys to lists of strings`);
  }
  const uid = optionalString(entry, 'as-uid');
  const impersonate =
    as || groups !== undefined || uid || extra !== undefined
      ? {
          user: as ?? '',
          groups: (groups as string[] | undefined) ?? [],
          uid,
          extra: (extra as Record<string, string[]> | undefined) ?? {},
        }
      : undefined;
  return { clientCert: cert && key ? { cert, key } : undefined, auth, impersonate };
}

const EXEC_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

function execSettings(entry: Entry, where: string): ExecConfig {
  const exec = entry.body.exec;
  if (!isRecord(exec)) throw new KubeConfigError(`${where}: exec must be a mapping`);
  const command = exec.command;
  if (typeof command !== 'string' || command === '')
    throw new KubeConfigError(`${where}: exec needs a "command"`);
  const apiVersion = exec.apiVersion;
  if (typeof apiVersion !== 'string' || !EXEC_VERSIONS.includes(apiVersion)) {
    throw new KubeConfigError(
      `${where}: exec apiVersion "${String(apiVersion)}" is not supported; use one of ${EXEC_VERSIONS.join(', ')}`,
    );
  }
  const args = exec.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    throw new KubeConfigError(`${where}: exec args must be a list of strings`);
  }
  const env: Record<string, string> = {};
  const envList = exec.env ?? [];
  if (!Array.isArray(envList))
    throw new KubeConfigError(`${where}: exec env must be a list of {name, value}`);
  for (const [i, e] of envList.entries()) {
    if (!isRecord(e) || typeof e.name !== 'string' || typeof e.value !== 'string') {
      throw new KubeConfigError(`${where}: exec env[${i}] needs a string "name" and "value"`);
    }
    env[e.name] = e.value;
  }
  return {
    apiVersion,
    command,
    args: args as string[],
    env,
    provideClusterInfo: exec.provideClusterInfo === true,
    baseDir: dirname(entry.file),
  };
}

// --- small helpers ----------------------------------------------------------------------------

/** `<field>-data` (base64) or `<field>` (a file path), not both. */
function fileOrData(entry: Entry, field: string): Buffer | undefined {
  const data = optionalString(entry, `${field}-data`);
  const path = optionalString(entry, field);
  if (data && path) {
    // kubectl refuses this too, rather than guess which one was meant.
    throw new KubeConfigError(
      `kubeconfig ${entry.file}: "${entry.name}" gives both ${field} and ${field}-data; keep one`,
    );
  }
  if (data) return Buffer.from(data, 'base64');
  if (!path) return undefined;
  const full = resolvePath(entry, path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new KubeConfigError(
      `kubeconfig ${entry.file}: ${field} of "${entry.name}" cannot be read: ${(err as Error).message}`,
    );
  }
}

function resolvePath(entry: Entry, path: string): string {
  const expanded = path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : path;
  return isAbsolute(expanded) ? expanded : resolve(dirname(entry.file), expanded);
}

function optionalString(entry: Entry, field: string): string | undefined {
  const value = entry.body[field];
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
