/**
 * A {@link KubeConfig}'s credentials as they are sent: the Authorization and impersonation headers
 * of each request and the client certificate of each connection, kept fresh.
 *
 * - A `tokenFile` is re-read once a minute (client-go does the same): projected service-account
 *   tokens are rotated by the kubelet while the pod runs.
 * - An exec plugin runs once and its ExecCredential is kept until its `expirationTimestamp`, or
 *   until the server answers 401 ({@link Credentials.invalidate}); concurrent requests share one run.
 */

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Clock } from '../../common/clock.ts';
import { systemClock } from '../../common/clock.ts';
import { KubeConfigError, type ExecConfig, type KubeConfig } from './kubeconfig.ts';

const TOKEN_FILE_TTL_MS = 60_000;
const EXEC_TIMEOUT_MS = 60_000;

export interface ClientCert {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** What one run of an exec plugin gave. */
export interface ExecCredential {
  readonly token?: string;
  readonly clientCert?: ClientCert;
  /** Epoch ms; undefined when the plugin gave no expiry (kept until a 401). */
  readonly expiresAt?: number;
}

/** Runs an exec plugin; replaceable in unit tests. */
export type ExecRunner = (exec: ExecConfig, info: string) => Promise<string>;

export interface CredentialsOptions {
  readonly clock?: Clock;
  readonly runExec?: ExecRunner;
}

export class Credentials {
  readonly #config: KubeConfig;
  readonly #clock: Clock;
  readonly #runExec: ExecRunner;
  #fileToken: { token: string; readAt: number } | undefined;
  #exec: { credential: ExecCredential } | undefined;
  #execRun: Promise<ExecCredential> | undefined;

  constructor(config: KubeConfig, options: CredentialsOptions = {}) {
    this.#config = config;
    this.#clock = options.clock ?? systemClock;
    this.#runExec = options.runExec ?? runExecPlugin;
  }

  /** True when a 401 may be cured by fetching credentials again (a rotated file, an expired plugin token). */
  get refreshable(): boolean {
    return this.#config.auth.type === 'tokenFile' || this.#config.auth.type === 'exec';
  }

  /** Headers for the next request: Authorization and Impersonate-*. */
  async headers(): Promise<Record<string, string | string[]>> {
    const headers: Record<string, string | string[]> = {};
    const auth = this.#config.auth;
    switch (auth.type) {
      case 'token':
        headers.authorization = `Bearer ${auth.token}`;
        break;
      case 'tokenFile':
        headers.authorization = `Bearer ${await this.#readTokenFile(auth.path)}`;
        break;
      case 'basic':
        headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
        break;
      case 'exec': {
        const credential = await this.#execCredential(auth.exec);
        if (credential.token) headers.authorization = `Bearer ${credential.token}`;
        break;
      }
      case 'none':
        break;
    }
    const imp = this.#config.impersonate;
    if (imp !== undefined) {
      if (imp.user) headers['impersonate-user'] = imp.user;
      if (imp.groups.length > 0) headers['impersonate-group'] = [...imp.groups];
      if (imp.uid) headers['impersonate-uid'] = imp.uid;
      for (const [key, values] of Object.entries(imp.extra)) {
        // Header names are case-insensitive and limited in what they may hold: the key is
        // percent-encoded, as the API server expects.
        if (values.length > 0) headers[`impersonate-extra-${encodeURIComponent(key)}`] = [...values];
      }
    }
    return headers;
  }

