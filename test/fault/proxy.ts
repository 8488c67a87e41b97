/**
 * The network fault injector: a TCP proxy in front of a Kafka listener, through which both clients
 * and the other brokers' replica fetchers reach it (the broker advertises the proxy's address), so a
 * test can cut, half-cut or slow the links it chooses while the rest of the traffic flows.
 *
 * Each connection is told apart by the client id of its first request (every Kafka request header
 * carries one): a replica fetcher's names the broker it runs in, anything else is a client. So the
 * proxy can isolate a leader from its followers while clients still reach it — the partition behind
 * Kafka's 2013 loss of acknowledged writes — and it works the same for Apache Kafka's fetchers.
 *
 * A cut holds bytes rather than dropping them or resetting the connection: that is what a network
 * partition does to TCP (the sender retransmits, the receiver hears nothing), so clients find out by
 * their own timeouts. A close is held like the bytes before it. Healing delivers what was held, in
 * order, as a late retransmission would: a stale request reaching a deposed leader is part of the
 * test. The proxy knows nothing of the broker (it imports nothing from src/).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Which way bytes travel: towards the broker (requests) or from it (responses). */
export type Direction = 'to-broker' | 'from-broker';

/** What a connection is: 'client', or `broker-<id>` for a replica fetcher of broker <id>. */
export type Peer = 'client' | `broker-${number}`;

/** The peer a client id belongs to: Tributary's and Apache Kafka's replica fetchers, else 'client'. */
export function peerOf(clientId: string | null): Peer {
  const m =
    /^tributary-replica-fetcher-(\d+)$/.exec(clientId ?? '') ??
    /^broker-(\d+)-fetcher-\d+$/.exec(clientId ?? '');
  return m ? `broker-${Number(m[1])}` : 'client';
}

/**
 * The client id of the request frame at the start of `buf`, null for a null one, or undefined until
 * enough bytes have arrived. Request headers v1 and v2 both start size int32, api_key int16,
 * api_version int16, correlation_id int32, then client_id as a (non-compact) nullable string.
 */
export function clientIdOf(buf: Buffer): string | null | undefined {
  if (buf.length < 14) return undefined;
  const len = buf.readInt16BE(12);
  if (len < 0) return null;
  if (buf.length < 14 + len) return undefined;
  return buf.toString('utf8', 14, 14 + len);
}

/** Which connections and directions a fault applies to. */
export interface Fault {
  /** The connections it applies to (by default every one). */
  peers?: (peer: Peer) => boolean;
  /** Both ways by default. */
  directions?: Direction[];
}

/** What happens to bytes: 'hold' keeps them until lifted; a number delays each chunk by that many ms. */
export type Effect = 'hold' | number;

interface Rule {
  peers: (peer: Peer) => boolean;
  directions: Direction[];
  effect: Effect;
}

/** The effect on `peer`'s traffic in `dir` under `rules`: the latest matching rule wins; 0 forwards. */
export function effectOf(rules: readonly Rule[], peer: Peer, dir: Direction): Effect {
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i]!;
    if (r.directions.includes(dir) && r.peers(peer)) return r.effect;
  }
  return 0;
}

const EOF = Symbol('eof');

/**
 * One direction of one connection: chunks (and the end of the stream) forwarded in order, each
 * once it is due. A held chunk is due when the hold is lifted; a slowed one `ms` after it arrived.
 */
class Pipe {
  readonly #to: Socket;
  readonly #queue: Array<{ chunk: Buffer | typeof EOF; due: number | null }> = [];
  #effect: Effect = 0;
  #timer: NodeJS.Timeout | null = null;
  #ended = false;

  constructor(to: Socket) {
    this.#to = to;
  }

  push(chunk: Buffer | typeof EOF): void {
    if (this.#ended) return;
    if (chunk === EOF) this.#ended = true;
    const e = this.#effect;
    this.#queue.push({ chunk, due: e === 'hold' ? null : Date.now() + e });
    this.#pump();
  }

  set effect(e: Effect) {
    if (e === this.#effect) return;
    this.#effect = e;
    if (e !== 'hold') {
      const due = Date.now() + e;
      for (const q of this.#queue) q.due ??= due;
    }
    this.#pump();
  }

  /** Bytes waiting to be forwarded. */
  get held(): number {
    return this.#queue.reduce((n, q) => n + (q.chunk === EOF ? 0 : q.chunk.length), 0);
  }

  /** Drops whatever waits (its destination is gone, or the proxy closes). */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue.length = 0;
    this.#ended = true;
  }

  #pump(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#effect === 'hold') return;
    const now = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (head.due === null) return;
      if (head.due > now) {
        this.#timer = setTimeout(() => this.#pump(), head.due - now);
        return;
      }
      this.#queue.shift();
      if (this.#to.destroyed) continue;
      if (head.chunk === EOF) this.#to.end();
      else this.#to.write(head.chunk);
    }
  }
}

interface Link {
  peer: Peer | null;
  client: Socket;
  broker: Socket;
  toBroker: Pipe;
  fromBroker: Pipe;
}

export interface ProxyOptions {
  /** Port to listen on (127.0.0.1); 0 for any. */
  port: number;
  /** Where the broker listens. */
  target: { host?: string; port: number };
  /** Names the proxy in errors (e.g. "broker-1"). */
  name?: string;
  /**
   * 'kafka' (the default) tells connections apart by their first request's client id; 'tcp' takes
   * any protocol (the brokers' HTTP link to the controller) and counts every connection a client's.
   */
  protocol?: 'kafka' | 'tcp';
}

export class FaultProxy {
  readonly name: string;
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();
  readonly #kafka: boolean;
  #rules: Rule[] = [];

