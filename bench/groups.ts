/**
 * Consumer groups on Tributary against Apache Kafka 3.9 on the same machine, with the same client
 * (kafkajs 2.2.4) for both (issue #6):
 *
 *   node bench/groups.ts [--quick] [--target=kafka|tributary] [--rounds=N] [--seconds=N]
 *
 * 1. Rebalance: a group of 4 members on a 6-partition topic settles; then, N times, one member
 *    leaves (LeaveGroup) and we time until the 3 others all hold their new assignment, from the
 *    LeaveGroup request's sending to the last member's GROUP_JOIN; then a new member joins in its
 *    place, timed the same way from its first JoinGroup. Leaves and joins fall at points spread
 *    evenly over the members' heartbeat cycle, the same points for both targets (./groups/rebalance.ts
 *    says why). Also timed: from the last JoinGroup of the rebalance to the last assignment, the
 *    part the coordinator alone decides (join and sync). Each settled state is checked with
 *    DescribeGroups (Stable, its members, all assigned).
 * 2. Offset commits: one member commits offsets for a fixed time — one partition per commit,
 *    awaited; six partitions per commit, awaited; and six commits in flight (one partition each)
 *    on its one connection — and the offsets stored are checked with OffsetFetch afterwards.
 *
 * Both brokers run side by side on loopback, each with group.initial.rebalance.delay.ms=0 (the
 * default is 3000 for both; it delays only a new group's first rebalance). The targets take turns
 * — rebalance round by round, commits in slices of a second — so that load from other work on
 * the machine, drifting over the minutes of the run, falls on both alike. The members run in this
 * process (./groups/members.ts says why that does not skew the figures); broker CPU seconds and
 * peak RSS come from /proc.
 */
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { availableParallelism, loadavg } from 'node:os';
import { ensureKafkaJars } from '../test/helpers/apache-kafka.ts';
import { type CommitVariant, commitLoop, expectCommitted } from './groups/commits.ts';
import { BenchGroup, type BenchMember, MEMBER_TIMING } from './groups/members.ts';
import { phaseMs, RebalanceBench } from './groups/rebalance.ts';
import {
  type CommitTotals,
  type Failed,
  percentile,
  type RebalanceSeries,
  report,
  type Results,
} from './groups/report.ts';
import { cpuSeconds, peakRssBytes, resetPeakRss } from './vs-kafka/proc-stats.ts';
import { apacheKafka, tributary, type Target, type TargetFactory } from './vs-kafka/targets.ts';

// kafkajs 2.2.4 sets a negative timer on Node 24 (tulios/kafkajs#1751): harmless, but it would
// print a warning for every consumer. Other warnings are still printed.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') console.warn(`${w.name}: ${w.message}`);
});

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const PARTITIONS = 6;
const MEMBERS = 4;
const ROUNDS = Number(flag('rounds') ?? (quick ? 3 : 10));
const WARM_UP_ROUNDS = 1;
const COMMIT_SECONDS = Number(flag('seconds') ?? (quick ? 2 : 10));
const SLICE_SECONDS = quick ? 0.5 : 1;
/** Unmeasured commits when a target is prepared, so that neither broker's first case runs cold. */
const WARM_UP_SECONDS = quick ? 0.5 : 2;
const PROPERTIES = { 'group.initial.rebalance.delay.ms': 0 };
const MiB = 1024 * 1024;

const VARIANTS: CommitVariant[] = [
  { label: 'commit 1 partition, awaited', partitionsPerCommit: 1, inFlight: 1 },
  { label: `commit ${PARTITIONS} partitions, awaited`, partitionsPerCommit: PARTITIONS, inFlight: 1 },
  { label: `commit 1 partition, ${PARTITIONS} in flight`, partitionsPerCommit: 1, inFlight: PARTITIONS },
];

/** A started target with its admin client and the member that commits. */
interface Prepared {
  target: Target;
  admin: Admin;
  committer: BenchGroup;
  member: BenchMember;
}

const names = (run: string) => ({
  rebalanceTopic: `bench-groups-${run}-rebalance`,
  rebalanceGroup: `bench-groups-${run}-rebalance`,
  commitTopic: `bench-groups-${run}-commits`,
  commitGroup: `bench-groups-${run}-commits`,
});

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

const failure = (err: unknown): Failed => ({
  failed: (err as Error).message.split('\n').slice(0, 4).join('\n    '),
});

