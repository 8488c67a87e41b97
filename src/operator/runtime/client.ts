/**
 * The connection to the API server: JSON requests and watches over Node's own HTTP client,
 * authenticated by @kubernetes/client-node as the {@link KubeConfig} says.
 *
 * Requests send and return plain JSON, as `kubernetes-types` describes it; one generic path serves
 * every kind alike, built-in or custom. client-node gives each request its credentials (see
 * credentials.ts); the connections are ours: one keep-alive pool per client (a new one only when the
 * TLS settings change, as when an exec plugin hands out a new client certificate), where client-node
 * would open a new pool for each request, and watches streamed line by line with an idle timeout.
 * A 401 with credentials that can be refreshed (a token file, an exec plugin) refreshes them and
 * retries once. Why: docs/adr/0017.
 */

import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { KubeApiError } from './api-errors.ts';
import { Credentials, sameTls, type TlsSettings } from './credentials.ts';
import type { KubeConfig } from './kubeconfig.ts';

export { loadKubeConfig, type KubeConfig, type KubeConfigSource } from './kubeconfig.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface KubeRequest {
  readonly method: HttpMethod;
  /** Absolute path on the server, e.g. `/api/v1/namespaces/default/configmaps`. */
  readonly path: string;
  readonly query?: Query;
  /** Sent as JSON (valid YAML too, so also the body of an apply patch). */
  readonly body?: unknown;
  /** `application/json` unless given (patches name their own type). */
  readonly contentType?: string;
  /** Aborts the request after this long; the client's default when absent. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** One line of a watch stream. */
export interface RawWatchEvent {
  readonly type: string;
  readonly object: unknown;
}

export interface KubeClientOptions {
  /** Default per-request timeout (30 s): a request to an API server that stopped answering must end. */
  readonly requestTimeoutMs?: number;
  /**
   * A watch that receives nothing for this long (30 s) is closed with an error: how a watch whose
   * connection died without a FIN is noticed. Keep the server-side watch timeout under it.
   */
  readonly watchIdleTimeoutMs?: number;
}

export class KubeClient {
  readonly config: KubeConfig;
  readonly #credentials: Credentials;
  readonly #server: URL;
  readonly #requestTimeoutMs: number;
  readonly #watchIdleTimeoutMs: number;
  #pool: { agent: HttpAgent; tls: TlsSettings } | undefined;

  constructor(config: KubeConfig, options: KubeClientOptions = {}) {
    this.config = config;
    this.#credentials = new Credentials(config);
    this.#server = new URL(config.server);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#watchIdleTimeoutMs = options.watchIdleTimeoutMs ?? 30_000;
  }

