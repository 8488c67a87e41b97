/**
 * Failover at scale: SIGKILL of a broker that leads 1,000 partitions spread over several topics,
 * on `tributary dev --brokers 3` (shared/DESIGN.md: "the failover floor must hold with 1,000
 * partitions led by the failed broker"; floor: kill → first acknowledged write, p50 < 1 s, p99 < 2 s).
 *
 *   node bench/failover-scale.ts [--quick] [--kills=N] [--topics=N] [--partitions=N] [--rf=N] [--probes=N]
 *
 * Each round creates a fresh set of topics whose replica assignments make broker 0 the leader of
 * every partition (a restarted broker does not get its leaderships back by itself: there is no
 * preferred-leader election yet), starts failover probes (bench/replication's Java producer, acks=all,
 * a record every 5 ms) on a few of those partitions, kills broker 0 and measures
 *   - kill → the controller noticed, and → it had persisted and published the new leaders (its log),
 *   - kill → each surviving broker had applied that image, and the apply's own duration (its log),
 *   - kill → every partition shows a new leader in Metadata (polled from the survivors),
 *   - kill → each probe's first acknowledgement of a record sent after the kill;
 * then waits for broker 0 to be back in every ISR (also timed) and deletes the round's topics.
 * Defaults: 10 topics × 100 partitions, RF 2, 5 kills, 3 probes; --quick: 4 × 50, 2 kills.
 */
import { availableParallelism, loadavg } from 'node:os';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startDevCluster, type DevCluster } from '../test/helpers/dev-cluster.ts';
import { printTable } from './harness.ts';
import { createLayout, layoutFor, replicasOf, waitUntil, type Layout } from './failover-scale/layout.ts';
import { timelineOf, type Timeline } from './failover-scale/timeline.ts';
import { PROBE_INTERVAL_MS } from './replication/failover.ts';
import { FailoverProbe, nowMicros } from '../test/fault/java-probe.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string, fallback: number): number =>
  Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);

const BROKERS = 3;
const VICTIM = 0;
const KILLS = flag('kills', quick ? 2 : 5);
const TOPICS = flag('topics', quick ? 4 : 10);
const PARTITIONS = flag('partitions', quick ? 50 : 100);
const RF = flag('rf', 2);
const PROBES = flag('probes', quick ? 2 : 3);
/** How often Metadata is polled for the new leaders after a kill. */
const POLL_MS = flag('poll-ms', 10);
/**
 * The same kill with a handful of partitions (one per probe), interleaved with the big rounds so
 * that both meet the same machine load: what the 1,000 partitions cost is the difference.
 */
const BASELINE = { topics: 1, partitions: PROBES };
const SCALE = { topics: TOPICS, partitions: PARTITIONS };
const BASELINE_KILLS = flag('baseline-kills', KILLS);
const survivors = Array.from({ length: BROKERS }, (_, b) => b).filter((b) => b !== VICTIM);
/** bench/replication's single-partition figures (README, 20 kills), to compare with. */
const SINGLE = { p50: 64, p99: 282, runs: 20 };
const FLOOR = { p50: 1000, p99: 2000 };

interface Round {
  shape: { topics: number; partitions: number };
  timeline: Timeline;
  allLeadersMs?: number;
  acks: number[];
  rejoinMs?: number;
  /** ISR expansions the controller accepted during the rejoin: one store write each. */
  rejoinIsrWrites?: number;
  failures: string[];
}

