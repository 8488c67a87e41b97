/**
 * Structure-aware fuzzing of every request a broker process advertises, version by version
 * (issue 12's input fault injector): for each (API key, version) in its ApiVersions answer,
 * TRIBUTARY_FUZZ_CASES hostile requests built from the codecs' schemas (test/fault/fuzz-*.ts), each
 * on its own connection, then those that keep the framing intact pipelined five to a connection
 * (answered in order). The broker must answer each with a response that decodes under the
 * request's correlation id, or close that connection — never hang, never crash — while a witness
 * client on its own connections writes and reads a topic and sees every write acknowledged and read
 * back in order. At the end the process is alive, ready, stops cleanly on SIGTERM, and has logged no
 * error and no stack trace other than a rejected request's DecodeError.
 *
 * The witness's topic is never named by the fuzzer (nor its id): requests that may legitimately
 * destroy data (DeleteTopics, DeleteRecords, AlterConfigs…) aim at the victim topics instead.
 * A failure names the run's seed: TRIBUTARY_FUZZ_SEED=<seed> replays it.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import type { ApiVersionsResponse } from '../../../src/protocol/messages/api-versions-response.ts';
import { encodeAssignment, encodeSubscription } from '../../../src/protocol/consumer-protocol.ts';
import { InitProducerIdRequest } from '../../../src/protocol/messages/init-producer-id-request.ts';
import type { InitProducerIdResponse } from '../../../src/protocol/messages/init-producer-id-response.ts';
import type { JoinGroupResponse } from '../../../src/protocol/messages/join-group-response.ts';
import type { SyncGroupResponse } from '../../../src/protocol/messages/sync-group-response.ts';
import type { CreateTopicsResponse } from '../../../src/protocol/messages/create-topics-response.ts';
import { ApiKey, apis } from '../../../src/protocol/messages/index.ts';
import { MetadataRequest } from '../../../src/protocol/messages/metadata-request.ts';
import type { MetadataResponse } from '../../../src/protocol/messages/metadata-response.ts';
import { probePipeline } from '../../fault/fuzz-pipeline.ts';
import { probe } from '../../fault/fuzz-probe.ts';
import { runSeed } from '../../fault/fuzz-random.ts';
import { buildCase, describeCase, type FuzzCase } from '../../fault/fuzz-requests.ts';
import type { FuzzTargets } from '../../fault/fuzz-values.ts';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import { eventually } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { logProblems, summarize } from './log-check.ts';
import { Witness } from './witness.ts';

jest.setTimeout(90_000);

/** Per (API key, version): 100 make about 15,000 cases, 10-30 s on two busy cores. */
const CASES = Number(process.env['TRIBUTARY_FUZZ_CASES'] ?? 100);
const CONCURRENCY = 8;
const CHUNK = 1000;
/** Requests per connection in the pipelined pass. */
const PIPELINED = 5;
/** Longer than anything a request may make the broker wait for (the fuzzer keeps waits under a second). */
const CASE_TIMEOUT_MS = 10_000;
const SEED = runSeed();
const suffix = randomBytes(4).toString('hex');
const WITNESS_TOPIC = `witness-${suffix}`;
const VICTIMS = [`victim-${suffix}`, `victim2-${suffix}`];

let broker: BrokerProcess;
let admin: RawClient;
let targets: FuzzTargets;
let advertised: ApiVersionsResponse['apiKeys'];

beforeAll(async () => {
  broker = await spawnBroker({ properties: { 'group.initial.rebalance.delay.ms': '100' } });
  admin = await RawClient.connect(broker.port);
  const created = await admin.call<CreateTopicsResponse>(ApiKey.CreateTopics, 5, {
    topics: [WITNESS_TOPIC, ...VICTIMS].map((name) => ({
      name,
      numPartitions: name === WITNESS_TOPIC ? 1 : 3,
      replicationFactor: -1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 10_000,
    validateOnly: false,
  });
  expect(created.topics.map((t) => t.errorCode)).toEqual([0, 0, 0]);
  const metadata = await admin.call<MetadataResponse>(ApiKey.Metadata, 12, {
    ...MetadataRequest.defaults(),
    topics: null,
    allowAutoTopicCreation: false,
  });
  const idOf = (name: string): string => metadata.topics.find((t) => t.name === name)!.topicId;
  targets = {
    topics: VICTIMS,
    topicIds: VICTIMS.map(idOf),
    groups: [`group-${suffix}`, ''],
    members: [],
    producerIds: [],
    forbidden: new Set([WITNESS_TOPIC, idOf(WITNESS_TOPIC)]),
  };
  const producer = await admin.call<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
    ...InitProducerIdRequest.defaults(),
    transactionalId: null,
    transactionTimeoutMs: 60_000,
  });
  expect(producer.errorCode).toBe(ErrorCode.NONE);
  targets = {
    ...targets,
    members: [await joinedMember(targets.groups[0]!)],
    producerIds: [Number(producer.producerId)],
  };
  const versions = await admin.call<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
    clientSoftwareName: 'fuzz',
    clientSoftwareVersion: '1',
  });
  expect(versions.errorCode).toBe(ErrorCode.NONE);
  advertised = versions.apiKeys;
});

/**
 * The id of the one member of a new stable group, with a session long enough to outlive the run:
 * the fuzzer names them, so its group requests reach past "unknown member" into the coordinator.
 */