  /**
   * Sends one request; resolves with the parsed JSON body (undefined when empty), or rejects with a
   * {@link KubeApiError} for any status outside 2xx. Transport failures (refused, reset, timed out)
   * reject with Node's own error.
   */
  async request<T>(req: KubeRequest): Promise<T> {
    const timeout = AbortSignal.timeout(req.timeoutMs ?? this.#requestTimeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    let res = await this.#send(req.method, req.path, req.query, body, req.contentType, signal);
    if (res.statusCode === 401 && this.#credentials.refreshable) {
      res.resume();
      this.#credentials.invalidate();
      res = await this.#send(req.method, req.path, req.query, body, req.contentType, signal);
    }
    const text = await readBody(res);
    const status = res.statusCode ?? 0;
    const json = parseJson(text);
    if (status < 200 || status > 299) {
      throw new KubeApiError({
        status,
        method: req.method,
        path: req.path,
        body: isStatus(json) ? json : undefined,
        text,
      });
    }
    return json as T;
  }

  /**
   * Opens a watch. `onEvent` gets each event; `onClose` is called once when the stream ends: with
   * nothing if the server closed it cleanly, else with the error (a {@link KubeApiError} for a
   * refusal such as 410, a torn connection, or the idle timeout). A connection that cannot be made,
   * or a server that sends no answer within the idle timeout, rejects the returned promise instead.
   * Call `stop()` to close it; `onClose` is not called then.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (event: RawWatchEvent) => void,
    onClose: (err?: unknown) => void,
  ): Promise<{ stop(): void }> {
    const abort = new AbortController();
    let closed = false;
    let idle: NodeJS.Timeout | undefined;
    const close = (err?: unknown): void => {
      if (closed) return;
      closed = true;
      clearTimeout(idle);
      abort.abort();
      onClose(err);
    };
    const stop = {
      stop: (): void => {
        closed = true;
        clearTimeout(idle);
        abort.abort();
      },
    };

    // The idle timeout also covers the wait for the response and a refusal's body: a dead
    // connection may never answer. It starts once the request is sent, so a slow exec plugin
    // fetching credentials does not count against it.
    let noAnswer: NodeJS.Timeout | undefined;
    const sent = (): void => {
      noAnswer = setTimeout(
        () => abort.abort(new Error(`watch ${path} got no answer in ${this.#watchIdleTimeoutMs} ms`)),
        this.#watchIdleTimeoutMs,
      );
    };
    let res: IncomingMessage;
    try {
      res = await this.#send(
        'GET',
        path,
        { ...query, watch: true },
        undefined,
        undefined,
        abort.signal,
        sent,
      );
    } catch (err) {
      clearTimeout(noAnswer);
      throw abort.signal.aborted ? abort.signal.reason : err;
    }
    if (res.statusCode === 401) this.#credentials.invalidate();
    if (res.statusCode !== 200) {
      const text = await readBody(res).catch(() => '');
      clearTimeout(noAnswer);
      const json = parseJson(text);
      const err = new KubeApiError({
        status: res.statusCode ?? 0,
        method: 'GET',
        path,
        body: isStatus(json) ? json : undefined,
        text,
      });
      // After the caller has the stopper, as a watch that fails later would be reported.
      setImmediate(() => close(err));
      return stop;
    }
    clearTimeout(noAnswer);

    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(
        () => close(new Error(`watch ${path} received nothing for ${this.#watchIdleTimeoutMs} ms`)),
        this.#watchIdleTimeoutMs,
      );
    };
    armIdle();
    let pending = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (closed) return;
      armIdle();
      pending += chunk;
      let newline: number;
      while (!closed && (newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line === '') continue;
        let event: RawWatchEvent;
        try {
          event = JSON.parse(line) as RawWatchEvent;
        } catch {
          close(new Error(`watch ${path} sent a line that is not JSON: ${line.slice(0, 200)}`));
          return;
        }
        onEvent(event);
      }
    });
    res.on('end', () => close(pending.trim() === '' ? undefined : new Error(`watch ${path} ended mid-line`)));
    res.on('error', (err) => close(err));
    res.on('close', () => {
      if (!res.complete) close(new Error(`watch ${path} connection closed before the response ended`));
    });
    return stop;
  }

  /** Closes the kept-alive connections. Requests after this open new ones. */
  close(): void {
    this.#pool?.agent.destroy();
    this.#pool = undefined;
  }

  async #send(
    method: HttpMethod,
    path: string,
    query: Query | undefined,
    body: string | undefined,
    contentType: string | undefined,
    signal: AbortSignal,
    /** Called when the request is on its way (credentials fetched, connection pool chosen). */
    onSent?: () => void,
  ): Promise<IncomingMessage> {
    const url = new URL(path, this.#server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const credentials = await this.#credentials.forRequest();
    const headers: OutgoingHttpHeaders = { accept: 'application/json', ...credentials.headers };
    if (body !== undefined) {
      headers['content-type'] = contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const agent = this.#agent(credentials.tls);
    const https = url.protocol === 'https:';
    return new Promise((resolvePromise, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        url,
        { method, headers, auth: credentials.auth, agent, signal },
        resolvePromise,
      );
      req.on('error', reject);
      req.end(body);
      onSent?.();
    });
  }

  /** The connection pool for these TLS settings. */
  #agent(tls: TlsSettings): HttpAgent {
    if (this.#pool !== undefined && sameTls(this.#pool.tls, tls)) return this.#pool.agent;
    const old = this.#pool?.agent;
    const options = { keepAlive: true, scheduling: 'lifo' as const };
    const agent =
      this.#server.protocol === 'https:' ? new HttpsAgent({ ...options, ...tls }) : new HttpAgent(options);
    this.#pool = { agent, tls };
    // Requests and watches on the old pool end by themselves (timeouts); then let its sockets go.
    if (old !== undefined) setTimeout(() => old.destroy(), 2 * 60_000).unref();
    return agent;
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('connection closed before the response ended'));
    });
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isStatus(json: unknown): json is Status {
  return typeof json === 'object' && json !== null && (json as { kind?: unknown }).kind === 'Status';
}