  /** The client certificate for new connections: the kubeconfig's, or one an exec plugin gave. */
  async clientCert(): Promise<ClientCert | undefined> {
    if (this.#config.clientCert !== undefined) return this.#config.clientCert;
    const auth = this.#config.auth;
    if (auth.type === 'exec') return (await this.#execCredential(auth.exec)).clientCert;
    return undefined;
  }

  /** Forgets cached credentials after the server refused them. */
  invalidate(): void {
    this.#fileToken = undefined;
    this.#exec = undefined;
  }

  async #readTokenFile(path: string): Promise<string> {
    const now = this.#clock.now();
    if (this.#fileToken !== undefined && now - this.#fileToken.readAt < TOKEN_FILE_TTL_MS) {
      return this.#fileToken.token;
    }
    let token: string;
    try {
      token = (await readFile(path, 'utf8')).trim();
    } catch (err) {
      // A token we read before beats none: the kubelet replaces the file by renaming, never leaves it missing.
      if (this.#fileToken !== undefined) return this.#fileToken.token;
      throw new KubeConfigError(`cannot read the token file ${path}: ${(err as Error).message}`);
    }
    this.#fileToken = { token, readAt: now };
    return token;
  }

  async #execCredential(exec: ExecConfig): Promise<ExecCredential> {
    const cached = this.#exec?.credential;
    if (cached !== undefined && (cached.expiresAt === undefined || this.#clock.now() < cached.expiresAt)) {
      return cached;
    }
    this.#execRun ??= (async () => {
      try {
        const credential = parseExecCredential(await this.#runExec(exec, execInfo(exec, this.#config)), exec);
        this.#exec = { credential };
        return credential;
      } finally {
        this.#execRun = undefined;
      }
    })();
    return this.#execRun;
  }
}

/** KUBERNETES_EXEC_INFO: what the plugin is told about this call. */
function execInfo(exec: ExecConfig, config: KubeConfig): string {
  const spec: Record<string, unknown> = { interactive: false };
  if (exec.provideClusterInfo) {
    spec.cluster = {
      server: config.server,
      'certificate-authority-data': config.ca?.toString('base64'),
      'insecure-skip-tls-verify': config.insecureSkipTlsVerify || undefined,
      'tls-server-name': config.tlsServerName,
    };
  }
  return JSON.stringify({ apiVersion: exec.apiVersion, kind: 'ExecCredential', spec });
}

/** Checks and reads the plugin's output (an ExecCredential of the version it was asked for). */
export function parseExecCredential(stdout: string, exec: ExecConfig): ExecCredential {
  const what = `exec credential plugin "${exec.command}"`;
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new KubeConfigError(`${what} did not print JSON: ${stdout.slice(0, 200)}`);
  }
  const cred = doc as {
    apiVersion?: unknown;
    kind?: unknown;
    status?: {
      token?: unknown;
      clientCertificateData?: unknown;
      clientKeyData?: unknown;
      expirationTimestamp?: unknown;
    };
  };
  if (cred.kind !== 'ExecCredential' || cred.apiVersion !== exec.apiVersion) {
    throw new KubeConfigError(
      `${what} printed ${String(cred.apiVersion)} ${String(cred.kind)}; expected ${exec.apiVersion} ExecCredential`,
    );
  }
  const status = cred.status ?? {};
  const token = typeof status.token === 'string' && status.token !== '' ? status.token : undefined;
  const certData = typeof status.clientCertificateData === 'string' ? status.clientCertificateData : '';
  const keyData = typeof status.clientKeyData === 'string' ? status.clientKeyData : '';
  if (Boolean(certData) !== Boolean(keyData)) {
    throw new KubeConfigError(`${what} gave clientCertificateData or clientKeyData without the other`);
  }
  if (token === undefined && !certData) {
    throw new KubeConfigError(`${what} gave neither a token nor a client certificate`);
  }
  let expiresAt: number | undefined;
  if (status.expirationTimestamp !== undefined) {
    expiresAt = Date.parse(String(status.expirationTimestamp));
    if (Number.isNaN(expiresAt)) {
      throw new KubeConfigError(
        `${what} gave an expirationTimestamp that is not a time: ${String(status.expirationTimestamp)}`,
      );
    }
  }
  return {
    token,
    clientCert: certData ? { cert: Buffer.from(certData), key: Buffer.from(keyData) } : undefined,
    expiresAt,
  };
}

/** Runs the plugin as client-go does: its env on top of ours, KUBERNETES_EXEC_INFO, no stdin. */
function runExecPlugin(exec: ExecConfig, info: string): Promise<string> {
  const command = exec.command.includes('/') ? resolve(exec.baseDir, exec.command) : exec.command;
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      [...exec.args],
      {
        env: { ...process.env, ...exec.env, KUBERNETES_EXEC_INFO: info },
        timeout: EXEC_TIMEOUT_MS,
        maxBuffer: 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          const said = String(stderr).trim().slice(0, 500);
          reject(
            new KubeConfigError(
              `exec credential plugin "${exec.command}" failed: ${err.message}${said ? `: ${said}` : ''}`,
            ),
          );
        } else {
          resolvePromise(String(stdout));
        }
      },
    );
  });
}
