/**
 * kcat (librdkafka), unchanged, against `tributary dev --brokers 3`: `-L` shows each partition of an
 * RF=3 topic with its leader, three replicas and three in-sync replicas; records produced with
 * librdkafka's default acks=all before and after a kill -9 of the partition's leader are all there,
 * once each and in order, read back from the new leader. A replication factor above the brokers there
 * are is refused as Kafka refuses it.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { random } from './support.ts';

jest.setTimeout(120_000);

if (spawnSync('kcat', ['-V']).error) {
  throw new Error('kcat is not installed: run hack/tools/kcat.sh (or apt-get install kcat)');
}

let cluster: DevCluster;

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Runs kcat against the cluster; rejects with its stderr on a non-zero exit or after 60 s. */
function kcat(args: string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', cluster.bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`kcat ${args.join(' ')} ended with ${code ?? signal}:\n${err}\nstdout:\n${out}`));
    });
    child.stdin.end(stdin);
  });
}

/** `partition 0, leader 1, replicas: 1,2,0, isrs: 1,2,0` → its numbers. */
function partitionsOf(listing: string): Array<{ leader: number; replicas: number[]; isr: number[] }> {
  const ids = (s: string) => s.split(',').map(Number);
  return [...listing.matchAll(/partition \d+, leader (-?\d+), replicas: ([\d,]+), isrs: ([\d,]+)/g)].map(
    (m) => ({ leader: Number(m[1]), replicas: ids(m[2]), isr: ids(m[3]) }),
  );
}

describe('replication > kcat on a 3-broker cluster', () => {
  it('lists leaders, replicas and ISRs, and loses nothing produced with acks=all across a leader kill', async () => {
    const topic = random('kcat-rf3');
    const admin = cluster.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: 3,
            replicationFactor: 3,
            configEntries: [{ name: 'min.insync.replicas', value: '2' }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const listed = await eventually(async () => {
      const ps = partitionsOf(await kcat(['-L', '-t', topic]));
      if (ps.length !== 3 || ps.some((p) => p.isr.length !== 3)) throw new Error('ISRs not full yet');
      return ps;
    });
    for (const p of listed) {
      expect([...p.replicas].sort()).toEqual([0, 1, 2]);
      expect(p.replicas).toContain(p.leader);
    }

    const lines = (from: number) =>
      Array.from({ length: 100 }, (_, i) => `k${from + i}:v${from + i}`).join('\n') + '\n';
    await kcat(['-P', '-t', topic, '-p', '0', '-K:'], lines(0));
    const leader = await cluster.leader(topic, 0);
    await cluster.kill(leader, 'SIGKILL');
    // librdkafka sends with acks=all by default; it exits 0 only once every record is acknowledged.
    await kcat(['-P', '-t', topic, '-p', '0', '-K:'], lines(100));

    const read = await kcat([
      '-C',
      '-t',
      topic,
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%k=%s@%o\n',
    ]);
    const records = read.trim().split('\n');
    expect(records).toEqual(Array.from({ length: 200 }, (_, i) => `k${i}=v${i}@${i}`));
    expect(await cluster.leader(topic, 0)).not.toBe(leader);
  });

  it('refuses a replication factor above the live broker count with INVALID_REPLICATION_FACTOR', async () => {
    const admin = cluster.kafka.admin();
    await admin.connect();
    try {
      await expect(
        admin.createTopics({ topics: [{ topic: random('rf4'), numPartitions: 1, replicationFactor: 4 }] }),
      ).rejects.toMatchObject({ errors: [expect.objectContaining({ type: 'INVALID_REPLICATION_FACTOR' })] });
    } finally {
      await admin.disconnect();
    }
  });
});
