/**
 * The broker's Kafka listener: accepts connections and hands each to a Connection. Built and started
 * by the CLI; tests start it on port 0.
 */
import net, { type AddressInfo } from 'node:net';
import type { Logger } from '../common/logger.ts';
import { Connection, type ConnectionOptions } from './connection.ts';

export interface ListenerOptions extends ConnectionOptions {
  host: string;
  port: number;
  /**
   * While this says false, a new connection is closed at once: the broker has bound its port (to
   * know what to advertise) but has no metadata yet, and answering would tell clients that no topic
   * exists and no controller is known. Kafka's broker does not open its listeners until then either;
   * clients go to another bootstrap address. Always accepting when absent.
   */
  accepting?: () => boolean;
}

export const LISTENER_DEFAULTS = {
  maxRequestBytes: 100 * 1024 * 1024,
  maxInFlightBytes: 16 * 1024 * 1024,
  idleTimeoutMs: 10 * 60 * 1000,
} as const;

export class KafkaListener {
  readonly #options: ListenerOptions;
  readonly #log: Logger;
  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();

  constructor(options: ListenerOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'listener' });
    this.#server = net.createServer((socket) => {
      if (options.accepting && !options.accepting()) {
        socket.destroy();
        return;
      }
      const connection = new Connection(socket, options);
      this.#connections.add(connection);
      void connection.closed.then(() => this.#connections.delete(connection));
    });
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    this.#log.info({ address: `${address.address}:${address.port}` }, 'Listening for Kafka clients');
    return address;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Stops accepting, lets every connection answer what it already accepted, then closes them;
   * connections still busy after `graceMs` are cut.
   */
  async close(graceMs = 5000): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const drained = Promise.all([...this.#connections].map((c) => c.drain()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    if ((await Promise.race([drained, late])) === 'late') {
      this.#log.warn({ connections: this.#connections.size }, 'Cut connections still busy at shutdown');
      for (const c of this.#connections) c.close('shutdown deadline');
    }
    clearTimeout(timer);
    await stopped;
  }
}
