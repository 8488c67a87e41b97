/**
 * The connection to the API server: where the KubeConfig comes from, and JSON requests and watches
 * made with it.
 *
 * Requests go through client-node's own HTTP layer (its `RequestContext`, authenticated by the
 * KubeConfig, which also rotates in-cluster tokens and runs exec plugins) but send and return plain
 * JSON, as `kubernetes-types` describes it. The generated typed APIs turn timestamps into `Date`
 * objects and drop fields they do not know, which breaks server-side apply of our own objects and
 * of custom resources; one generic path serves every kind alike.
 */

import {
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  Watch,
  type HttpMethod,
} from '@kubernetes/client-node';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { KubeApiError } from './api-errors.ts';

export interface KubeConfigSource {
  /** A kubeconfig file; its current context unless `context` names another. */
  readonly kubeconfigPath?: string;
  readonly context?: string;
  /** The pod's service account (KUBERNETES_SERVICE_HOST, the mounted token and CA). */
  readonly inCluster?: boolean;
}

/**
 * Loads a KubeConfig from a file or from the pod's service account; with neither given, the way
 * kubectl does ($KUBECONFIG, ~/.kube/config, then in-cluster).
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const kc = new KubeConfig();
  if (source.kubeconfigPath !== undefined) kc.loadFromFile(source.kubeconfigPath);
  else if (source.inCluster) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (source.context !== undefined) kc.setCurrentContext(source.context);
  if (!kc.getCurrentCluster()) throw new TypeError('the kubeconfig names no current cluster');
  return kc;
}

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
}

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();
  readonly #watch: Watch;
  readonly #server: string;
  readonly #requestTimeoutMs: number;
  #dispatcher: ReturnType<RequestContext['getDispatcher']>;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new TypeError('the kubeconfig names no current cluster');
    this.kubeConfig = kubeConfig;
    this.#server = cluster.server.replace(/\/+$/, '');
    this.#watch = new Watch(kubeConfig);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /**
   * Sends one request; resolves with the parsed JSON body (undefined when empty), or rejects with a
   * {@link KubeApiError} for any status outside 2xx. Transport failures (refused, reset, timed out)
   * reject with the HTTP layer's own error.
   */
  async request<T>(req: KubeRequest): Promise<T> {
    const url = new URL(this.#server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), req.method);
    ctx.setHeaderParam('Accept', 'application/json');
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(req.body));
    }
    const timeout = AbortSignal.timeout(req.timeoutMs ?? this.#requestTimeoutMs);
    ctx.setSignal(req.signal ? AbortSignal.any([req.signal, timeout]) : timeout);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    // client-node builds a new undici Agent (a connection pool with its own TLS context) on every
    // call, so each request would open, handshake and leave behind a connection of its own: slow,
    // and under load thousands of idle TLS sockets. The TLS settings do not change for a client
    // (headers, such as a rotated token, are still applied per request): keep the first pool.
    const dispatcher = ctx.getDispatcher();
    if (dispatcher !== undefined) {
      this.#dispatcher ??= dispatcher;
      ctx.setDispatcher(this.#dispatcher);
    }

    const res = await this.#http.send(ctx).toPromise();
    const text = await res.body.text();
    const json = parseJson(text);
    if (res.httpStatusCode < 200 || res.httpStatusCode > 299) {
      throw new KubeApiError({
        status: res.httpStatusCode,
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
   * nothing if the server closed it cleanly, else with the error (a refused connection, an HTTP
   * error with `statusCode`, or client-node's 30 s inactivity timeout — which is how a watch whose
   * connection died without a FIN is noticed). Call `stop()` to close it; `onClose` is not called then.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (event: RawWatchEvent) => void,
    onClose: (err?: unknown) => void,
  ): Promise<{ stop(): void }> {
    let stopped = false;
    const controller = await this.#watch.watch(
      path,
      { ...query },
      (type: string, object: unknown) => {
        if (!stopped) onEvent({ type, object });
      },
      (err: unknown) => {
        if (stopped) return;
        stopped = true;
        onClose(err ?? undefined);
      },
    );
    return {
      stop: () => {
        stopped = true;
        controller.abort();
      },
    };
  }
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
