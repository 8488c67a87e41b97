/**
 * What the fault tests share beyond ../replication/support.ts: the controller's process in a
 * `tributary dev` cluster (the dev-cluster helper finds brokers only), the supervisor held still so
 * an outage lasts as long as a test needs, topics with small segments, and a topic's log read back
 * into a history.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { eventually, type DevCluster, type PartitionInfo } from '../../helpers/dev-cluster.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';
import type { History } from '../../fault/history.ts';

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : Number(fields[1]);
  } catch {
    return undefined;
  }
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = parentOf(pid); p !== undefined && p > 1; p = parentOf(p)) if (p === ancestor) return true;
  return false;
}

/** The controller's process id as it runs now (a restart changes it); undefined while it is down. */
export function controllerPid(cluster: DevCluster): number | undefined {
  const dataDir = join(cluster.root, 'controller');
  const matches: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (args.includes('controller') && args.includes(dataDir) && descendsFrom(pid, cluster.pid))
      matches.push(pid);
  }
  // The controller itself, not a wrapper around it: the deepest match.
  return matches.sort((a, b) => (descendsFrom(a, b) ? -1 : descendsFrom(b, a) ? 1 : 0))[0];
}

/** Whether `pid` runs (a zombie does not). */
export function running(pid: number): boolean {
  const stat = (() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return '';
    }
  })();
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** Resolves once the controller answers /healthz. */
export async function waitControllerUp(cluster: DevCluster, timeoutMs = 30_000): Promise<void> {
  await eventually(
    async () => {
      const res = await fetch(`${cluster.controllerUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status !== 200) throw new Error(`the controller answered ${res.status}`);
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Every record of `topic`, read back from the leaders, into `history` (by the `id` header). */
export async function readLogInto(cluster: DevCluster, topic: string, history: History): Promise<void> {
  const log = await readTopicWithKafkajs(cluster.kafka, topic);
  for (const records of log.values()) {
    for (const r of records) history.read(String(r.headers['id']), r.partition, r.offset);
  }
}

/**
 * The topic's partitions once Metadata (from whichever broker kafkajs asks) shows each with a leader
 * and a full ISR: brokers learn of a new topic a moment after CreateTopics has answered.
 */
export async function settledPartitions(cluster: DevCluster, topic: string): Promise<PartitionInfo[]> {
  return eventually(async () => {
    const partitions = await cluster.partitions(topic);
    for (const p of partitions) {
      if (p.leader < 0 || p.isr.length !== p.replicas.length)
        throw new Error(`${topic}-${p.partition} not settled: ${JSON.stringify(p)}`);
    }
    return partitions;
  });
}

/** Runs `fn`; a failure carries the cluster's last lines of output, to tell what it was doing. */
export async function withOutput<T>(cluster: DevCluster, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error)
      err.message += `\n--- the cluster's output, last lines:\n${cluster.output().slice(-6000)}`;
    throw err;
  }
}

/**
 * An RF=3 topic with min.insync.replicas=2 (as ../replication/support.ts creates them) and small
 * segments, so that a kill lands around segment rolls and recovery has several segments to open.
 */
export async function createSmallSegmentTopic(
  admin: Admin,
  topic: string,
  partitions: number,
): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: partitions,
        replicationFactor: 3,
        configEntries: [
          { name: 'min.insync.replicas', value: '2' },
          { name: 'segment.bytes', value: String(SMALL_SEGMENT_BYTES) },
        ],
      },
    ],
  });
}

export const SMALL_SEGMENT_BYTES = 4096;

/**
 * kafkajs consumer settings for clusters whose brokers come and go. kafkajs 2.2.4 rebuilds its
 * fetchers when the set of brokers in its metadata changes; a disconnect that lands while it waits
 * for the old fetchers' long polls to end leaves new fetchers running against a stopped runner, whose
 * fetch answers at once without I/O: the process then spins in microtasks forever, jest's timeouts
 * included (the same family as tulios/kafkajs#1384). Long polls of 100 ms shrink that window to
 * almost nothing; waiting for the cluster to settle before disconnecting does the rest.
 */
export const CONSUMER_SETTINGS = { maxWaitTimeInMs: 100, retry: { retries: 30, maxRetryTime: 1000 } };
