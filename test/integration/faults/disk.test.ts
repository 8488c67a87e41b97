/**
 * Disk faults under one whole broker, with real files and real clients: an fsync that fails, a full
 * disk (ENOSPC), a torn write — each aimed at topic A's log through the storage `Fs` seam (a FaultyFs
 * over the real file system, test/fault/disk.ts) while a kafkajs producer (acks=all) writes to A and
 * to B and records every acknowledged offset.
 *
 * Each case asserts what Kafka promises for a log on a failed disk: the produce that met the fault
 * and every later one to A get KAFKA_STORAGE_ERROR (kafkajs's type, and librdkafka's "Disk error"
 * through kcat in one case), a fetch of A too; B is produced and fetched throughout; after a restart
 * on the same directory with the real file system (the disk repaired or freed), A serves again with
 * every acknowledged record at its acknowledged offset, and nothing there that was never sent.
 * A record whose send failed may be there or not (in doubt), and the figures printed say which.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createLogger } from '../../../src/common/logger.ts';
import { DiskFaults, segmentFiles } from '../../fault/disk.ts';
import { SendLog, kafkaErrorType, type Verdict } from '../../fault/disk-workload.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';

jest.setTimeout(60_000);

const A = 'disk-a';
const B = 'disk-b';
const BEFORE = 20;

interface Run {
  faults: DiskFaults;
  broker: TestBroker;
  kafka: Kafka;
  producer: Producer;
  a: SendLog;
  b: SendLog;
  /** The broker's log lines, parsed. */
  lines: Array<Record<string, unknown>>;
}

const runs: Run[] = [];

afterEach(async () => {
  for (const r of runs.splice(0)) {
    await r.producer.disconnect().catch(() => undefined);
    await r.broker.remove();
  }
});

function logger(lines: Run['lines']): ReturnType<typeof createLogger> {
  return createLogger({ level: 'info', destination: { write: (l) => void lines.push(JSON.parse(l)) } });
}

