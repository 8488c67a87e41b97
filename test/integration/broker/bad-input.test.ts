/**
 * Bad input against the broker process, with a real client beside it: every offender gets its
 * error or a closed connection, and only that; a kafkajs producer sending all along never notices;
 * the records written before are all still there; /metrics counts each rejection by reason.
 *
 * test/unit/broker/listener.test.ts checks the listener's framing rules in-process, one case each;
 * this file checks that they hold in the real process, against the real handlers, under load.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { decodeResponse, encodeRequest } from '../../../src/protocol/frame.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { ApiVersionsResponse } from '../../../src/protocol/messages/api-versions-response.ts';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';
import { RawClient } from '../../helpers/raw-client.ts';

// Broker processes and real clients: seconds, not the default five.
jest.setTimeout(60_000);

/** Short, so the stalled client is cut quickly; kafkajs reconnects by itself when it is idle that long. */
const IDLE_MS = 2000;
const BEFORE = 200;

let broker: BrokerProcess;
let kafka: Kafka;
let producer: Producer;
const topic = `bad-input-${randomBytes(4).toString('hex')}`;

/** A producer that keeps sending, one acknowledged send after another, until told to stop. */
const background = { stop: false, sent: 0, failures: [] as string[], done: Promise.resolve() };

beforeAll(async () => {
  broker = await spawnBroker({ properties: { 'connections.max.idle.ms': String(IDLE_MS) } });
  kafka = new Kafka({
    clientId: 'bad-input-bystander',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 5 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
  await admin.disconnect();
  producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  for (let i = 0; i < BEFORE; i += 50) {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 50 }, (_, j) => ({ key: `k${i + j}`, value: `before ${i + j}` })),
    });
  }
  background.done = (async () => {
    while (!background.stop) {
      const n = background.sent;
      try {
        await producer.send({ topic, acks: -1, messages: [{ key: `k${n}`, value: `during ${n}` }] });
        background.sent++;
      } catch (err) {
        background.failures.push((err as Error).message);
        return;
      }
    }
  })();
});

afterAll(async () => {
  background.stop = true;
  await background.done;
  await producer?.disconnect();
  await broker?.remove();
});

