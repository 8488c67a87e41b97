import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeApiError } from '../../../../src/operator/runtime/api-errors.ts';
import {
  KubeClient,
  type KubeClientOptions,
  type RawWatchEvent,
} from '../../../../src/operator/runtime/client.ts';
import { parseKubeConfig } from '../../../../src/operator/runtime/kubeconfig.ts';

/** One request as the test API server saw it; `res` is still open for the test to answer. */
interface Call {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly res: ServerResponse;
  /** The client's end of the connection, so tests can tell kept-alive connections apart. */
  readonly remotePort: number | undefined;
  /** Resolves when the response is closed: answered, or the client went away. */
  readonly closed: Promise<void>;
}

let server: Server;
let port: number;
let calls: Call[];
/** How the server answers each call; set by each test. */
let answer: (call: Call) => void;
let client: KubeClient | undefined;
let dir: string;

beforeEach(async () => {
  calls = [];
  answer = () => {};
  client = undefined;
  dir = mkdtempSync(join(tmpdir(), 'trib-client-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const closed = new Promise<void>((resolve) => res.on('close', resolve));
      const call = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        res,
        remotePort: req.socket.remotePort,
        closed,
      };
      calls.push(call);
      answer(call);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  client?.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** A client of the test server, as the kubeconfig user `user` (a kubeconfig's `user` mapping). */
function connect(user: object = { token: 'static' }, options: KubeClientOptions = {}): KubeClient {
  const kubeconfig = {
    'current-context': 'test',
    // Plain HTTP is allowed only with insecure-skip-tls-verify (client-node's rule).
    clusters: [
      { name: 'c', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
    ],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'test', context: { cluster: 'c', user: 'u' } }],
  };
  client = new KubeClient(parseKubeConfig(JSON.stringify(kubeconfig), join(dir, 'config')), options);
  return client;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const status = (code: number, reason: string, message: string) => ({
  apiVersion: 'v1',
  kind: 'Status',
  status: 'Failure',
  code,
  reason,
  message,
});

describe('kube client > request', () => {
  it('sends the method, path, query, body and credentials, and parses the JSON answer', async () => {
    answer = (call) => json(call.res, 201, { metadata: { name: 'made' } });
    const got = await connect().request<{ metadata: { name: string } }>({
      method: 'POST',
      path: '/api/v1/namespaces/kafka/configmaps',
      query: { fieldManager: 'tributary', dryRun: undefined, limit: 5, pretty: false },
      body: { data: { greeting: 'grüße' } },
    });
    expect(got).toEqual({ metadata: { name: 'made' } });
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call.method).toBe('POST');
    expect(call.url).toBe('/api/v1/namespaces/kafka/configmaps?fieldManager=tributary&limit=5&pretty=false');
    expect(call.headers).toMatchObject({
      accept: 'application/json',
      authorization: 'Bearer static',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(call.body)),
    });
    expect(JSON.parse(call.body)).toEqual({ data: { greeting: 'grüße' } });
  });

  it('sends the content type a patch names, and no body or content type for a GET', async () => {
    answer = (call) => json(call.res, 200, {});
    const c = connect();
    await c.request({
      method: 'PATCH',
      path: '/api/v1/namespaces/kafka/configmaps/a',
      body: { apiVersion: 'v1' },
      contentType: 'application/apply-patch+yaml',
    });
    await c.request({ method: 'GET', path: '/api/v1/namespaces/kafka/configmaps/a' });
    expect(calls[0].headers['content-type']).toBe('application/apply-patch+yaml');
    expect(calls[1].headers['content-type']).toBeUndefined();
    expect(calls[1].body).toBe('');
  });

  it('sends a user name and password as basic auth', async () => {
    answer = (call) => json(call.res, 200, {});
    await connect({ username: 'admin', password: 'p:ss' }).request({ method: 'GET', path: '/api' });
    expect(calls[0].headers.authorization).toBe(`Basic ${Buffer.from('admin:p:ss').toString('base64')}`);
  });

  it('keeps the connection alive for the next request', async () => {
    answer = (call) => json(call.res, 200, {});
    const c = connect();
    await c.request({ method: 'GET', path: '/api' });
    await c.request({ method: 'GET', path: '/api' });
    await Promise.all([c.request({ method: 'GET', path: '/a' }), c.request({ method: 'GET', path: '/b' })]);
    expect(calls[1].remotePort).toBe(calls[0].remotePort);
    // Two at once need two connections; the first is reused for one of them.
    expect(new Set(calls.map((call) => call.remotePort)).size).toBe(2);
  });

  it('resolves with undefined for an empty answer', async () => {
    answer = (call) => call.res.writeHead(200).end();
    expect(await connect().request({ method: 'DELETE', path: '/api/v1/namespaces/kafka' })).toBeUndefined();
  });

  it('rejects a non-2xx answer with a KubeApiError carrying the Status', async () => {
    answer = (call) => json(call.res, 409, status(409, 'AlreadyExists', 'configmaps "a" already exists'));
    const err = await connect()
      .request({ method: 'POST', path: '/api/v1/namespaces/kafka/configmaps', body: {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({
      status: 409,
      reason: 'AlreadyExists',
      method: 'POST',
      path: '/api/v1/namespaces/kafka/configmaps',
      message: 'POST /api/v1/namespaces/kafka/configmaps failed with HTTP 409: configmaps "a" already exists',
    });
    expect((err as KubeApiError).body?.code).toBe(409);
  });

  it('rejects a non-2xx answer that is not JSON with its text', async () => {
    answer = (call) => call.res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream went away');
    const err = await connect()
      .request({ method: 'GET', path: '/version' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ status: 502, reason: '', body: undefined });
    expect((err as Error).message).toBe('GET /version failed with HTTP 502: upstream went away');
  });

  it('after a 401, re-reads a token file and retries once', async () => {
    const tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, 'old');
    answer = (call) => {
      if (call.headers.authorization === 'Bearer old') {
        // The kubelet rotated the token just as the server stopped taking the old one.
        writeFileSync(tokenPath, 'new');
        json(call.res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      } else {
        json(call.res, 200, { ok: true });
      }
    };
    // Well within the minute a token file is kept for: the new token is read because of the 401.
    const c = connect({ tokenFile: tokenPath });
    expect(await c.request({ method: 'GET', path: '/api' })).toEqual({ ok: true });
    expect(calls.map((call) => call.headers.authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('retries a 401 only once', async () => {
    const tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, 'refused');
    answer = (call) => json(call.res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const c = connect({ tokenFile: tokenPath });
    await expect(c.request({ method: 'GET', path: '/api' })).rejects.toMatchObject({ status: 401 });
    expect(calls).toHaveLength(2);
  });

  it('does not retry a 401 with a static token', async () => {
    answer = (call) => json(call.res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const err = await connect()
      .request({ method: 'GET', path: '/api' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ status: 401, reason: 'Unauthorized' });
    expect(calls).toHaveLength(1);
  });

  it('gives up on a server that does not answer, and closes the connection', async () => {
    answer = () => {};
    const err = await connect()
      .request({ method: 'GET', path: '/api', timeoutMs: 50 })
      .catch((e: unknown) => e);
    // Node's AbortError comes from another realm than the test's Error: check its name.
    expect((err as Error).name).toBe('AbortError');
    await calls[0].closed;
  });

  it('gives up when the caller aborts', async () => {
    const abort = new AbortController();
    answer = () => abort.abort();
    await expect(connect().request({ method: 'GET', path: '/api', signal: abort.signal })).rejects.toThrow(
      expect.objectContaining({ name: 'AbortError' }),
    );
  });
});

describe('kube client > watch', () => {
  /** What a watch reported, and promises for the next thing it reports. */
  function recorder() {
    const events: RawWatchEvent[] = [];
    const order: string[] = [];
    const closed = Promise.withResolvers<unknown>();
    let eventWaiter: { count: number; resolve: () => void } | undefined;
    return {
      events,
      order,
      closed: closed.promise,
      onEvent: (event: RawWatchEvent): void => {
        events.push(event);
        if (eventWaiter !== undefined && events.length >= eventWaiter.count) eventWaiter.resolve();
      },
      onClose: (err?: unknown): void => {
        order.push('closed');
        closed.resolve(err);
      },
      /** Resolves once `count` events have arrived. */
      eventsReceived: (count: number): Promise<void> =>
        events.length >= count
          ? Promise.resolve()
          : new Promise((resolve) => (eventWaiter = { count, resolve })),
    };
  }

  /** The server answers a watch with 200 and its headers, then leaves the stream to the test. */
  function streamWatches(): Promise<Call> {
    const opened = Promise.withResolvers<Call>();
    answer = (call) => {
      call.res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      call.res.flushHeaders();
      opened.resolve(call);
    };
    return opened.promise;
  }

  const event = (type: string, name: string) => ({
    type,
    object: { metadata: { name, resourceVersion: '8' } },
  });
  const line = (e: object): string => `${JSON.stringify(e)}\n`;

  it('delivers events in order, whether split across chunks or several in one', async () => {
    const opened = streamWatches();
    const r = recorder();
    await connect().watch(
      '/api/v1/configmaps',
      { resourceVersion: '7', labelSelector: undefined },
      r.onEvent,
      r.onClose,
    );
    const call = await opened;
    expect(call.url).toBe('/api/v1/configmaps?resourceVersion=7&watch=true');
    expect(call.headers.authorization).toBe('Bearer static');

    const a = event('ADDED', 'a');
    const b = event('MODIFIED', 'grüße'); // a multi-byte character, split below between its bytes
    const c = event('DELETED', 'c');
    const d = event('BOOKMARK', 'd');
    const first = Buffer.from(line(a) + line(b));
    const cut = Buffer.byteLength(line(a)) + Buffer.from(line(b)).indexOf('ü') + 1;
    call.res.write(first.subarray(0, cut));
    await r.eventsReceived(1);
    expect(r.events).toEqual([a]);

    call.res.write(Buffer.concat([first.subarray(cut), Buffer.from(`${line(c)}\n${line(d)}`)]));
    await r.eventsReceived(4);
    expect(r.events).toEqual([a, b, c, d]);
    call.res.end();
    expect(await r.closed).toBeUndefined();
  });

  it('reports a clean end of the stream with no error', async () => {
    const opened = streamWatches();
    const r = recorder();
    await connect().watch('/api/v1/configmaps', {}, r.onEvent, r.onClose);
    (await opened).res.end(line(event('ADDED', 'a')));
    expect(await r.closed).toBeUndefined();
    expect(r.events).toEqual([event('ADDED', 'a')]);
  });

  it('reports a stream that ends mid-line', async () => {
    const opened = streamWatches();
    const r = recorder();
    await connect().watch('/api/v1/configmaps', {}, r.onEvent, r.onClose);
    (await opened).res.end('{"type":"ADD');
    expect(await r.closed).toEqual(new Error('watch /api/v1/configmaps ended mid-line'));
  });

  it('reports a refusal (410) as a KubeApiError, after watch() has resolved', async () => {
    answer = (call) => json(call.res, 410, status(410, 'Expired', 'too old resource version: 7 (100)'));
    const r = recorder();
    await connect().watch('/api/v1/configmaps', { resourceVersion: '7' }, r.onEvent, r.onClose);
    r.order.push('resolved');
    const err = await r.closed;
    expect(r.order).toEqual(['resolved', 'closed']);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ status: 410, reason: 'Expired', method: 'GET', path: '/api/v1/configmaps' });
  });

  it('reports a line that is not JSON, delivering nothing after it, and closes the connection', async () => {
    const opened = streamWatches();
    const r = recorder();
    await connect().watch('/api/v1/configmaps', {}, r.onEvent, r.onClose);
    const call = await opened;
    call.res.write(`${line(event('ADDED', 'a'))}<html>proxy error</html>\n${line(event('ADDED', 'b'))}`);
    const err = await r.closed;
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'watch /api/v1/configmaps sent a line that is not JSON: <html>proxy error</html>',
    );
    expect(r.events).toEqual([event('ADDED', 'a')]);
    await call.closed;
  });

  it('closes a watch that receives nothing for the idle timeout, with an error', async () => {
    const opened = streamWatches();
    const r = recorder();
    await connect(undefined, { watchIdleTimeoutMs: 50 }).watch(
      '/api/v1/configmaps',
      {},
      r.onEvent,
      r.onClose,
    );
    const call = await opened;
    const err = await r.closed;
    expect(err).toEqual(new Error('watch /api/v1/configmaps received nothing for 50 ms'));
    await call.closed;
  });

  it('rejects a watch whose server never answers, after the idle timeout', async () => {
    answer = () => {};
    const r = recorder();
    const err = await connect(undefined, { watchIdleTimeoutMs: 50 })
      .watch('/api/v1/configmaps', {}, r.onEvent, r.onClose)
      .catch((e: unknown) => e);
    expect(err).toEqual(new Error('watch /api/v1/configmaps got no answer in 50 ms'));
    await calls[0].closed;
    expect(r.order).toEqual([]);
  });

  it('rejects a watch whose server cannot be reached', async () => {
    const c = connect();
    server.close();
    const r = recorder();
    await expect(c.watch('/api/v1/configmaps', {}, r.onEvent, r.onClose)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(r.order).toEqual([]);
  });

  it('stop() closes the connection and reports nothing', async () => {
    const opened = streamWatches();
    const r = recorder();
    const watch = await connect(undefined, { watchIdleTimeoutMs: 50 }).watch(
      '/api/v1/configmaps',
      {},
      r.onEvent,
      r.onClose,
    );
    const call = await opened;
    call.res.write(line(event('ADDED', 'a')));
    await r.eventsReceived(1);
    watch.stop();
    await call.closed;
    // The client reports a torn connection right after its own abort, long before the server sees
    // the close; and a timer set now falls due after the idle timer armed by the event, so were that
    // timer left running it would have fired by the time this one does.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.order).toEqual([]);
    expect(r.events).toEqual([event('ADDED', 'a')]);
  });
});
