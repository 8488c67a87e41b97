/**
 * A container's probes as the kubelet runs them: httpGet (2xx and 3xx succeed) and tcpSocket on the
 * pod's address, named ports resolved from the container's ports, every periodSeconds after
 * initialDelaySeconds, a result counted once it has held successThreshold / failureThreshold times
 * running. exec and grpc probes are not supported (no container to run them in).
 */
import { connect } from 'node:net';
import type { ContainerPort, Probe } from 'kubernetes-types/core/v1.js';

export interface ProbeTarget {
  /** The pod's address (a probe's `host` overrides it). */
  host: string;
  ports: readonly ContainerPort[];
}

/** Whether `probe` can be run by {@link probeOnce}; an error message if not. */
export function unsupportedProbe(probe: Probe | undefined): string | undefined {
  if (!probe || probe.httpGet || probe.tcpSocket) return undefined;
  return 'the kubelet stand-in runs httpGet and tcpSocket probes only';
}

function resolvePort(port: number | string, target: ProbeTarget): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = target.ports.find((p) => p.name === port);
  if (!named) throw new Error(`probe port ${port} is not a port of the container`);
  return named.containerPort;
}

/** One attempt of `probe`: true on success. */
export async function probeOnce(probe: Probe, target: ProbeTarget): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const g = probe.httpGet;
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const host = g.host ?? target.host;
    const url = `${scheme}://${host}:${resolvePort(g.port, target)}${g.path ?? '/'}`;
    const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
    try {
      const r = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await r.arrayBuffer();
      return r.status >= 200 && r.status < 400;
    } catch {
      return false;
    }
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, target);
    return new Promise((resolve) => {
      const socket = connect({ host: probe.tcpSocket!.host ?? target.host, port, timeout: timeoutMs });
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.on('connect', () => done(true));
      socket.on('timeout', () => done(false));
      socket.on('error', () => done(false));
    });
  }
  throw new Error(unsupportedProbe(probe));
}

/**
 * Runs `probe` until stopped, calling `onResult(true)` after successThreshold successes in a row and
 * `onResult(false)` after failureThreshold failures in a row (each time the count is reached anew).
 * `maxPeriodMs` caps periodSeconds, so tests need not wait out a production period.
 */
export class ProbeLoop {
  readonly #probe: Probe;
  readonly #target: ProbeTarget;
  readonly #onResult: (ok: boolean) => void;
  readonly #periodMs: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #paused = false;
  #successes = 0;
  #failures = 0;

  constructor(probe: Probe, target: ProbeTarget, onResult: (ok: boolean) => void, maxPeriodMs = Infinity) {
    this.#probe = probe;
    this.#target = target;
    this.#onResult = onResult;
    this.#periodMs = Math.min((probe.periodSeconds ?? 10) * 1000, maxPeriodMs);
  }

  start(): void {
    this.#schedule((this.#probe.initialDelaySeconds ?? 0) * 1000);
  }

  /** A frozen node runs no probes; counting starts afresh when it resumes. */
  pause(paused: boolean): void {
    this.#paused = paused;
    this.#successes = 0;
    this.#failures = 0;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), ms);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (!this.#paused) {
      const ok = await probeOnce(this.#probe, this.#target);
      if (this.#stopped) return;
      if (ok) {
        this.#failures = 0;
        if (++this.#successes === (this.#probe.successThreshold ?? 1)) this.#onResult(true);
      } else {
        this.#successes = 0;
        if (++this.#failures === (this.#probe.failureThreshold ?? 3)) this.#onResult(false);
      }
    }
    this.#schedule(this.#periodMs);
  }
}
