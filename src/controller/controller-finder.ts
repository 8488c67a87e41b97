/**
 * Where a broker finds its controller (./http-link.ts): `controller.address` lists one or more
 * HOST:PORT, and a HOST that resolves to several addresses (the headless Service of the operator's
 * pods) counts as several. Only one of them is the controller: the operator's leader, which holds
 * the Lease; the others answer HTTP 503 `{notController: true}` or do not answer at all.
 *
 * A call goes to the address that answered last. When that one is unreachable or says it is not
 * the controller, the call tries every other address in turn, names resolved afresh, with no pause
 * between them: a round. Only a round that found no controller ends in a failure, after which the
 * caller backs off.
 */
import { lookup } from 'node:dns/promises';
import type { HostPort } from '../broker/host-port.ts';
import type { Logger } from '../common/logger.ts';

/** Every address `host` resolves to (`dns.lookup` with `all: true`: /etc/hosts and DNS alike). */
export type LookupAll = (host: string) => Promise<Array<{ address: string }>>;

export const lookupAll: LookupAll = (host) => lookup(host, { all: true });

/** The answer came from something that is not the controller now: try the next address. */
export class NotControllerError extends Error {
  constructor(where: string, reason: string) {
    super(`${where} is not the controller: ${reason}`);
  }
}

/** An answer other than 200 and 503: a refused token (401), or a fault (400, 500). */
export class HttpStatusError extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(`the controller answered HTTP ${status}: ${body.slice(0, 200)}`);
    this.status = status;
  }
}

export function formatHostPort(at: HostPort): string {
  return at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
}

export class ControllerFinder {
  readonly #configured: readonly HostPort[];
  readonly #lookup: LookupAll;
  readonly #log: Logger;
  readonly #onMove: (to: HostPort) => void;
  #current: HostPort | null = null;

  constructor(o: {
    addresses: readonly HostPort[];
    lookup?: LookupAll;
    logger: Logger;
    /** The controller answered from another address than before. */
    onMove?: (to: HostPort) => void;
  }) {
    if (o.addresses.length === 0) throw new Error('a controller link needs at least one address');
    this.#configured = o.addresses;
    this.#lookup = o.lookup ?? lookupAll;
    this.#log = o.logger;
    this.#onMove = o.onMove ?? (() => undefined);
  }

  /** The address that answered as the controller last; null before any did. */
  get current(): HostPort | null {
    return this.#current;
  }

  /**
   * One round: `attempt` at the current address, then at every other one until an answer comes
   * that is not a NotControllerError, a 401 or a failure to reach it (`isWrongAnswer` may call an
   * answer one of those too). Rejects with a 401 if one came, else the last failure, when no
   * address answered.
   */
  async call<T>(attempt: (at: HostPort) => Promise<T>, isWrongAnswer?: (answer: T) => boolean): Promise<T> {
    let failure: unknown = null;
    let wrong: { answer: T } | null = null;
    const tried = new Set<string>();
    const tryAt = async (at: HostPort): Promise<{ answer: T } | null> => {
      tried.add(formatHostPort(at));
      try {
        const answer = await attempt(at);
        if (isWrongAnswer?.(answer)) {
          wrong = { answer };
          return null;
        }
        this.#answered(at);
        return { answer };
      } catch (err) {
        // A fault answered by the controller (400, 500) would be the same elsewhere. A refused
        // token is not: a replica that has not read this cluster's Secret yet refuses it too. It
        // is the outcome to report unless another address answers.
        if (err instanceof HttpStatusError && err.status !== 401) throw err;
        if (!(failure instanceof HttpStatusError)) failure = err;
        return null;
      }
    };
    const first = this.#current;
    if (first) {
      const r = await tryAt(first);
      if (r) return r.answer;
    }
    const resolved = await this.#resolve((err) => {
      if (!(failure instanceof HttpStatusError)) failure = err;
    });
    for (const at of resolved) {
      if (tried.has(formatHostPort(at))) continue;
      const r = await tryAt(at);
      if (r) return r.answer;
    }
    // An answer, even one saying this is not the controller (a deposed one), beats no answer.
    const answered = wrong as { answer: T } | null;
    if (answered) return answered.answer;
    throw failure ?? new Error('no controller address resolved');
  }

  /** Every configured address, names resolved now; a name that does not resolve is skipped. */
  async #resolve(onError: (err: unknown) => void): Promise<HostPort[]> {
    const all: HostPort[] = [];
    for (const { host, port } of this.#configured) {
      try {
        for (const { address } of await this.#lookup(host)) all.push({ host: address, port });
      } catch (err) {
        onError(err);
      }
    }
    return all;
  }

  #answered(at: HostPort): void {
    const before = this.#current;
    if (before && before.host === at.host && before.port === at.port) return;
    this.#current = at;
    this.#log.info({ controller: formatHostPort(at) }, `The controller is now at ${formatHostPort(at)}`);
    if (before) this.#onMove(at);
  }
}