/** Starts a target, creates the topics, forms the committing member's group and warms it up. */
async function prepare(factory: TargetFactory, run: string): Promise<Prepared | string> {
  console.log(`\n${factory.name}: starting`);
  const started = performance.now();
  let target: Target;
  try {
    target = await factory.start({ properties: PROPERTIES });
  } catch (err) {
    return `did not start: ${(err as Error).message}`;
  }
  console.log(`${factory.name}: ready on ${target.bootstrap} (pid ${target.pid}) in ${seconds(started)}`);
  const n = names(run);
  const kafka = new Kafka({
    brokers: [target.bootstrap],
    clientId: 'bench-groups',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const committer = new BenchGroup({
    bootstrap: target.bootstrap,
    topic: n.commitTopic,
    groupId: n.commitGroup,
    partitions: PARTITIONS,
  });
  let step = 'create the topics';
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [n.rebalanceTopic, n.commitTopic].map((topic) => ({ topic, numPartitions: PARTITIONS })),
      waitForLeaders: true,
    });
    step = 'form the committing group';
    const t = performance.now();
    const since = Date.now();
    const member = committer.add();
    await committer.waitSettled(since, 60_000); // the first group creates the offsets topic
    step = 'warm up';
    await commitLoop(member, n.commitTopic, PARTITIONS, VARIANTS[0]!, WARM_UP_SECONDS);
    console.log(`${factory.name}: group formed and warmed up with commits (${seconds(t)})`);
    return { target, admin, committer, member };
  } catch (err) {
    await release({ target, admin, committer });
    return `could not ${step}: ${(err as Error).message}`;
  }
}

async function release(p: Omit<Prepared, 'member'>): Promise<void> {
  await p.committer.close();
  await p.admin.disconnect().catch(() => undefined);
  await p.target.stop();
}

/** Rebalance rounds, the targets taking turns round by round. */
async function measureRebalances(prepared: Prepared[], run: string): Promise<Results['rebalance']> {
  const n = names(run);
  const results: Results['rebalance'] = new Map();
  const benches = new Map<Prepared, RebalanceBench>();
  try {
    for (const p of prepared) {
      try {
        const options = {
          bootstrap: p.target.bootstrap,
          admin: p.admin,
          topic: n.rebalanceTopic,
          groupId: n.rebalanceGroup,
          partitions: PARTITIONS,
          members: MEMBERS,
        };
        benches.set(p, await RebalanceBench.form(options));
        results.set(p.target.name, { rounds: [], cpuSeconds: 0 });
      } catch (err) {
        results.set(p.target.name, failure(err));
      }
    }
    const t = performance.now();
    for (let round = -WARM_UP_ROUNDS; round < ROUNDS; round++) {
      for (const [p, bench] of benches) {
        const series = results.get(p.target.name) as RebalanceSeries;
        try {
          const cpuBefore = cpuSeconds(p.target.pid);
          const figures = await bench.round(phaseMs(Math.max(round, 0)));
          if (round < 0) continue;
          series.rounds.push(figures);
          series.cpuSeconds += cpuSeconds(p.target.pid) - cpuBefore;
        } catch (err) {
          results.set(p.target.name, failure(err));
          benches.delete(p);
          await bench.close();
          console.log(`${p.target.name}: rebalance: failed: ${(err as Error).message}`);
        }
      }
    }
    for (const [p] of benches) {
      const { rounds } = results.get(p.target.name) as RebalanceSeries;
      const p50 = (pick: (r: (typeof rounds)[number]) => number) => percentile(rounds.map(pick), 50);
      console.log(
        `${p.target.name}: rebalance p50 after leave ${p50((r) => r.afterLeave)} ms, after join ${p50((r) => r.afterJoin)} ms`,
      );
    }
    console.log(`rebalances: ${ROUNDS} rounds per target (${seconds(t)})`);
  } finally {
    for (const bench of benches.values()) await bench.close();
  }
  return results;
}

