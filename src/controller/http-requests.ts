/**
 * One HTTP exchange with one controller address, for ./http-link.ts: a JSON POST, or the NDJSON
 * image stream (opened, then read to its end). Each answer other than 200 is an error: 503 `{notController: true}` a
 * NotControllerError (try the next address), anything else an HttpStatusError (a fault). A
 * connection not made within the connect timeout fails, so an address that drops packets (a pod on
 * a dead node) costs a round a moment, not a whole request timeout.
 */
import http from 'node:http';
import type { HostPort } from '../broker/host-port.ts';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { NODE_ID_HEADER, type WireImage } from './api.ts';
import { formatHostPort, HttpStatusError, NotControllerError } from './controller-finder.ts';
import type { NotControllerBody, StreamLine } from './http-wire.ts';

export interface Target {
  at: HostPort;
  token: string;
  /** This broker's node id, sent with every request (NODE_ID_HEADER); null before it is known. */
  nodeId: number | null;
  agent: http.Agent;
  clock: Clock;
  connectTimeoutMs: number;
}

function nodeIdHeader(t: Target): Record<string, string> {
  return t.nodeId === null ? {} : { [NODE_ID_HEADER]: String(t.nodeId) };
}

export function postJson<T>(t: Target, path: string, body: unknown, timeoutMs: number): Promise<T> {
  const payload = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const timer = t.clock.setTimeout(
      () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const req = http.request(
      {
        host: t.at.host,
        port: t.at.port,
        method: 'POST',
        path,
        agent: t.agent,
        headers: {
          authorization: `Bearer ${t.token}`,
          ...nodeIdHeader(t),
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('error', reject);
        res.on('end', () => {
          t.clock.clearTimeout(timer);
          if (res.statusCode !== 200) return reject(statusError(t.at, res.statusCode ?? 0, text));
          try {
            resolve(JSON.parse(text) as T);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    limitConnect(req, t);
    req.on('error', (err) => {
      t.clock.clearTimeout(timer);
      reject(err);
    });
    req.end(payload);
  });
}

/**
 * Sends a GET for a long-lived response: `onRequest` gets the request at once (so it can be
 * destroyed while connecting); the promise resolves once the answer is a 200.
 */
export function openStream(
  t: Target,
  path: string,
  onRequest: (req: http.ClientRequest) => void,
): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: t.at.host,
      port: t.at.port,
      path,
      headers: { authorization: `Bearer ${t.token}`, ...nodeIdHeader(t), accept: 'application/x-ndjson' },
      agent: t.agent,
    });
    onRequest(req);
    limitConnect(req, t);
    req.on('error', reject);
    req.on('close', () => reject(new Error('the image stream closed before its answer')));
    req.on('response', (res) => {
      if (res.statusCode === 200) return resolve({ req, res });
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('error', reject);
      res.on('end', () => reject(statusError(t.at, res.statusCode ?? 0, body)));
    });
  });
}

/**
 * How a stream ended: of itself or by a fault (`delivered`: whether it carried an image first), or
 * refused, the broker to register again.
 */
export type StreamOutcome =
  { kind: 'ended' | 'failed'; err?: unknown; delivered: boolean } | { kind: 'refused'; reason: string };

/**
 * Reads an opened image stream line by line until it ends, handing each image to `onImage`; never
 * rejects. A stream silent for `idleTimeoutMs` (not even a keep-alive) is taken for dead.
 */
export function readStream(
  req: http.ClientRequest,
  res: http.IncomingMessage,
  o: { clock: Clock; idleTimeoutMs: number; onImage: (image: WireImage) => void },
): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    let delivered = false;
    let settled = false;
    let idle: TimerHandle | null = null;
    const finish = (r: StreamOutcome): void => {
      if (settled) return;
      settled = true;
      if (idle) o.clock.clearTimeout(idle);
      req.destroy();
      resolve(r);
    };
    const touch = (): void => {
      if (idle) o.clock.clearTimeout(idle);
      idle = o.clock.setTimeout(
        () => finish({ kind: 'failed', err: new Error('the image stream went silent'), delivered }),
        o.idleTimeoutMs,
      );
    };
    touch();
    req.on('error', (err) => finish({ kind: 'failed', err, delivered }));
    req.on('close', () => finish({ kind: 'ended', delivered }));
    // Destroyed (the link closed) before these listeners were on: its close may have gone by.
    if (req.destroyed) return finish({ kind: 'ended', delivered });
    res.setEncoding('utf8');
    let buffered = '';
    res.on('data', (chunk: string) => {
      touch();
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let line: StreamLine;
        try {
          line = JSON.parse(text) as StreamLine;
        } catch (err) {
          return finish({ kind: 'failed', err, delivered });
        }
        if (line.type === 'refused') {
          // A controller shutting down: the next round finds the one that takes over.
          if (line.errorCode === ErrorCode.NOT_CONTROLLER) return finish({ kind: 'ended', delivered });
          return finish({ kind: 'refused', reason: line.errorMessage });
        }
        if (line.type === 'image') {
          delivered = true;
          o.onImage(line.image);
        }
      }
    });
    res.on('error', (err) => finish({ kind: 'failed', err, delivered }));
    res.on('end', () => finish({ kind: 'ended', delivered }));
  });
}

function statusError(at: HostPort, status: number, body: string): Error {
  if (status !== 503) return new HttpStatusError(status, body);
  let reason = body.slice(0, 200);
  try {
    const parsed = JSON.parse(body) as Partial<NotControllerBody>;
    if (typeof parsed.message === 'string') reason = parsed.message;
  } catch {
    // Not our body (a proxy's page, say): still no controller there.
  }
  return new NotControllerError(formatHostPort(at), reason);
}

function limitConnect(req: http.ClientRequest, t: Target): void {
  req.once('socket', (socket) => {
    if (!socket.connecting) return;
    const timer = t.clock.setTimeout(
      () => req.destroy(new Error(`could not connect within ${t.connectTimeoutMs} ms`)),
      t.connectTimeoutMs,
    );
    const done = (): void => t.clock.clearTimeout(timer);
    socket.once('connect', done);
    req.once('close', done);
  });
}
