/**
 * The failover probe (FailoverProbe.java beside this file) as the bench drives it: a Java producer
 * writing to one partition every few milliseconds with acks=all, whose sends and acknowledgements
 * are kept here with their times, so that a failover can be measured from the outside: from the
 * moment the bench killed a leader to the first acknowledgement that came after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { ensureKafkaJars, javaBinary, REPO } from '../helpers/apache-kafka.ts';

const SOURCE = join(REPO, 'test/fault/FailoverProbe.java');

/**
 * Microseconds since the epoch from the wall clock, as the probe reads it (Instant.now()); Date.now(),
 * not performance.now(), which drifts from the wall clock over a long run.
 */
export function nowMicros(): number {
  return Date.now() * 1000;
}

export interface ProbeAck {
  seq: number;
  sentMicros: number;
  ackedMicros: number;
  offset: number;
}

/** What the soak records of the probe's records (into a history): every send, ack and failure. */
export interface ProbeListener {
  send(seq: number, atMs: number): void;
  ack(seq: number, offset: number, atMs: number): void;
  fail(seq: number, error: string, atMs: number): void;
}

export class FailoverProbe {
  readonly #child: ChildProcess;
  readonly acks: ProbeAck[] = [];
  readonly errors: string[] = [];
  readonly #listeners: ProbeListener[] = [];
  #stderr = '';
  #waiters: Array<() => void> = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      partial += s;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        this.#line(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-20_000);
    });
  }

  /**
   * Starts the probe on `topic`-`partition`; resolves once its first record is acknowledged. Each
   * record carries an `id` header, `idPrefix` (default "java-") and its sequence number.
   */
  static async start(o: {
    bootstrap: string;
    topic: string;
    partition: number;
    intervalMs: number;
    idPrefix?: string;
    /** The producer's request.timeout.ms (2000): how long it waits on a broker that answers nothing. */
    requestTimeoutMs?: number;
    listener?: ProbeListener;
  }): Promise<FailoverProbe> {
    const classpath = await ensureKafkaJars();
    const child = spawn(
      javaBinary(),
      [
        '-Xmx256m',
        '-XX:+UseG1GC',
        `-Dlog4j.configuration=file:${join(REPO, 'hack/kafka/log4j-tools.properties')}`,
        '-cp',
        classpath,
        SOURCE,
        o.bootstrap,
        o.topic,
        String(o.partition),
        String(o.intervalMs),
        o.idPrefix ?? 'java-',
        String(o.requestTimeoutMs ?? 2000),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const probe = new FailoverProbe(child);
    if (o.listener) probe.#listeners.push(o.listener);
    await probe.waitForAck(0, 60_000);
    return probe;
  }

  #line(line: string): void {
    const [kind, seq, sent, at, rest] = line.split(' ');
    if (kind === 'S') {
      for (const l of this.#listeners) l.send(Number(seq), Number(sent) / 1000);
    } else if (kind === 'A') {
      this.acks.push({
        seq: Number(seq),
        sentMicros: Number(sent),
        ackedMicros: Number(at),
        offset: Number(rest),
      });
      for (const l of this.#listeners) l.ack(Number(seq), Number(rest), Number(at) / 1000);
    } else if (kind === 'E') {
      this.errors.push(`record ${seq}: ${rest}`);
      for (const l of this.#listeners) l.fail(Number(seq), String(rest), Number(at) / 1000);
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /**
   * The first acknowledgement of a record sent at or after `micros`, if any has come. Not simply the
   * first acknowledgement to arrive after it: a response the old leader sent just before it died can
   * still arrive after the kill, and says nothing about the new leader.
   */
  firstAckOfSentAfter(micros: number): ProbeAck | undefined {
    // Acknowledgements of one partition come in send order: the last one sent before is the bound.
    for (let i = this.acks.length - 1; i >= 0; i--) {
      if (this.acks[i]!.sentMicros < micros) return this.acks[i + 1];
    }
    return this.acks[0];
  }

  /** Resolves with {@link firstAckOfSentAfter}(`micros`) once it has come; rejects after `timeoutMs`. */
  async waitForAck(micros: number, timeoutMs: number): Promise<ProbeAck> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ack = this.firstAckOfSentAfter(micros);
      if (ack) return ack;
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(
          `the failover probe exited (${this.#child.exitCode ?? this.#child.signalCode}):\n${this.#stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no acknowledgement within ${timeoutMs} ms (${this.errors.length} failed sends: ${this.errors.slice(-3).join('; ')}); probe stderr:\n${this.#stderr.slice(-3000)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#child.kill('SIGKILL');
    await exited;
  }
}
