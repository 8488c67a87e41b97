/**
 * An outgoing Kafka connection — a follower's fetcher reaching its leader, the operator's admin
 * client (src/operator/kafka/) reaching any broker: framed requests with
 * correlation ids (src/protocol/frame.ts), responses matched back by id. It connects on the first
 * request and again after any failure; a failure (refused connection, reset, timeout, a frame that
 * does not decode) rejects every request in flight and drops the socket, and the caller decides
 * when to try again (replica.fetch.backoff.ms).
 */
import net from 'node:net';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { decodeResponse, encodeRequest } from './frame.ts';

export interface KafkaConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  clock: Clock;
  /** A request unanswered for this long fails and closes the connection (replica.socket.timeout.ms). */
  requestTimeoutMs: number;
}

interface InFlight {
  apiKey: number;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

export class ConnectionError extends Error {}

export class KafkaConnection {
  readonly #o: KafkaConnectionOptions;
  #socket: net.Socket | null = null;
  #connecting: Promise<net.Socket> | null = null;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #inFlight = new Map<number, InFlight>();
  #nextId = 1;
  #closed = false;

  constructor(o: KafkaConnectionOptions) {
    this.#o = o;
  }

  get address(): string {
    return `${this.#o.host}:${this.#o.port}`;
  }

  /** Sends one request and resolves with the decoded response body. */
  async request<T>(apiKey: number, apiVersion: number, body: unknown): Promise<T> {
    const socket = await this.#connect();
    const correlationId = this.#nextId;
    this.#nextId = this.#nextId >= 0x7fffffff ? 1 : this.#nextId + 1;
    const frame = encodeRequest(
      { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: this.#o.clientId },
      body,
    );
    return new Promise<T>((resolve, reject) => {
      const timer = this.#o.clock.setTimeout(
        () => this.#fail(socket, new ConnectionError(`request to ${this.address} timed out`)),
        this.#o.requestTimeoutMs,
      );
      this.#inFlight.set(correlationId, {
        apiKey,
        apiVersion,
        resolve: resolve as (body: unknown) => void,
        reject,
        timer,
      });
      socket.write(frame);
    });
  }

  /** Drops the socket and fails what is in flight; later requests are refused. */
  close(): void {
    this.#closed = true;
    if (this.#socket) this.#fail(this.#socket, new ConnectionError('connection closed'));
  }

  #connect(): Promise<net.Socket> {
    if (this.#closed) return Promise.reject(new ConnectionError('connection closed'));
    if (this.#socket) return Promise.resolve(this.#socket);
    if (this.#connecting) return this.#connecting;
    this.#connecting = new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: this.#o.host, port: this.#o.port });
      socket.setNoDelay(true);
      const onError = (err: Error): void => {
        this.#o.clock.clearTimeout(timer);
        this.#connecting = null;
        socket.destroy();
        reject(new ConnectionError(`cannot connect to ${this.address}: ${err.message}`));
      };
      // A host that drops SYNs would otherwise hold the fetcher for the OS's minutes-long timeout.
      const timer = this.#o.clock.setTimeout(
        () => onError(new Error('connection timed out')),
        this.#o.requestTimeoutMs,
      );
      socket.once('error', onError);
      socket.once('connect', () => {
        this.#o.clock.clearTimeout(timer);
        socket.off('error', onError);
        this.#connecting = null;
        if (this.#closed) {
          socket.destroy();
          reject(new ConnectionError('connection closed'));
          return;
        }
        this.#socket = socket;
        this.#buffer = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
        socket.on('error', (err) => this.#fail(socket, new ConnectionError(err.message)));
        socket.on('close', () =>
          this.#fail(socket, new ConnectionError(`${this.address} closed the connection`)),
        );
        resolve(socket);
      });
    });
    return this.#connecting;
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 4) {
      const size = this.#buffer.readInt32BE(0);
      if (this.#buffer.length < 4 + size) return;
      const frame = this.#buffer.subarray(4, 4 + size);
      this.#buffer = this.#buffer.subarray(4 + size);
      const id = frame.readInt32BE(0);
      const call = this.#inFlight.get(id);
      if (!call) {
        this.#fail(socket, new ConnectionError(`response with unknown correlation id ${id}`));
        return;
      }
      this.#inFlight.delete(id);
      this.#o.clock.clearTimeout(call.timer);
      try {
        call.resolve(decodeResponse(frame, call.apiKey, call.apiVersion).body);
      } catch (err) {
        call.reject(err as Error);
        this.#fail(socket, new ConnectionError(`undecodable response from ${this.address}`));
        return;
      }
    }
  }

  #fail(socket: net.Socket, err: Error): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    socket.destroy();
    for (const call of this.#inFlight.values()) {
      this.#o.clock.clearTimeout(call.timer);
      call.reject(err);
    }
    this.#inFlight.clear();
  }
}