async function joinedMember(groupId: string): Promise<string> {
  const join = (memberId: string) =>
    admin.call<JoinGroupResponse>(ApiKey.JoinGroup, 9, {
      groupId,
      sessionTimeoutMs: 120_000,
      rebalanceTimeoutMs: 1000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: encodeSubscription({ topics: VICTIMS }) }],
      reason: null,
    });
  // The first FindCoordinator creates the offsets topic; the group has a coordinator once it is up.
  const joined = await eventually(async () => {
    await admin.call(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [groupId] });
    const first = await join('');
    const second = await join(first.memberId);
    expect(second.errorCode).toBe(ErrorCode.NONE);
    return second;
  });
  const synced = await admin.call<SyncGroupResponse>(ApiKey.SyncGroup, 5, {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [
      {
        memberId: joined.memberId,
        assignment: encodeAssignment({ assignedPartitions: [{ topic: VICTIMS[0]!, partitions: [0, 1, 2] }] }),
      },
    ],
  });
  expect(synced.errorCode).toBe(ErrorCode.NONE);
  return joined.memberId;
}

afterAll(async () => {
  admin?.close();
  await broker?.remove();
});

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/** Every case: each advertised (API key, version), CASES times. */
function allCases(): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const apiKeys = [...apis.keys()].filter((k) => !advertised.some((a) => a.apiKey === k));
  for (const { apiKey, minVersion, maxVersion } of advertised) {
    const api = apis.get(apiKey);
    if (!api) throw new Error(`the broker advertises API ${apiKey}, which no schema defines`);
    const unserved = { apiKeys, versions: [minVersion - 1, maxVersion + 1] };
    for (let version = minVersion; version <= maxVersion; version++) {
      for (let index = 0; index < CASES; index++) {
        cases.push(buildCase({ api, version, index, runSeed: SEED, targets, unserved }));
      }
    }
  }
  return cases;
}

/** What the run saw: failures to report, outcomes to count, offending log lines (by line). */
interface Findings {
  failures: string[];
  tally: Map<string, number>;
  problems: Map<string, string>;
}

function count(f: Findings, key: string): void {
  f.tally.set(key, (f.tally.get(key) ?? 0) + 1);
}

/**
 * Runs `probeOne` over `items`, CONCURRENCY at a time, in chunks: the broker helper keeps the last
 * 5,000 lines of output, so the log is scanned after each.
 */
async function run<T>(
  items: T[],
  chunk: number,
  f: Findings,
  probeOne: (item: T) => Promise<void>,
): Promise<void> {
  for (let at = 0; at < items.length; at += chunk) {
    await pool(items.slice(at, at + chunk), CONCURRENCY, probeOne);
    for (const [line, problem] of logProblems(broker.output())) f.problems.set(line, problem);
  }
}

describe('fuzzing every advertised request against a broker process', () => {
  it('gets an answer or a closed connection for each, and the witness sees nothing of it', async () => {
    const cases = allCases();
    const witness = new Witness({ port: broker.port, topic: WITNESS_TOPIC, requestTimeoutMs: 10_000 });
    await witness.start();
    const f: Findings = { failures: [], tally: new Map(), problems: new Map() };
    const started = Date.now();
    await run(cases, CHUNK, f, async (c) => {
      const result = await probe(broker.port, c, CASE_TIMEOUT_MS);
      count(f, result.outcome);
      if (c.kind === 'valid' && result.answered) count(f, 'answered-valid');
      if (result.outcome === 'hung' || result.outcome === 'wrong') {
        f.failures.push(`${describeCase(c, SEED)}: ${result.detail}`);
      }
    });
    // Then the cases that keep the framing intact, pipelined a few to a connection: the valid ones
    // first, since a sabotaged one is likely to end the connection.
    const intact = cases.filter((c) => !c.finAfter);
    const pipelines = Array.from({ length: Math.ceil(intact.length / PIPELINED) }, (_, i) =>
      intact
        .slice(i * PIPELINED, (i + 1) * PIPELINED)
        .sort((a, b) => Number(a.kind !== 'valid') - Number(b.kind !== 'valid')),
    );
    await run(pipelines, CHUNK / PIPELINED, f, async (batch) => {
      const result = await probePipeline(broker.port, batch, CASE_TIMEOUT_MS);
      count(f, `pipelined ${result.outcome}`);
      if (result.outcome === 'hung' || result.outcome === 'wrong') {
        f.failures.push(`pipelined from ${describeCase(batch[0]!, SEED)}: ${result.detail}`);
      }
    });
    await witness.stopWriting();
    await eventually(
      () => expect(witness.read >= witness.written || witness.failures.length > 0).toBe(true),
      {
        timeoutMs: 10_000,
      },
    );
    await witness.stop();
    process.stdout.write(
      `fuzz seed ${SEED}: ${cases.length} cases over ${advertised.length} APIs, then ${pipelines.length} pipelines, ` +
        `in ${Date.now() - started} ms; ${[...f.tally].map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
        `witness wrote ${witness.written}, read ${witness.read}\n`,
    );

    expect(f.failures).toEqual([]);
    expect(witness.failures).toEqual([]);
    expect(witness.written).toBeGreaterThan(0);
    expect(witness.read).toBe(witness.written);
    // A broker that answered nothing at all would pass the checks above by closing every connection.
    expect(f.tally.get('answered-valid') ?? 0).toBeGreaterThan(cases.length / 4);

    process.kill(broker.pid, 0);
    expect((await fetch(`${broker.adminUrl}/readyz`)).status).toBe(200);
    // And it still stops cleanly, its logs closed: nothing the fuzzer left behind holds it up.
    expect(await broker.stop()).toBe(0);
    for (const [line, problem] of logProblems(broker.output())) f.problems.set(line, problem);
    expect(summarize(f.problems)).toEqual([]);
  });
});
