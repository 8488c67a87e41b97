/**
 * Failover time, measured from outside as a client sees it: SIGKILL (or SIGSTOP) of a partition's leader, then
 * the time until the probe's first acknowledged write on that partition among the records sent
 * after the kill (acks=all, a record every few milliseconds, so the figure's resolution is that
 * interval, plus a millisecond of wall clock). Between kills the killed broker is
 * brought back and the partition's ISR waited on until it is full again, so each kill starts from a
 * healthy cluster; the next kill takes whichever broker leads then.
 */
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { ClusterTarget } from './targets.ts';
import { FailoverProbe, nowMicros } from '../../test/fault/java-probe.ts';

export const PROBE_INTERVAL_MS = 5;

export interface FailoverRun {
  /** Milliseconds from each fault to the first acknowledgement after it. */
  times: number[];
  /** Faults that did not end in an acknowledgement, with why. */
  failures: string[];
}

/** A kafkajs admin on every broker of the target (for Metadata and topic creation). */
export async function adminFor(target: ClusterTarget): Promise<Admin> {
  const kafka = new Kafka({
    clientId: 'tributary-bench-replication',
    brokers: target.brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 20 },
  });
  const admin = kafka.admin();
  await admin.connect();
  return admin;
}

/** Creates an RF=3 topic with min.insync.replicas=2 and waits until every partition has a full ISR. */
export async function createReplicatedTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: partitions,
        replicationFactor: 3,
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
  });
  await waitFullIsr(admin, topic, 60_000);
}

async function partitionState(
  admin: Admin,
  topic: string,
): Promise<Array<{ leader: number; isr: number[] }>> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]!.partitions.map((p) => ({ leader: p.leader, isr: p.isr }));
}

/** Waits until every partition of `topic` has a leader and three replicas in sync. */
export async function waitFullIsr(admin: Admin, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const state = await partitionState(admin, topic);
      if (state.every((p) => p.leader >= 0 && p.isr.length === 3)) return;
      last = JSON.stringify(state);
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`${topic}: the ISR is not full after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What is done to the leader: `kill` is SIGKILL (the process and its connections gone at once), the
 * broker then brought back; `stop` is SIGSTOP (a hung broker: its connections stay open, nothing
 * answers, so only a missed heartbeat can tell), the broker then resumed.
 */
export type Fault = 'kill' | 'stop';

export async function measureFailover(
  target: ClusterTarget,
  o: {
    topic: string;
    fault: Fault;
    times: number;
    log: (line: string) => void;
    /** The probe's request.timeout.ms (2000). */
    requestTimeoutMs?: number;
  },
): Promise<FailoverRun> {
  const admin = await adminFor(target);
  const run: FailoverRun = { times: [], failures: [] };
  let probe: FailoverProbe | undefined;
  try {
    await createReplicatedTopic(admin, o.topic, 1);
    probe = await FailoverProbe.start({
      bootstrap: target.bootstrap,
      topic: o.topic,
      partition: 0,
      intervalMs: PROBE_INTERVAL_MS,
      requestTimeoutMs: o.requestTimeoutMs,
    });
    for (let k = 0; k < o.times; k++) {
      await waitFullIsr(admin, o.topic, 180_000);
      // Writes flow before the fault: a second of acknowledgements from the healthy cluster.
      await probe.waitForAck(nowMicros(), 30_000);
      await sleep(1000);
      const leader = (await partitionState(admin, o.topic))[0]!.leader;
      const what = `${o.fault} ${k + 1}/${o.times} of broker ${leader}`;
      const faultAt = nowMicros();
      await (o.fault === 'kill' ? target.kill(leader) : target.pause(leader));
      try {
        const ack = await probe.waitForAck(faultAt, 90_000);
        const ms = (ack.ackedMicros - faultAt) / 1000;
        run.times.push(ms);
        o.log(`${what}: first ack after ${ms.toFixed(0)} ms`);
      } catch (err) {
        run.failures.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
        o.log(run.failures.at(-1)!);
      }
      await (o.fault === 'kill' ? target.revive(leader) : target.resume(leader));
    }
    if (probe.errors.length > 0) run.failures.push(`${probe.errors.length} sends failed for good`);
    return run;
  } finally {
    await probe?.stop();
    await admin.disconnect();
  }
}