  private constructor(server: Server, o: ProxyOptions) {
    this.#server = server;
    this.#kafka = (o.protocol ?? 'kafka') === 'kafka';
    this.#target = { host: o.target.host ?? '127.0.0.1', port: o.target.port };
    this.name = o.name ?? `proxy:${o.port}`;
    server.on('connection', (socket) => this.#accept(socket));
  }

  static async start(o: ProxyOptions): Promise<FaultProxy> {
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    const proxy = new FaultProxy(server, o);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** Holds the matching traffic until the rule is lifted or {@link heal}. Returns the lift. */
  cut(f: Fault = {}): () => void {
    return this.#add(f, 'hold');
  }

  /** Delays each matching chunk by `ms` (order kept). Returns the lift. */
  slow(ms: number, f: Fault = {}): () => void {
    return this.#add(f, ms);
  }

  /** Lifts every rule; held bytes are delivered, in order. */
  heal(): void {
    this.#rules = [];
    this.#apply();
  }

  /** Resets every connection now (as a broker restart or a firewall RST would); held bytes are lost. */
  resetAll(): void {
    for (const l of this.#links) this.#drop(l);
  }

  /** The peers of the connections open now ('unknown' before a first request). */
  peers(): Array<Peer | 'unknown'> {
    return [...this.#links].map((l) => l.peer ?? 'unknown');
  }

  /** Bytes held or delayed right now. */
  held(): number {
    let n = 0;
    for (const l of this.#links) n += l.toBroker.held + l.fromBroker.held;
    return n;
  }

  /** Stops listening and resets every connection. */
  async close(): Promise<void> {
    this.#rules = [];
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.resetAll();
    await closed;
  }

  #add(f: Fault, effect: Effect): () => void {
    const rule: Rule = {
      peers: f.peers ?? (() => true),
      directions: f.directions ?? ['to-broker', 'from-broker'],
      effect,
    };
    this.#rules.push(rule);
    this.#apply();
    return () => {
      this.#rules = this.#rules.filter((r) => r !== rule);
      this.#apply();
    };
  }

  #apply(): void {
    for (const l of this.#links) this.#applyTo(l);
  }

  #applyTo(l: Link): void {
    // A connection not yet classified is treated as a client's (it has sent nothing to hold anyway).
    const peer = l.peer ?? 'client';
    l.toBroker.effect = effectOf(this.#rules, peer, 'to-broker');
    l.fromBroker.effect = effectOf(this.#rules, peer, 'from-broker');
  }

  #accept(client: Socket): void {
    client.setNoDelay(true);
    const broker = connect({ ...this.#target, noDelay: true, allowHalfOpen: true });
    const link: Link = {
      peer: null,
      client,
      broker,
      toBroker: new Pipe(broker),
      fromBroker: new Pipe(client),
    };
    this.#links.add(link);
    this.#applyTo(link);
    if (!this.#kafka) link.peer = 'client';
    let head: Buffer | null = this.#kafka ? Buffer.alloc(0) : null;
    client.on('data', (chunk: Buffer) => {
      if (head !== null) {
        head = Buffer.concat([head, chunk]);
        const id = clientIdOf(head);
        if (id === undefined) return; // the first request's header is not all here yet
        link.peer = peerOf(id);
        this.#applyTo(link);
        chunk = head;
        head = null;
      }
      link.toBroker.push(chunk);
    });
    broker.on('data', (chunk: Buffer) => link.fromBroker.push(chunk));
    // An end of stream travels like the bytes before it (held by a cut); a socket that has closed
    // can take nothing more, so what waits for it is dropped. Both closed: the link is gone.
    client.on('end', () => {
      if (head !== null && head.length > 0) link.toBroker.push(head);
      link.toBroker.push(EOF);
    });
    broker.on('end', () => link.fromBroker.push(EOF));
    const closed = (): void => {
      if (client.destroyed) link.fromBroker.close();
      if (broker.destroyed) link.toBroker.close();
      if (client.destroyed && broker.destroyed) this.#links.delete(link);
    };
    client.on('close', () => {
      link.toBroker.push(EOF);
      closed();
    });
    broker.on('close', () => {
      link.fromBroker.push(EOF);
      closed();
    });
    client.on('error', () => undefined);
    broker.on('error', () => undefined);
  }

  #drop(l: Link): void {
    this.#links.delete(l);
    l.toBroker.close();
    l.fromBroker.close();
    l.client.destroy();
    l.broker.destroy();
  }
}
