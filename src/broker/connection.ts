/**
 * One client connection: length-prefixed frames in, responses out strictly in request order.
 *
 * Clients pipeline requests, and handlers finish in any order (a long-polling Fetch behind a quick
 * Metadata), so every request takes a slot in a FIFO and responses leave only from its head. Reading
 * stops while too many request bytes await their responses or the socket cannot take more output,
 * so a fast producer cannot make the broker buffer without bound.
 *
 * What Kafka does with a peer it cannot understand, we do too: an oversized or negative length,
 * a malformed request, an unknown API or an unsupported version (except ApiVersions, which is
 * answered in its v0 layout) closes this connection — and only this one.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../common/logger.ts';
import { encodeResponse, readRequestFrame } from '../protocol/frame.ts';
import { ApiKey, apis } from '../protocol/messages/index.ts';
import { CLOSE_CONNECTION, type HandlerRegistry, NO_RESPONSE, type RequestContext } from './handler.ts';
import { unsupportedVersionResponse } from './handlers/18-api-versions.ts';
import type { ServerMetrics } from './metrics.ts';

export interface ConnectionOptions {
  /** Largest request frame accepted (Kafka's socket.request.max.bytes). */
  maxRequestBytes: number;
  /** Reading pauses while more request bytes than this await their responses. */
  maxInFlightBytes: number;
  /** A connection with nothing in flight and no traffic for this long is closed. */
  idleTimeoutMs: number;
  handlers: HandlerRegistry;
  log: Logger;
  metrics: ServerMetrics;
}

interface Slot {
  done: boolean;
  response: Buffer | null;
  requestBytes: number;
  /** Close the connection once the responses before this one are written (see CLOSE_CONNECTION). */
  closeAfter?: boolean;
}

export type CloseReason =
  | 'client closed'
  | 'idle'
  | 'stalled mid-frame'
  | 'oversized frame'
  | 'malformed request'
  | 'unknown api'
  | 'unsupported version'
  | 'handler failed'
  | 'acks=0 produce failed'
  | 'shutdown'
  | 'shutdown deadline';

/** Reasons that are the client's doing, counted in the rejected-connections metric. */
const CLIENT_FAULTS = new Set<CloseReason>([
  'oversized frame',
  'malformed request',
  'unknown api',
  'unsupported version',
  'stalled mid-frame',
]);

