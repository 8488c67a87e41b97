/**
 * A {@link KubeConfig}'s credentials as each request sends them, from @kubernetes/client-node: its
 * authenticators run exec plugins (keeping a credential until its `expirationTimestamp`), re-read
 * token files once a minute (projected service-account tokens rotate), and read CA and client
 * certificate files afresh (so a rotated certificate is picked up). What this adds around them:
 *
 * - one call at a time: concurrent requests share one, so an exec plugin runs once for all of them;
 * - {@link Credentials.invalidate} after a 401: client-node has no way to forget a credential it
 *   cached, so a fresh copy of its configuration is made, whose authenticators start empty;
 * - impersonation headers client-node does not send (groups, uid, extra), and trimmed header values
 *   (client-node keeps a token file's trailing newline, which Node refuses in a header).
 */

import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestOptions } from 'node:https';
import { KubeConfig as ClientNodeConfig } from '@kubernetes/client-node';
import { KubeConfigError, type KubeConfig } from './kubeconfig.ts';

/** What a connection is made with; a change of any of it needs a new connection pool. */
export interface TlsSettings {
  readonly ca?: RequestOptions['ca'];
  readonly cert?: RequestOptions['cert'];
  readonly key?: RequestOptions['key'];
  readonly rejectUnauthorized?: boolean;
  readonly servername?: string;
}

export interface RequestCredentials {
  /** Authorization and Impersonate-* headers, lower-case. */
  readonly headers: OutgoingHttpHeaders;
  /** `user:password` for basic auth, as Node's request option `auth`. */
  readonly auth?: string;
  readonly tls: TlsSettings;
}

export class Credentials {
  readonly #config: KubeConfig;
  #kc: ClientNodeConfig;
  #pending: Promise<RequestCredentials> | undefined;

  constructor(config: KubeConfig) {
    this.#config = config;
    this.#kc = config.kc;
  }

  /** True when a 401 may be cured by fetching credentials again (a rotated token file, an expired plugin token). */
  get refreshable(): boolean {
    const user = this.#kc.getCurrentUser();
    return Boolean(user?.exec || user?.authProvider);
  }

  /** Headers and TLS settings for the next request. */
  forRequest(): Promise<RequestCredentials> {
    if (this.#pending === undefined) {
      const pending: Promise<RequestCredentials> = this.#apply(this.#kc).finally(() => {
        if (this.#pending === pending) this.#pending = undefined;
      });
      this.#pending = pending;
    }
    return this.#pending;
  }

  /** Forgets cached credentials after the server refused them. */
  invalidate(): void {
    const kc = new ClientNodeConfig();
    kc.loadFromOptions({
      clusters: this.#kc.getClusters(),
      users: this.#kc.getUsers(),
      contexts: this.#kc.getContexts(),
      currentContext: this.#kc.getCurrentContext(),
    });
    this.#kc = kc;
    this.#pending = undefined; // a call in flight may still carry the refused credential
  }

  async #apply(kc: ClientNodeConfig): Promise<RequestCredentials> {
    const opts: RequestOptions = {};
    try {
      await kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeConfigError(this.#failure(err));
    }
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = typeof value === 'string' ? value.trim() : value;
    }
    const imp = this.#config.impersonate;
    if (imp !== undefined) {
      if (imp.groups.length > 0) headers['impersonate-group'] = [...imp.groups];
      if (imp.uid) headers['impersonate-uid'] = imp.uid;
      for (const [key, values] of Object.entries(imp.extra)) {
        // Header names are case-insensitive and limited in what they may hold: the key is
        // percent-encoded, as the API server expects.
        if (values.length > 0) headers[`impersonate-extra-${encodeURIComponent(key)}`] = [...values];
      }
    }
    return {
      headers,
      auth: typeof opts.auth === 'string' ? opts.auth : undefined,
      tls: {
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        rejectUnauthorized: opts.rejectUnauthorized,
        servername: opts.servername,
      },
    };
  }

  #failure(err: unknown): string {
    const said = err instanceof Error ? err.message.trim() : String(err);
    const user = this.#kc.getCurrentUser();
    const command = (user?.exec as { command?: unknown } | undefined)?.command;
    if (typeof command === 'string') {
      return `exec credential plugin "${command}" failed${said ? `: ${said.slice(0, 500)}` : ''}`;
    }
    return `cannot get the credentials of user "${user?.name ?? ''}" (${this.#config.source}): ${said}`;
  }
}

/** Whether two sets of TLS settings would make the same connections. */
export function sameTls(a: TlsSettings, b: TlsSettings): boolean {
  return (
    a.rejectUnauthorized === b.rejectUnauthorized &&
    a.servername === b.servername &&
    sameBytes(a.ca, b.ca) &&
    sameBytes(a.cert, b.cert) &&
    sameBytes(a.key, b.key)
  );
}

type Pem = RequestOptions['ca'] | RequestOptions['key'];

function sameBytes(a: Pem, b: Pem): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return bytes(a).equals(bytes(b));
}

function bytes(v: NonNullable<Pem>): Buffer {
  if (typeof v === 'string') return Buffer.from(v);
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) {
    return Buffer.concat(
      v.map((x) => (typeof x === 'string' ? Buffer.from(x) : Buffer.isBuffer(x) ? x : Buffer.from(x.pem))),
    );
  }
  return Buffer.from(v as Uint8Array);
}