const log = (line: string): void => console.log(`failover-scale: ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An admin that never picks the victim as its seed, so that polling goes on through the kill. */
async function survivorAdmin(cluster: DevCluster): Promise<Admin> {
  const admin = new Kafka({
    clientId: 'bench-failover-scale',
    brokers: cluster.brokers.filter((_, i) => i !== VICTIM),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 30 },
  }).admin();
  await admin.connect();
  return admin;
}

/** ISR expansions the survivors had accepted by the controller, from their /metrics. */
async function isrExpansions(cluster: DevCluster): Promise<number> {
  let n = 0;
  for (const b of survivors) {
    const text = await (await fetch(`${cluster.adminUrl(b)}/metrics`)).text();
    const m = /^tributary_replication_isr_changes_total\{kind="expand"\} (\d+)/m.exec(text);
    n += Number(m?.[1] ?? 0);
  }
  return n;
}

/** Probed partitions: spread over the topics and over the followers. */
function probed(layout: Layout): Array<{ topic: string; partition: number }> {
  return Array.from({ length: PROBES }, (_, i) => ({
    topic: layout.topics[Math.floor((i * layout.topics.length) / PROBES)]!,
    partition: i % layout.partitions,
  }));
}

async function round(
  cluster: DevCluster,
  admin: Admin,
  k: number,
  shape: { topics: number; partitions: number },
): Promise<Round> {
  const layout = layoutFor({
    round: `${Date.now().toString(36)}-${k}`,
    ...shape,
    victim: VICTIM,
    replicationFactor: RF,
  });
  const result: Round = { shape, timeline: { applies: [] }, acks: [], failures: [] };
  const what = `round ${k + 1} (${shape.topics} × ${shape.partitions})`;
  let started = Date.now();
  await createLayout(admin, layout, BROKERS);
  await waitUntil(admin, layout, (p) => p.leader === VICTIM && p.isr.length === RF, {
    timeoutMs: 300_000,
    intervalMs: 200,
    what: 'every partition led by the victim with a full ISR',
  });
  log(`${what}: ready in ${Date.now() - started} ms`);
  const probes: FailoverProbe[] = [];
  try {
    for (const p of probed(layout)) {
      probes.push(
        await FailoverProbe.start({ bootstrap: cluster.bootstrap, ...p, intervalMs: PROBE_INTERVAL_MS }),
      );
      log(
        `${what}: probe on ${p.topic}-${p.partition} (replicas ${replicasOf(layout, BROKERS, p.partition).join(',')})`,
      );
    }
    for (const probe of probes) await probe.waitForAck(nowMicros(), 30_000);
    await sleep(1000);

    const brokerOfPid = new Map<number, number>();
    for (let b = 0; b < BROKERS; b++) {
      const pid = b === VICTIM ? undefined : cluster.brokerPid(b);
      if (pid !== undefined) brokerOfPid.set(pid, b);
    }
    // The pid first: finding it scans /proc, which takes milliseconds that are no part of the
    // failover (DevCluster.kill would find it after the clock was read). The supervisor restarts it.
    const pid = cluster.brokerPid(VICTIM);
    if (pid === undefined) throw new Error(`broker ${VICTIM} is not running`);
    const killedAtMs = Date.now();
    const killedAt = killedAtMs * 1000;
    process.kill(pid, 'SIGKILL');
    const leaders = waitUntil(admin, layout, (p) => p.leader >= 0 && p.leader !== VICTIM, {
      timeoutMs: 60_000,
      intervalMs: POLL_MS,
      what: 'every partition with a new leader',
    }).then(
      (at) => (result.allLeadersMs = at - killedAtMs),
      (err: Error) => void result.failures.push(err.message.slice(0, 200)),
    );
    const acks = probes.map((probe) =>
      probe.waitForAck(killedAt, 60_000).then(
        (ack) => result.acks.push((ack.ackedMicros - killedAt) / 1000),
        (err: Error) => void result.failures.push(`probe: ${err.message.split('\n')[0]}`),
      ),
    );
    await Promise.all([leaders, ...acks]);
    // The brokers' lines may trail their work by a moment.
    await sleep(500);
    result.timeline = timelineOf(cluster.output(), { killedAtMs, victim: VICTIM, brokerOfPid });
    log(
      `${what}: all leaders moved after ${result.allLeadersMs} ms, first acks after ${result.acks
        .map((a) => a.toFixed(0))
        .join(', ')} ms; ${JSON.stringify(result.timeline)}`,
    );

    const expandsBefore = await isrExpansions(cluster);
    started = Date.now();
    await cluster.waitReady(VICTIM, 180_000);
    await waitUntil(admin, layout, (p) => p.isr.length === RF, {
      timeoutMs: 300_000,
      intervalMs: 200,
      what: 'the restarted broker back in every ISR',
    }).then(
      (at) => (result.rejoinMs = at - started),
      (err: Error) => void result.failures.push(err.message.slice(0, 200)),
    );
    result.rejoinIsrWrites = (await isrExpansions(cluster)) - expandsBefore;
    log(`${what}: broker ${VICTIM} back in every ISR ${result.rejoinMs} ms after the restart began`);
  } finally {
    for (const probe of probes) await probe.stop();
  }
  await admin.deleteTopics({ topics: layout.topics, timeout: 60_000 });
  return result;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const ms = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(0));

const shapeOf = (r: Round): string =>
  `${r.shape.topics}×${r.shape.partitions}=${r.shape.topics * r.shape.partitions}`;

function reportRounds(rounds: Round[]): void {
  printTable(
    `SIGKILL of broker ${VICTIM}, leader of every partition (topics×partitions, RF ${RF}): ms after the kill`,
    [
      'kill',
      'partitions',
      'ctl noticed',
      'ctl moved',
      'moved',
      ...survivors.flatMap((b) => [`b${b} applied`, `b${b} apply took`]),
      'all leaders in Metadata',
      'probes first ack',
      'back in ISR (s)',
      'ISR writes',
      'note',
    ],
    rounds.map((r, i) => {
      const t = r.timeline;
      return [
        String(i + 1),
        shapeOf(r),
        ms(t.noticedMs),
        ms(t.movedMs),
        String(t.moved ?? '-'),
        ...survivors.flatMap((b) => {
          const a = t.applies.find((x) => x.nodeId === b);
          return [ms(a?.doneMs), a ? `${ms(a.applyMs)} (${a.becameLeader})` : '-'];
        }),
        ms(r.allLeadersMs),
        r.acks.map((a) => a.toFixed(0)).join(' '),
        r.rejoinMs === undefined ? '-' : (r.rejoinMs / 1000).toFixed(1),
        String(r.rejoinIsrWrites ?? '-'),
        r.failures.join('; ').slice(0, 160),
      ];
    }),
  );
}

const sorted = (xs: Array<number | undefined>): number[] =>
  xs.filter((x): x is number => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);

function statsRow(what: string, xs: number[], note = ''): string[] {
  if (xs.length === 0) return [what, '0', '-', '-', '-', '-', note];
  return [
    what,
    String(xs.length),
    ms(percentile(xs, 50)),
    ms(percentile(xs, 99)),
    ms(xs[0]),
    ms(xs.at(-1)),
    note,
  ];
}

function floorNote(xs: number[]): string {
  if (xs.length === 0) return '';
  const ok = percentile(xs, 50) < FLOOR.p50 && percentile(xs, 99) < FLOOR.p99;
  return `${ok ? 'within' : 'MISSES'} the floor (p50 < ${FLOOR.p50}, p99 < ${FLOOR.p99})`;
}

function reportSummary(rounds: Round[]): void {
  const rows: string[][] = [];
  for (const shape of [SCALE, BASELINE]) {
    const of = rounds.filter((r) => r.shape === shape);
    if (of.length === 0) continue;
    const n = `${shape.topics * shape.partitions} partitions`;
    const acks = sorted(of.flatMap((r) => r.acks));
    rows.push(statsRow(`${n}: first ack`, acks, shape === SCALE ? floorNote(acks) : ''));
    rows.push(statsRow(`${n}: every new leader in Metadata`, sorted(of.map((r) => r.allLeadersMs))));
    rows.push(statsRow(`${n}: controller moved them`, sorted(of.map((r) => r.timeline.movedMs))));
    rows.push(
      statsRow(
        `${n}: slowest survivor applied`,
        sorted(of.map((r) => Math.max(...r.timeline.applies.map((a) => a.doneMs)))),
      ),
    );
    rows.push(statsRow(`${n}: restarted broker back in every ISR`, sorted(of.map((r) => r.rejoinMs))));
  }
  const acks = sorted(rounds.filter((r) => r.shape === SCALE).flatMap((r) => r.acks));
  rows.push([
    '1 partition: first ack (bench/replication, README)',
    String(SINGLE.runs),
    String(SINGLE.p50),
    String(SINGLE.p99),
    '-',
    '-',
    acks.length > 0
      ? `scale p50 ${(percentile(acks, 50) / SINGLE.p50).toFixed(1)}x, p99 ${(percentile(acks, 99) / SINGLE.p99).toFixed(1)}x of these`
      : '',
  ]);
  printTable('Failover, ms after the kill', ['measure', 'runs', 'p50', 'p99', 'min', 'max', 'note'], rows);
  console.log(
    '\nctl noticed/moved: the controller\'s "Broker lost" and "Moved leadership of N partitions" log lines; ' +
      'bN applied: broker N\'s "Applied metadata image" line (apply took: its own measure, with the leaderships it took); ' +
      `all leaders: Metadata polled every ${POLL_MS} ms from the survivors; probes: a Java producer per partition, acks=all, a record every ${PROBE_INTERVAL_MS} ms; ` +
      "back in ISR: from the end of the failover (the supervisor restarts the killed broker 500 ms after it died) to every partition's ISR full again; ISR writes: the ISR expansions the controller persisted meanwhile (the survivors' tributary_replication_isr_changes_total), one store write and one image each.",
  );
}

async function main(): Promise<void> {
  console.log(
    `${availableParallelism()} cores; load average ${loadavg()[0].toFixed(1)}; ${KILLS} kills of a leader of ${TOPICS * PARTITIONS} partitions`,
  );
  const cluster = await startDevCluster({ brokers: BROKERS });
  const rounds: Round[] = [];
  let admin: Admin | undefined;
  try {
    admin = await survivorAdmin(cluster);
    for (let k = 0; k < Math.max(KILLS, BASELINE_KILLS); k++) {
      if (k < KILLS) rounds.push(await round(cluster, admin, k, SCALE));
      if (k < BASELINE_KILLS) rounds.push(await round(cluster, admin, k, BASELINE));
    }
  } catch (err) {
    console.error(
      `failover-scale: stopped early: ${(err as Error).message}\n${cluster.output().slice(-4000)}`,
    );
    process.exitCode = 1;
  } finally {
    await admin?.disconnect();
    await cluster.stop();
  }
  reportRounds(rounds);
  reportSummary(rounds);
  console.log(`load average ${loadavg()[0].toFixed(1)} after the run`);
}

await main();