export class Connection {
  readonly #socket: Socket;
  readonly #o: ConnectionOptions;
  readonly #log: Logger;
  readonly #peer: string;
  readonly #abort = new AbortController();
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #slots: Slot[] = [];
  #inFlightBytes = 0;
  #writeBlocked = false;
  #paused = false;
  #closing = false;
  readonly closed: Promise<void>;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#o = options;
    this.#peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#log = options.log.child({ peer: this.#peer });
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs, () => {
      // Part of a frame and then silence is the client's fault (or a slowloris), not idleness.
      if (this.#slots.length === 0) this.close(this.#buffered > 0 ? 'stalled mid-frame' : 'idle');
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#writeBlocked = false;
      this.#updateReading();
    });
    socket.on('error', (err) => this.#log.debug({ err }, 'Connection failed'));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#abort.abort();
        options.metrics.connections.dec();
        resolve();
      });
    });
    options.metrics.connections.inc();
  }

  /** Stops reading and closes once every accepted request has been answered. */
  async drain(): Promise<void> {
    this.#closing = true;
    this.#socket.pause();
    if (this.#slots.length === 0) this.close('shutdown');
    await this.closed;
  }

  close(reason: CloseReason): void {
    if (this.#socket.destroyed) return;
    if (CLIENT_FAULTS.has(reason)) this.#o.metrics.rejected.inc({ reason });
    this.#log.debug({ reason }, 'Closed connection');
    if (reason === 'shutdown' || reason === 'idle' || reason === 'acks=0 produce failed') {
      // FIN after the queued responses, then read on (discarding) until the peer's FIN: a paused
      // socket never sees it, so 'close' would wait for the shutdown deadline.
      this.#closing = true;
      this.#socket.end();
      this.#socket.resume();
    } else this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#o.metrics.bytesIn.inc(chunk.length);
    for (;;) {
      if (this.#socket.destroyed || this.#closing) return;
      const frame = this.#nextFrame();
      if (frame === null) break;
      this.#dispatch(frame);
    }
    this.#updateReading();
  }

  #nextFrame(): Buffer | null {
    if (this.#buffered < 4) return null;
    const size = this.#peekSize();
    if (size < 0 || size > this.#o.maxRequestBytes) {
      this.#log.warn({ size, max: this.#o.maxRequestBytes }, 'Rejected a request frame with an invalid size');
      this.close('oversized frame');
      return null;
    }
    if (this.#buffered < 4 + size) return null;
    return this.#take(4 + size).subarray(4);
  }

  #peekSize(): number {
    const first = this.#chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.allocUnsafe(4);
    let n = 0;
    for (const chunk of this.#chunks) {
      n += chunk.copy(head, n, 0, Math.min(chunk.length, 4 - n));
      if (n === 4) break;
    }
    return head.readInt32BE(0);
  }

  /** Removes the next `n` buffered bytes: a view when they sit in one chunk, else one copy. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.length, n - copied);
      chunk.copy(out, copied, 0, part);
      copied += part;
      if (part === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    return out;
  }

  #dispatch(frame: Buffer): void {
    let parsed;
    try {
      parsed = readRequestFrame(frame);
    } catch (err) {
      this.#log.warn({ err }, 'Rejected a malformed request header');
      this.close('malformed request');
      return;
    }
    const { header, body } = parsed;
    const apiKey = header.requestApiKey;
    const version = header.requestApiVersion;
    const handler = this.#o.handlers.get(apiKey);
    if (!handler) {
      this.#log.warn({ apiKey }, 'Rejected a request for an API this broker does not serve');
      this.close('unknown api');
      return;
    }
    const slot: Slot = { done: false, response: null, requestBytes: frame.length };
    if (version < handler.minVersion || version > handler.maxVersion) {
      if (apiKey !== ApiKey.ApiVersions) {
        this.#log.warn({ apiKey, version }, 'Rejected a request of an unsupported version');
        this.close('unsupported version');
        return;
      }
      const answer = unsupportedVersionResponse(this.#o.handlers);
      this.#enqueue(slot);
      this.#complete(slot, encodeResponse(apiKey, 0, header.correlationId, answer));
      return;
    }
    // A handler exists only for keys the schemas define (frame.ts read the header with them).
    const descriptor = apis.get(apiKey)!;
    let request: unknown;
    try {
      request = descriptor.request.read(body, version);
    } catch (err) {
      this.#log.warn({ err, apiKey, version }, 'Rejected a malformed request');
      this.close('malformed request');
      return;
    }
    this.#enqueue(slot);
    const api = descriptor.name;
    const started = performance.now();
    const ctx: RequestContext = {
      header,
      apiVersion: version,
      clientId: header.clientId,
      peer: this.#peer,
      log: this.#log,
      signal: this.#abort.signal,
    };
    this.#o.metrics.requests.inc({ api, version });
    Promise.resolve()
      .then(() => handler.handle(ctx, request))
      .then((response) => {
        this.#o.metrics.requestSeconds.observe({ api, version }, (performance.now() - started) / 1000);
        if (response === CLOSE_CONNECTION) slot.closeAfter = true;
        const bytes =
          response === NO_RESPONSE || response === CLOSE_CONNECTION
            ? null
            : encodeResponse(apiKey, version, header.correlationId, response);
        this.#complete(slot, bytes);
      })
      .catch((err: unknown) => {
        // A handler reports Kafka errors inside its response; an exception is a fault of ours.
        this.#log.error({ err, api, version }, 'Request handler failed; closing the connection');
        this.close('handler failed');
      });
  }

  #enqueue(slot: Slot): void {
    this.#slots.push(slot);
    this.#inFlightBytes += slot.requestBytes;
  }

  #complete(slot: Slot, response: Buffer | null): void {
    slot.done = true;
    slot.response = response;
    while (this.#slots.length > 0 && this.#slots[0]!.done) {
      const head = this.#slots.shift()!;
      this.#inFlightBytes -= head.requestBytes;
      if (head.response !== null && !this.#socket.destroyed && !this.#socket.writableEnded) {
        this.#o.metrics.bytesOut.inc(head.response.length);
        if (!this.#socket.write(head.response)) this.#writeBlocked = true;
      }
      if (head.closeAfter) {
        // Requests pipelined after it are dropped unanswered, as Kafka drops them.
        this.close('acks=0 produce failed');
        for (const dropped of this.#slots.splice(0)) this.#inFlightBytes -= dropped.requestBytes;
        return;
      }
    }
    if (this.#closing && this.#slots.length === 0) this.close('shutdown');
    else this.#updateReading();
  }

  #updateReading(): void {
    if (this.#closing || this.#socket.destroyed) return;
    const overloaded = this.#writeBlocked || this.#inFlightBytes > this.#o.maxInFlightBytes;
    if (overloaded && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    } else if (!overloaded && this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }
}