function client(bootstrap: string): Kafka {
  return new Kafka({
    clientId: 'disk-faults',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

/** A broker over a FaultyFs, topics A (with `configA`) and B, and BEFORE acknowledged sends to each. */
async function start(configA: Record<string, string> = {}): Promise<Run> {
  const faults = new DiskFaults();
  const lines: Run['lines'] = [];
  const broker = await startTestBroker({ fs: faults.fs, logger: logger(lines) });
  const kafka = client(broker.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: A,
        numPartitions: 1,
        configEntries: Object.entries(configA).map(([name, value]) => ({ name, value })),
      },
      { topic: B, numPartitions: 1 },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  const run: Run = { faults, broker, kafka, producer, a: new SendLog(A), b: new SendLog(B), lines };
  runs.push(run);
  for (let i = 0; i < BEFORE; i++) {
    expect(await run.a.send(producer)).toBeNull();
    expect(await run.b.send(producer)).toBeNull();
  }
  return run;
}

/** After the fault: A refuses produce and fetch with KAFKA_STORAGE_ERROR; B serves both. */
async function expectAOfflineBServing(run: Run): Promise<void> {
  expect(await run.a.send(run.producer)).toBe('KAFKA_STORAGE_ERROR');
  const fetchA = await readTopicWithKafkajs(run.kafka, A).catch((e: unknown) => e);
  expect(kafkaErrorType(fetchA) ?? String(fetchA)).toMatch(/KAFKA_STORAGE_ERROR|error code 56/);
  expect(await run.b.sendMany(run.producer, 5)).toEqual([]);
  const bRead = (await readTopicWithKafkajs(run.kafka, B)).get(0)!;
  expect(run.b.judge(bRead)).toEqual({ lost: [], moved: [], neverSent: [], inDoubtPresent: [] });
  const offline = run.lines.filter((l) => l['msg'] === 'Took partition log offline after an I/O failure');
  expect(offline.map((l) => `${String(l['topic'])}-${String(l['partition'])}`)).toEqual([`${A}-0`]);
}

/**
 * Stops the broker and starts it again on the same directory over the real file system; reads A
 * back, judges it, and sends to A again. Returns the verdict and the restarted broker's log lines.
 */
async function restartAndJudge(run: Run): Promise<{ verdict: Verdict; lines: Run['lines'] }> {
  await run.producer.disconnect();
  await run.broker.stop();
  const lines: Run['lines'] = [];
  run.broker = await startTestBroker({ dataDir: run.broker.dataDir, logger: logger(lines) });
  run.kafka = client(run.broker.bootstrap);
  run.producer = run.kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await run.producer.connect();
  const records = (await readTopicWithKafkajs(run.kafka, A)).get(0)!;
  const verdict = run.a.judge(records);
  const end = records.length === 0 ? 0 : Number(records[records.length - 1].offset) + 1;
  expect(await run.a.send(run.producer, 'after-restart')).toBeNull();
  expect(run.a.acked.get(end)).toBe('after-restart');
  expect(run.b.judge((await readTopicWithKafkajs(run.kafka, B)).get(0)!).lost).toEqual([]);
  process.stdout.write(
    `disk fault ${expect.getState().currentTestName}: A acked ${run.a.acked.size - 1} before the restart, ` +
      `failed sends ${run.a.failed.size}, in doubt and present ${verdict.inDoubtPresent.length}; ` +
      `lost ${verdict.lost.length}, moved ${verdict.moved.length}, never sent ${verdict.neverSent.length}\n`,
  );
  return { verdict, lines };
}

/** kcat against the running broker (spawned, not spawnSync: the broker runs in this process). */
async function kcat(args: string[], input = ''): Promise<{ stdout: string; stderr: string }> {
  const bootstrap = runs[0].broker.bootstrap;
  const child = spawn('kcat', ['-b', bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await new Promise((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { stdout, stderr };
}

const clean: Pick<Verdict, 'lost' | 'moved' | 'neverSent'> = { lost: [], moved: [], neverSent: [] };

describe('disk faults on one log of a running broker', () => {
  it('an fsync that fails: that produce and every later one to A get KAFKA_STORAGE_ERROR; kcat sees the disk error', async () => {
    // flush.messages=1: every produce to A is fsynced before it is acknowledged, so the failing
    // fsync belongs to a produce, which must not be acknowledged.
    const run = await start({ 'flush.messages': '1' });
    run.faults.failNextSync(A, 0);
    expect(await run.a.send(run.producer)).toBe('KAFKA_STORAGE_ERROR');
    await expectAOfflineBServing(run);
    // librdkafka retries a KAFKA_STORAGE_ERROR (refreshing metadata) until the message times out;
    // its debug log shows the broker's answer.
    const kcatA = await kcat(
      ['-P', '-t', A, '-p', '0', '-X', 'message.timeout.ms=2000', '-d', 'msg'],
      'kcat\n',
    );
    expect(kcatA.stderr).toContain(
      'Broker: Disk error when trying to access log file on disk (actions Refresh,Retry,MsgNotPersisted)',
    );
    expect(kcatA.stderr).toContain('Delivery failed');
    const kcatB = await kcat(['-C', '-t', B, '-p', '0', '-e', '-q', '-f', '%o %s\\n']);
    expect(kcatB.stdout.trim().split('\n')).toHaveLength(BEFORE + 5);
    const { verdict } = await restartAndJudge(run);
    expect(verdict).toMatchObject(clean);
  });

  it('a full disk (ENOSPC): A refuses writes, still after the disk frees, until a restart; nothing acknowledged is lost', async () => {
    const run = await start();
    run.faults.fillDisk(A, 0);
    expect(await run.a.send(run.producer)).toBe('KAFKA_STORAGE_ERROR');
    await expectAOfflineBServing(run);
    // As in Kafka, a log dir taken offline stays offline until the broker restarts.
    run.faults.freeDisk();
    expect(await run.a.send(run.producer)).toBe('KAFKA_STORAGE_ERROR');
    const { verdict } = await restartAndJudge(run);
    expect(verdict).toMatchObject(clean);
    expect(verdict.inDoubtPresent).toEqual([]);
  });

  it('a torn write: recovery cuts the torn batch from the end of A and names the file and offset', async () => {
    const run = await start();
    const active = segmentFiles(run.broker.dataDir, A, 0).at(-1)!;
    run.faults.tearNextWrite(A, 0, 30);
    expect(await run.a.send(run.producer)).toBe('KAFKA_STORAGE_ERROR');
    await expectAOfflineBServing(run);
    const { verdict, lines } = await restartAndJudge(run);
    expect(verdict).toMatchObject(clean);
    expect(verdict.inDoubtPresent).toEqual([]);
    const cut = lines.find((l) => String(l['msg']).startsWith('Cut a torn write'));
    expect(cut).toMatchObject({ topic: A, partition: 0, file: active, offset: BEFORE });
    expect(String(cut!['msg'])).toContain(`${active} at byte`);
  });
});
