/**
 * `npm run soak [-- --kills N] [-- --targets tributary,kafka,kafka-tuned] [-- --quick]`: the fault
 * soak of test/fault/soak.ts — a hundred SIGKILLs of a partition leader by default, with paused
 * followers and leaders, killed coordinators and controllers and restart loops among them — against
 * `tributary dev --brokers 3` and Apache Kafka 3.9 (at its defaults and with failure detection
 * tuned), one after the other on this machine. Prints the history checker's verdict for each side
 * by side, and exits 1 if any run has an anomaly of any kind or stalled.
 *
 * Not part of `npm run bench` (it runs for most of an hour): run it by name.
 */
import { parseArgs } from 'node:util';
import { ANOMALY_KINDS, formatSoakTable } from '../test/fault/soak-table.ts';
import {
  kafkaSoakCluster,
  tributarySoakCluster,
  type StartedSoakCluster,
} from '../test/fault/soak-clusters.ts';
import { runSoak, type SoakResult } from '../test/fault/soak.ts';

const USAGE = `Usage: npm run soak -- [--kills N] [--targets LIST] [--quick]

  --kills N        leader kills per cluster (default 100; other faults every few rounds)
  --targets LIST   comma-separated: tributary, kafka, kafka-tuned (default all three)
  --quick          10 kills, Tributary only: a smoke run of the soak itself
  --markdown       print the table as Markdown too (for the README and issue notes)
  -h, --help       this text
`;

const TARGETS: Record<string, () => Promise<StartedSoakCluster>> = {
  tributary: tributarySoakCluster,
  kafka: () => kafkaSoakCluster(false),
  'kafka-tuned': () => kafkaSoakCluster(true),
};

function options(): { kills: number; targets: string[]; markdown: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        kills: { type: 'string' },
        targets: { type: 'string' },
        quick: { type: 'boolean' },
        markdown: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const kills = Number(values.kills ?? (values.quick ? 10 : 100));
  if (!Number.isInteger(kills) || kills < 1) {
    process.stderr.write(`--kills must be a whole number of at least 1, not ${values.kills}\n`);
    process.exit(2);
  }
  const targets = (values.targets ?? (values.quick ? 'tributary' : Object.keys(TARGETS).join(','))).split(
    ',',
  );
  const unknown = targets.filter((t) => !(t in TARGETS));
  if (unknown.length > 0) {
    process.stderr.write(
      `--targets: no target ${unknown.join(', ')}; choose from ${Object.keys(TARGETS).join(', ')}\n`,
    );
    process.exit(2);
  }
  return { kills, targets, markdown: values.markdown ?? false };
}

const { kills, targets, markdown } = options();
const results: SoakResult[] = [];
const descriptions: string[] = [];
for (const name of targets) {
  const started = Date.now();
  const log = (line: string) =>
    process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}\n`);
  log(`starting ${name}`);
  const cluster = await TARGETS[name]!();
  try {
    results.push(await runSoak(cluster, { leaderKills: kills, log }));
    descriptions.push(`${name}: ${cluster.description}`);
  } finally {
    await cluster.stop();
  }
  process.stdout.write(`\n${formatSoakTable(results)}\n`);
}

process.stdout.write(`\nFault soak, ${kills} leader kills per cluster\n\n${formatSoakTable(results)}\n\n`);
if (markdown) process.stdout.write(`${formatSoakTable(results, 'markdown')}\n\n`);
process.stdout.write(`${descriptions.join('\n')}\n`);
const bad = results.filter(
  (r) => r.stalls.length > 0 || r.stored.problems.length > 0 || r.consumed.problems.length > 0,
);
for (const r of bad) {
  for (const p of [...r.stored.problems, ...r.consumed.problems].slice(0, 20))
    process.stdout.write(`${r.name}: ${p.kind}: ${p.detail}\n`);
  for (const s of r.stalls) process.stdout.write(`${r.name}: stalled: ${s}\n`);
}
process.stdout.write(
  bad.length === 0
    ? `\nNo anomaly of any kind (${ANOMALY_KINDS.length} kinds checked) on ${results.map((r) => r.name).join(', ')}.\n`
    : `\nAnomalies on ${bad.map((r) => r.name).join(', ')}.\n`,
);
process.exit(bad.length === 0 ? 0 : 1);