async function rejected(reason: string): Promise<number> {
  const text = await (await fetch(`${broker.adminUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`tributary_broker_rejected_connections_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Sends `bytes` on a fresh connection; resolves once the broker has closed it (null) or answered. */
async function offend(bytes: Buffer): Promise<Buffer | null> {
  const client = await RawClient.connect(broker.port);
  try {
    client.write(bytes);
    return await client.nextFrame();
  } finally {
    client.close();
  }
}

function header(apiKey: number, apiVersion: number, correlationId = 1): Buffer {
  const h = Buffer.alloc(10);
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(apiVersion, 2);
  h.writeInt32BE(correlationId, 4);
  h.writeInt16BE(-1, 8); // null client id
  return h;
}

function frame(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** A deterministic PRNG (mulberry32), so a failing random case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('broker > bad input (broker process, real client beside it)', () => {
  it.each<[string, string, Buffer]>([
    ['a 2 GB length prefix', 'oversized frame', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 12])],
    ['a length just over socket.request.max.bytes', 'oversized frame', Buffer.from([0x06, 0x40, 0x00, 0x01])],
    ['a negative length prefix', 'oversized frame', Buffer.from([0x80, 0, 0, 0])],
    ['a frame shorter than a request header', 'malformed request', frame(Buffer.from([0, 3, 0]))],
    ['an API key no schema defines', 'unknown api', frame(header(0x7f00, 0))],
    ['Metadata v99', 'unsupported version', frame(header(ApiKey.Metadata, 99), randomBytes(20))],
    ['Produce v99', 'unsupported version', frame(header(ApiKey.Produce, 99), randomBytes(20))],
    ['Fetch v99', 'unsupported version', frame(header(ApiKey.Fetch, 99), randomBytes(20))],
    // Metadata v4: an array of 1000 topics promised, none sent.
    [
      'a Metadata body cut short',
      'malformed request',
      frame(header(ApiKey.Metadata, 4), Buffer.from([0, 0, 3, 0xe8])),
    ],
    // Produce v3: a null transactional id, acks -1, timeout 30 s, then a topic array of -2 entries.
    [
      'a Produce body with a negative array length',
      'malformed request',
      frame(
        header(ApiKey.Produce, 3),
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0x75, 0x30, 0xff, 0xff, 0xff, 0xfe]),
      ),
    ],
  ])('closes the connection on %s, and counts it as %s', async (_name, reason, bytes) => {
    const before = await rejected(reason);
    expect(await offend(bytes)).toBeNull();
    expect(await rejected(reason)).toBe(before + 1);
  });

  it('answers ApiVersions of an unknown version with UNSUPPORTED_VERSION in the v0 layout, and keeps the connection', async () => {
    const client = await RawClient.connect(broker.port);
    try {
      client.write(frame(header(ApiKey.ApiVersions, 99, 41), randomBytes(16)));
      const answer = decodeResponse((await client.nextFrame())!, ApiKey.ApiVersions, 0);
      expect(answer.correlationId).toBe(41);
      const body = answer.body as ApiVersionsResponse;
      expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
      expect(body.apiKeys).toContainEqual(
        expect.objectContaining({ apiKey: ApiKey.ApiVersions, minVersion: 0 }),
      );
      // As a client does next: retry at a version the broker named, on the same connection.
      client.request(ApiKey.ApiVersions, 0, 42, {});
      const retry = await client.response(ApiKey.ApiVersions, 0);
      expect(retry.correlationId).toBe(42);
      expect((retry.body as ApiVersionsResponse).errorCode).toBe(ErrorCode.NONE);
    } finally {
      client.close();
    }
  });

  it('closes a connection that sends half a frame and stalls, and counts it', async () => {
    const before = await rejected('stalled mid-frame');
    const client = await RawClient.connect(broker.port);
    const request = encodeRequest(
      { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 1, clientId: 'stall' },
      { clientSoftwareName: 'stall', clientSoftwareVersion: '1' },
    );
    client.write(request.subarray(0, Math.floor(request.length / 2)));
    await client.closed;
    expect(await rejected('stalled mid-frame')).toBe(before + 1);
  });

  it('survives 200 frames of random bytes, each closed or answered on its own connection', async () => {
    const next = prng(0x7a1b);
    const reasons = ['oversized frame', 'malformed request', 'unknown api', 'unsupported version'];
    const count = async () => (await Promise.all(reasons.map(rejected))).reduce((a, b) => a + b, 0);
    const before = await count();
    let closed = 0;
    for (let i = 0; i < 200; i++) {
      const body = Buffer.from(
        Array.from({ length: 8 + Math.floor(next() * 500) }, () => Math.floor(next() * 256)),
      );
      // Half of them aim at APIs the broker serves, so the body decoders get random input too.
      if (i % 2 === 0)
        body.writeInt16BE(
          [ApiKey.Produce, ApiKey.Fetch, ApiKey.Metadata, ApiKey.ListOffsets][(i % 8) >> 1]!,
          0,
        );
      if (i % 4 === 0) body.writeInt16BE(Math.floor(next() * 10), 2);
      const answer = await offend(frame(body));
      if (answer === null) closed++;
      // An answer must be to the request that was sent.
      else expect(answer.readInt32BE(0)).toBe(body.readInt32BE(4));
    }
    expect(closed).toBeGreaterThan(0);
    expect((await count()) - before).toBe(closed);
  });

  it('kept serving the producer beside the offenders, and lost none of the records written before', async () => {
    // The offenders above all ran while the producer was sending (for seconds: the stall alone
    // takes connections.max.idle.ms).
    background.stop = true;
    await background.done;
    expect(background.failures).toEqual([]);
    expect(background.sent).toBeGreaterThan(0);

    const values = [...(await readTopicWithKafkajs(kafka, topic)).values()]
      .flat()
      .map((r) => r.value!.toString());
    const expected = [
      ...Array.from({ length: BEFORE }, (_, i) => `before ${i}`),
      ...Array.from({ length: background.sent }, (_, i) => `during ${i}`),
    ];
    expect(values.sort()).toEqual(expected.sort());
    // Every offender was the client's fault: no handler failed, nothing was logged as an error.
    expect(
      broker
        .output()
        .split('\n')
        .filter((line) => line.includes('"level":50')),
    ).toEqual([]);
  });
});