/** One slice of a commit variant against one target, added to its totals. */
async function commitSlice(
  p: Prepared,
  run: string,
  variant: CommitVariant,
  totals: CommitTotals,
): Promise<void> {
  const n = names(run);
  const rssReset = resetPeakRss(p.target.pid);
  if (!rssReset) throw new Error('could not reset the peak RSS (/proc/<pid>/clear_refs)');
  const cpuBefore = cpuSeconds(p.target.pid);
  const client = process.cpuUsage();
  const slice = await commitLoop(p.member, n.commitTopic, PARTITIONS, variant, SLICE_SECONDS);
  const clientCpu = process.cpuUsage(client);
  totals.cpuSeconds += cpuSeconds(p.target.pid) - cpuBefore;
  totals.peakRssMiB = Math.max(totals.peakRssMiB, peakRssBytes(p.target.pid) / MiB);
  totals.clientCpuSeconds += (clientCpu.user + clientCpu.system) / 1e6;
  totals.commits += slice.commits;
  totals.offsets += slice.offsets;
  totals.seconds += slice.seconds;
  totals.sliceRates.push(slice.commits / slice.seconds);
  await expectCommitted(p.admin, n.commitGroup, n.commitTopic, slice.last);
}

/** Commit variants one after the other, the targets taking turns slice by slice. */
async function measureCommits(prepared: Prepared[], run: string): Promise<Results['commits']> {
  const results: Results['commits'] = new Map();
  const slices = Math.max(1, Math.round(COMMIT_SECONDS / SLICE_SECONDS));
  for (const variant of VARIANTS) {
    const byTarget = new Map<string, CommitTotals | Failed>(
      prepared.map((p) => [
        p.target.name,
        {
          commits: 0,
          offsets: 0,
          seconds: 0,
          sliceRates: [],
          cpuSeconds: 0,
          peakRssMiB: 0,
          clientCpuSeconds: 0,
        },
      ]),
    );
    results.set(variant.label, byTarget);
    for (let slice = 0; slice < slices; slice++) {
      for (const p of prepared) {
        const totals = byTarget.get(p.target.name)!;
        if ('failed' in totals) continue;
        try {
          await commitSlice(p, run, variant, totals);
        } catch (err) {
          byTarget.set(p.target.name, failure(err));
          console.log(`${p.target.name}: ${variant.label}: failed: ${(err as Error).message}`);
        }
      }
    }
    for (const [name, totals] of byTarget) {
      if ('failed' in totals) continue;
      console.log(
        `${name}: ${variant.label}: ${Math.round(totals.commits / totals.seconds)} commits/s, broker CPU ${totals.cpuSeconds.toFixed(1)} s`,
      );
    }
  }
  return results;
}

async function main(): Promise<void> {
  const only = flag('target');
  const factories = [apacheKafka, tributary].filter((f) => only === undefined || f.name === only);
  if (factories.length === 0) throw new Error(`--target must be kafka or tributary, not ${only}`);
  await ensureKafkaJars(); // before any timing: a cold fetch takes a while
  // The clients and the brokers share the cores with whatever else runs: say how busy they were.
  const load = (): string => loadavg()[0].toFixed(1);
  console.log(`${availableParallelism()} cores; load average ${load()} before the run`);

  const run = Date.now().toString(36);
  const prepared: Prepared[] = [];
  const skipped = new Map<string, string>();
  const results: Results = { rebalance: new Map(), commits: new Map() };
  try {
    for (const factory of factories) {
      const p = await prepare(factory, run);
      if (typeof p === 'string') {
        console.log(`${factory.name}: SKIPPED, ${p.split('\n')[0]}`);
        skipped.set(factory.name, p);
      } else {
        prepared.push(p);
      }
    }
    console.log('');
    results.rebalance = await measureRebalances(prepared, run);
    results.commits = await measureCommits(prepared, run);
  } finally {
    for (const p of prepared) await release(p);
  }
  report(
    results,
    prepared.map((p) => p.target.name),
    {
      members: MEMBERS,
      partitions: PARTITIONS,
      rounds: ROUNDS,
      commitSeconds: COMMIT_SECONDS,
      sliceSeconds: SLICE_SECONDS,
      quick,
      fetchWaitMs: MEMBER_TIMING.maxWaitTimeInMs,
    },
  );
  for (const p of prepared) console.log(`${p.target.name}: ${p.target.description}`);
  for (const [name, why] of skipped) {
    console.log(`${name}: SKIPPED, ${why.split('\n').slice(0, 12).join('\n    ')}`);
  }
  console.log(`load average ${load()} after the run`);
  // A skipped Tributary is a finding; a Kafka that cannot be measured is a broken bench.
  if (skipped.has('kafka')) process.exitCode = 1;
}

await main();
