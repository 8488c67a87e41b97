/**
 * A bare Kafka connection for tests that need to send exactly the bytes they choose: malformed
 * frames, pipelined requests, half frames. Responses are collected as whole frames.
 */
import net from 'node:net';
import { decodeResponse, encodeRequest } from '../../src/protocol/frame.ts';

export class RawClient {
  readonly socket: net.Socket;
  readonly #frames: Buffer[] = [];
  #waiters: Array<() => void> = [];
  #pending = Buffer.alloc(0);
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, chunk]);
      while (this.#pending.length >= 4 && this.#pending.length >= 4 + this.#pending.readInt32BE(0)) {
        const size = this.#pending.readInt32BE(0);
        this.#frames.push(this.#pending.subarray(4, 4 + size));
        this.#pending = this.#pending.subarray(4 + size);
      }
      this.#wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('close', () => this.#wake());
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  request(apiKey: number, apiVersion: number, correlationId: number, body: unknown): void {
    this.write(
      encodeRequest(
        { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: 'test' },
        body,
      ),
    );
  }

  /** The next response frame, or null once the broker has closed the connection. */
  async nextFrame(): Promise<Buffer | null> {
    for (;;) {
      const frame = this.#frames.shift();
      if (frame) return frame;
      if (this.socket.destroyed || this.socket.readableEnded) return null;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async response(apiKey: number, apiVersion: number): Promise<{ correlationId: number; body: unknown }> {
    const frame = await this.nextFrame();
    if (!frame) throw new Error('connection closed before a response arrived');
    return decodeResponse(frame, apiKey, apiVersion);
  }

  #nextCorrelationId = 1000;

  /** Sends one request and returns the decoded body of its response (no pipelining). */
  async call<T = Record<string, unknown>>(apiKey: number, apiVersion: number, body: unknown): Promise<T> {
    const id = this.#nextCorrelationId++;
    this.request(apiKey, apiVersion, id, body);
    const res = await this.response(apiKey, apiVersion);
    if (res.correlationId !== id) throw new Error(`correlation id ${res.correlationId}, expected ${id}`);
    return res.body as T;
  }

  close(): void {
    this.socket.destroy();
  }
}
