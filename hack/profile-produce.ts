/**
 * `node hack/profile-produce.ts [--acks 1|all] [--records N]`: where the broker's CPU goes under
 * Kafka's ProducerPerformance load. Starts `tributary broker` with `--cpu-prof`, creates an
 * 8-partition topic, runs the same load as bench/vs-kafka.ts, stops the broker with SIGTERM (so the
 * profile is written), and prints the functions with the most self time, and the same summed by
 * source file. Needs Java and the Kafka jars (hack/kafka/fetch.sh).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { producerPerformance } from '../bench/vs-kafka/perf-tools.ts';
import { REPO, freePorts } from '../test/helpers/apache-kafka.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values } = parseArgs({
  options: { acks: { type: 'string', default: '1' }, records: { type: 'string', default: '200000' } },
});
const dir = mkdtempSync(join(tmpdir(), 'tributary-profile-'));
const [port, adminPort] = await freePorts(2);
const broker = spawn(
  process.execPath,
  [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    join(REPO, 'src/cli/main.ts'),
    'broker',
    '--listen',
    `127.0.0.1:${port}`,
    '--admin-listen',
    `127.0.0.1:${adminPort}`,
    '--data-dir',
    join(dir, 'data'),
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
const bootstrap = `127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  const ok = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  if (i > 300) throw new Error('broker did not become ready');
  await new Promise((r) => setTimeout(r, 100));
}
const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: 'profile', numPartitions: 8 }] });
await admin.disconnect();
console.log(`Producing ${values.records} records of 1 KiB, acks=${values.acks}…`);
const summary = await producerPerformance({
  bootstrap,
  topic: 'profile',
  records: Number(values.records),
  recordSize: 1024,
  throughput: -1,
  acks: values.acks === 'all' ? 'all' : '1',
  timeoutMs: 300_000,
});
console.log(`${summary.mbPerSec} MB/s, p99 ${summary.p99Ms} ms`);
broker.kill('SIGTERM');
await new Promise((r) => broker.once('exit', r));

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
let total = 0;
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = byNode.get(id)!.callFrame;
  total += us;
  const where = f.url.startsWith('file://') ? relative(REPO, new URL(f.url).pathname) : f.url || '(native)';
  const name = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byFile.set(where, (byFile.get(where) ?? 0) + us);
}
const top = (m: Map<string, number>, n: number): string[] =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(6)} s  ${k}`,
    );
console.log(`\nBroker CPU profile: ${(total / 1e6).toFixed(2)} s sampled (${join(dir, file)})`);
console.log('\nSelf time by function:');
console.log(top(byFunction, 20).join('\n'));
console.log('\nSelf time by file:');
console.log(top(byFile, 12).join('\n'));
