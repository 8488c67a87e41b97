/**
 * The kubelet stand-in's own small API access: JSON requests as the control plane's admin, and a
 * list-then-watch loop that keeps a map of objects current. Deliberately independent of the
 * operator's client (src/operator/runtime), so the tier that tests the operator does not rest on it.
 */
import { request } from 'node:https';

export interface ApiAccess {
  /** `https://127.0.0.1:<port>` */
  server: string;
  caCert: string;
  token: string;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: string;
  json: T | undefined;
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export class Api {
  readonly #access: ApiAccess;

  constructor(access: ApiAccess) {
    this.#access = access;
  }

  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.#access.server),
        {
          method,
          ca: this.#access.caCert,
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${this.#access.token}`,
            ...(payload === undefined
              ? {}
              : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
          },
          timeout: 10_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let json: T | undefined;
            try {
              json = JSON.parse(text) as T;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The parsed answer; throws on any status ≥ 300 except those in `allow` (then undefined). */
  async must<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { contentType?: string; allow?: number[] } = {},
  ): Promise<T | undefined> {
    const r = await this.request<T>(method, path, body, options.contentType);
    if (options.allow?.includes(r.status)) return undefined;
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body.slice(0, 500)}`);
    return r.json;
  }

  /**
   * Lists `path` (a collection) and watches it from the list's resourceVersion, calling `onChange`
   * with every object added or modified and `onDelete` with every object gone (also those that
   * vanished between a watch's end and the next list). Starts again from a list whenever a watch
   * ends or fails (a 410 included). Resolves once the first list has been delivered; `signal` stops it.
   */
  async informer<T extends KubeObject>(
    path: string,
    handlers: { onChange(obj: T): void; onDelete(obj: T): void },
    signal: AbortSignal,
  ): Promise<void> {
    const known = new Map<string, T>();
    const keyOf = (o: T): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const list = async (): Promise<string> => {
      const r = await this.must<{ items: T[]; metadata: { resourceVersion: string } }>('GET', path);
      const seen = new Set<string>();
      for (const item of r!.items) {
        seen.add(keyOf(item));
        known.set(keyOf(item), item);
        handlers.onChange(item);
      }
      for (const [key, old] of known) {
        if (seen.has(key)) continue;
        known.delete(key);
        handlers.onDelete(old);
      }
      return r!.metadata.resourceVersion;
    };
    const loop = async (firstVersion: string): Promise<void> => {
      let version = firstVersion;
      while (!signal.aborted) {
        try {
          await this.#watch(path, version, signal, (type, obj: T) => {
            version = obj.metadata?.resourceVersion ?? version;
            if (type === 'BOOKMARK') return;
            if (type === 'DELETED') {
              known.delete(keyOf(obj));
              handlers.onDelete(obj);
            } else {
              known.set(keyOf(obj), obj);
              handlers.onChange(obj);
            }
          });
        } catch {
          // A failed or expired watch: start over from a list below.
        }
        if (signal.aborted) return;
        await new Promise((r) => setTimeout(r, 200));
        try {
          version = await list();
        } catch {
          // The API server may be restarting: try again on the next round.
        }
      }
    };
    const version = await list();
    void loop(version);
  }

  /** One watch; resolves when the server ends it, rejects on an error event or a failed request. */
  #watch<T>(
    path: string,
    version: string,
    signal: AbortSignal,
    onEvent: (type: string, obj: T) => void,
  ): Promise<void> {
    const url = new URL(path, this.#access.server);
    url.searchParams.set('watch', '1');
    url.searchParams.set('resourceVersion', version);
    url.searchParams.set('allowWatchBookmarks', 'true');
    url.searchParams.set('timeoutSeconds', '300');
    return new Promise((resolve, reject) => {
      const req = request(url, {
        ca: this.#access.caCert,
        headers: { accept: 'application/json', authorization: `Bearer ${this.#access.token}` },
        signal,
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`watch ${path}: ${res.statusCode}`));
          return;
        }
        let partial = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          partial += chunk;
          let nl: number;
          while ((nl = partial.indexOf('\n')) >= 0) {
            const line = partial.slice(0, nl);
            partial = partial.slice(nl + 1);
            if (!line.trim()) continue;
            const event = JSON.parse(line) as { type: string; object: T };
            if (event.type === 'ERROR') {
              req.destroy();
              reject(new Error(`watch ${path}: ${JSON.stringify(event.object)}`));
              return;
            }
            onEvent(event.type, event.object);
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
}
