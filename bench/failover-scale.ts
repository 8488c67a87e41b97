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
import { FailoverProbe, nowMicros } from './replication/probe.ts';

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
/** bench/replication's single-partition figures (README, 20 kills), to compare with. */
const SINGLE = { p50: 64, p99: 282, runs: 20 };
const FLOOR = { p50: 1000, p99: 2000 };

interface Round {
  timeline: Timeline;
  allLeadersMs?: number;
  acks: number[];
  rejoinMs?: number;
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

/** Probed partitions: spread over the topics and over the followers. */
function probed(layout: Layout): Array<{ topic: string; partition: number }> {
  return Array.from({ length: PROBES }, (_, i) => ({
    topic: layout.topics[Math.floor((i * layout.topics.length) / PROBES)]!,
    partition: i % layout.partitions,
  }));
}

async function round(cluster: DevCluster, admin: Admin, k: number): Promise<Round> {
  const layout = layoutFor({
    round: `${Date.now().toString(36)}-${k}`,
    topics: TOPICS,
    partitions: PARTITIONS,
    victim: VICTIM,
    replicationFactor: RF,
  });
  const result: Round = { timeline: { applies: [] }, acks: [], failures: [] };
  let started = Date.now();
  await createLayout(admin, layout, BROKERS);
  await waitUntil(admin, layout, (p) => p.leader === VICTIM && p.isr.length === RF, {
    timeoutMs: 300_000,
    intervalMs: 200,
    what: 'every partition led by the victim with a full ISR',
  });
  log(`round ${k + 1}: ${TOPICS} × ${PARTITIONS} partitions ready in ${Date.now() - started} ms`);
  const probes: FailoverProbe[] = [];
  try {
    for (const p of probed(layout)) {
      probes.push(
        await FailoverProbe.start({ bootstrap: cluster.bootstrap, ...p, intervalMs: PROBE_INTERVAL_MS }),
      );
      log(
        `round ${k + 1}: probe on ${p.topic}-${p.partition} (replicas ${replicasOf(layout, BROKERS, p.partition).join(',')})`,
      );
    }
    for (const probe of probes) await probe.waitForAck(nowMicros(), 30_000);
    await sleep(1000);

    const brokerOfPid = new Map<number, number>();
    for (let b = 0; b < BROKERS; b++) {
      const pid = b === VICTIM ? undefined : cluster.brokerPid(b);
      if (pid !== undefined) brokerOfPid.set(pid, b);
    }
    const killedAtMs = Date.now();
    const killedAt = killedAtMs * 1000;
    await cluster.kill(VICTIM, 'SIGKILL');
    const leaders = waitUntil(admin, layout, (p) => p.leader >= 0 && p.leader !== VICTIM, {
      timeoutMs: 60_000,
      intervalMs: 10,
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
      `round ${k + 1}: all leaders moved after ${result.allLeadersMs} ms, first acks after ${result.acks
        .map((a) => a.toFixed(0))
        .join(', ')} ms; ${JSON.stringify(result.timeline)}`,
    );

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
    log(`round ${k + 1}: broker ${VICTIM} back in every ISR ${result.rejoinMs} ms after the restart began`);
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

function report(rounds: Round[]): void {
  const total = TOPICS * PARTITIONS;
  printTable(
    `SIGKILL of broker ${VICTIM}, leader of ${total} partitions (${TOPICS} topics × ${PARTITIONS}, RF ${RF}): ms after the kill`,
    [
      'kill',
      'ctl noticed',
      'ctl moved',
      'moved',
      ...Array.from({ length: BROKERS }, (_, b) => b)
        .filter((b) => b !== VICTIM)
        .flatMap((b) => [`b${b} applied`, `b${b} apply took`]),
      'all leaders in Metadata',
      'probes first ack',
      'back in ISR (s)',
      'note',
    ],
    rounds.map((r, i) => {
      const t = r.timeline;
      const perBroker = Array.from({ length: BROKERS }, (_, b) => b)
        .filter((b) => b !== VICTIM)
        .flatMap((b) => {
          const a = t.applies.find((x) => x.nodeId === b);
          return [ms(a?.doneMs), a ? `${ms(a.applyMs)} (${a.becameLeader})` : '-'];
        });
      return [
        String(i + 1),
        ms(t.noticedMs),
        ms(t.movedMs),
        String(t.moved ?? '-'),
        ...perBroker,
        ms(r.allLeadersMs),
        r.acks.map((a) => a.toFixed(0)).join(' '),
        r.rejoinMs === undefined ? '-' : (r.rejoinMs / 1000).toFixed(1),
        r.failures.join('; ').slice(0, 160),
      ];
    }),
  );
  const acks = rounds.flatMap((r) => r.acks).sort((a, b) => a - b);
  const leaders = rounds
    .flatMap((r) => (r.allLeadersMs === undefined ? [] : [r.allLeadersMs]))
    .sort((a, b) => a - b);
  const row = (what: string, xs: number[], floor?: typeof FLOOR): string[] =>
    xs.length === 0
      ? [what, '0', '-', '-', '-', '-', '']
      : [
          what,
          String(xs.length),
          ms(percentile(xs, 50)),
          ms(percentile(xs, 99)),
          ms(xs[0]),
          ms(xs.at(-1)),
          floor
            ? percentile(xs, 50) < floor.p50 && percentile(xs, 99) < floor.p99
              ? `within the floor (p50 < ${floor.p50}, p99 < ${floor.p99})`
              : `MISSES the floor (p50 < ${floor.p50}, p99 < ${floor.p99})`
            : '',
        ];
  printTable(
    'Failover, ms after the kill',
    ['measure', 'runs', 'p50', 'p99', 'min', 'max', 'note'],
    [
      row(`first ack, ${total} partitions led by the victim`, acks, FLOOR),
      row(`every partition's new leader in Metadata`, leaders),
      [
        'first ack, 1 partition (bench/replication, README)',
        String(SINGLE.runs),
        String(SINGLE.p50),
        String(SINGLE.p99),
        '-',
        '-',
        acks.length > 0
          ? `p50 ${(percentile(acks, 50) / SINGLE.p50).toFixed(1)}x, p99 ${(percentile(acks, 99) / SINGLE.p99).toFixed(1)}x`
          : '',
      ],
    ],
  );
  console.log(
    '\nctl noticed/moved: the controller\'s "Broker lost" and "Moved leadership of N partitions" log lines; ' +
      'bN applied: broker N\'s "Applied metadata image" line (apply took: its own measure, with the leaderships it took); ' +
      `all leaders: Metadata polled every 10 ms from the survivors; probes: a Java producer per partition, acks=all, a record every ${PROBE_INTERVAL_MS} ms.`,
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
    for (let k = 0; k < KILLS; k++) rounds.push(await round(cluster, admin, k));
  } catch (err) {
    console.error(
      `failover-scale: stopped early: ${(err as Error).message}\n${cluster.output().slice(-4000)}`,
    );
    process.exitCode = 1;
  } finally {
    await admin?.disconnect();
    await cluster.stop();
  }
  report(rounds);
  console.log(`load average ${loadavg()[0].toFixed(1)} after the run`);
}

await main();
