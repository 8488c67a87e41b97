/**
 * The soak: a workload that writes and reads all the time, faults injected round after round, and
 * the whole history judged at the end. It runs against any 3-broker cluster behind {@link SoakCluster}
 * — `tributary dev --brokers 3` and Apache Kafka alike (test/fault/soak-clusters.ts) — for as many
 * rounds as asked: `npm run soak` runs a hundred leader kills and more, test/integration/faults/
 * soak.test.ts a handful, with the same code.
 *
 * The workload (test/fault/soak-workload.ts): a Java idempotent producer (acks=all) writing to
 * partition 0 every few milliseconds, which is also the failover probe; an idempotent kafkajs
 * producer (acks=all) writing to every partition; a kafkajs consumer group of two members committing
 * as it goes. The topic is RF=3 with min.insync.replicas=2.
 *
 * Every round starts from a healthy cluster (every partition led, its ISR full) and kills the leader
 * of partition 0 with SIGKILL; the failover time is from the kill to the probe's first
 * acknowledgement of a record sent after it. Some rounds add another fault first, in a fixed
 * rotation (see {@link extraFault}): a follower paused (a long GC), the leader paused (a zombie that
 * wakes after it was replaced), the group coordinator killed, the controller killed, or the killed
 * leader killed again while it recovers (a restart loop).
 */
import type { HistoryReport } from './history.ts';
import { percentile, startWorkload, type Workload } from './soak-workload.ts';

/** A 3-broker cluster as the soak drives it. */
export interface SoakCluster {
  name: string;
  /** Every broker's address, comma-separated (Java's bootstrap.servers). */
  bootstrap: string;
  /** Every broker's address (kafkajs). */
  brokers: string[];
  /** SIGKILL of broker `nodeId`; resolves once the process is gone. */
  kill(nodeId: number): Promise<void>;
  /** Resolves once broker `nodeId`, killed before, runs again and serves (restarting it if need be). */
  revive(nodeId: number): Promise<void>;
  /** SIGSTOP / SIGCONT of broker `nodeId`. */
  pause(nodeId: number): Promise<void>;
  resume(nodeId: number): Promise<void>;
  /** SIGKILL of the metadata controller; resolves once it runs and serves again. */
  killController(): Promise<void>;
  /** The node id of the coordinator of `group`. */
  coordinator(group: string): Promise<number>;
}

export type FaultKind =
  'leader kill' | 'restart loop' | 'follower pause' | 'leader pause' | 'coordinator kill' | 'controller kill';

export const FAULT_KINDS: readonly FaultKind[] = [
  'leader kill',
  'restart loop',
  'follower pause',
  'leader pause',
  'coordinator kill',
  'controller kill',
];

export interface SoakOptions {
  /** Rounds, each with one leader kill (default 100). */
  leaderKills?: number;
  /** Partitions of the soak topic (default 3). */
  partitions?: number;
  /** How long a paused broker stays paused, ms (default 3000). */
  pauseMs?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  name: string;
  faults: Record<FaultKind, number>;
  /** Per leader kill: ms from the kill to the first acknowledgement of a record sent after it. */
  failoverMs: number[];
  /** What the log holds, read back after the run. */
  stored: HistoryReport;
  /** What the consumer group read and committed. */
  consumed: HistoryReport;
  /** Faults the cluster did not come back from in time (each also an anomaly of the run). */
  stalls: string[];
  durationMs: number;
}

/**
 * The extra fault of round `round` (0-based), before its leader kill; a rotation of ten rounds, so
 * that a run of ten has each at least once and a run of a hundred ten times.
 */
export function extraFault(round: number): FaultKind | null {
  switch (round % 10) {
    case 1:
      return 'restart loop';
    case 3:
      return 'follower pause';
    case 5:
      return 'leader pause';
    case 7:
      return 'coordinator kill';
    case 9:
      return 'controller kill';
    default:
      return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(cluster: SoakCluster, o: SoakOptions = {}): Promise<SoakResult> {
  const rounds = o.leaderKills ?? 100;
  const log = o.log ?? (() => undefined);
  const pauseMs = o.pauseMs ?? 3000;
  const started = Date.now();
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const failoverMs: number[] = [];
  const stalls: string[] = [];
  const w = await startWorkload(cluster, { partitions: o.partitions ?? 3, log });
  try {
    for (let round = 0; round < rounds; round++) {
      const tag = `${cluster.name} round ${round + 1}/${rounds}`;
      try {
        await w.healthy();
        const extra = extraFault(round);
        if (extra && extra !== 'restart loop') {
          await injectExtra(cluster, w, extra, pauseMs, log, tag);
          faults[extra]++;
          await w.healthy();
        }
        const leader = await w.leaderOf(0);
        const ms = await w.measure(() => cluster.kill(leader));
        faults['leader kill']++;
        failoverMs.push(ms);
        log(`${tag}: SIGKILL of leader ${leader}, first ack after ${ms.toFixed(0)} ms`);
        await cluster.revive(leader);
        if (extra === 'restart loop') {
          // Killed again as soon as it serves: while it truncates, catches up and rejoins.
          await cluster.kill(leader);
          faults['restart loop']++;
          await sleep(200);
          await cluster.revive(leader);
          log(`${tag}: broker ${leader} killed again while it recovered`);
        }
      } catch (err) {
        stalls.push(`${tag}: ${(err as Error).message.split('\n')[0]}`);
        log(`${tag}: STALLED ${stalls.at(-1)}`);
        if (stalls.length >= 3) break;
      }
    }
  } finally {
    await w.stopWriting();
  }
  const { stored, consumed } = await w.judge();
  return {
    name: cluster.name,
    faults,
    failoverMs,
    stored,
    consumed,
    stalls,
    durationMs: Date.now() - started,
  };
}

async function injectExtra(
  cluster: SoakCluster,
  w: Workload,
  kind: FaultKind,
  pauseMs: number,
  log: (line: string) => void,
  tag: string,
): Promise<void> {
  switch (kind) {
    case 'follower pause': {
      const follower = await w.followerOf(0);
      await cluster.pause(follower);
      await sleep(pauseMs);
      await cluster.resume(follower);
      log(`${tag}: follower ${follower} paused ${pauseMs} ms`);
      return;
    }
    case 'leader pause': {
      const leader = await w.leaderOf(0);
      let resumed: Promise<void> = Promise.resolve();
      try {
        const ms = await w.measure(async () => {
          await cluster.pause(leader);
          resumed = sleep(pauseMs).then(() => cluster.resume(leader));
        });
        log(
          `${tag}: leader ${leader} paused ${pauseMs} ms (a zombie when it wakes), first ack after ${ms.toFixed(0)} ms`,
        );
      } finally {
        await resumed;
      }
      return;
    }
    case 'coordinator kill': {
      const coordinator = await cluster.coordinator(w.group);
      await cluster.kill(coordinator);
      await cluster.revive(coordinator);
      log(`${tag}: SIGKILL of the group coordinator ${coordinator}`);
      return;
    }
    case 'controller kill':
      await cluster.killController();
      log(`${tag}: SIGKILL of the controller`);
      return;
    default:
      throw new Error(`no injector for ${kind}`);
  }
}

/** p50, p99 and max of the failover times, in ms, for a table. */
export function failoverSummary(ms: number[]): string {
  if (ms.length === 0) return 'n/a';
  const f = (x: number) => x.toFixed(0);
  return `${f(percentile(ms, 50))} / ${f(percentile(ms, 99))} / ${f(Math.max(...ms))}`;
}
