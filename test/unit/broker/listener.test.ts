import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../src/common/logger.ts';
import { type Handler, type HandlerRegistry, registry } from '../../../src/broker/handler.ts';
import { apiVersionsHandler } from '../../../src/broker/handlers/18-api-versions.ts';
import { serverMetrics } from '../../../src/broker/metrics.ts';
import { KafkaListener } from '../../../src/broker/server.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { ApiVersionsResponse } from '../../../src/protocol/messages/api-versions-response.ts';
import { HeartbeatRequest } from '../../../src/protocol/messages/heartbeat-request.ts';
import { HeartbeatResponse } from '../../../src/protocol/messages/heartbeat-response.ts';
import { encodeRequest } from '../../../src/protocol/frame.ts';
import { RawClient } from '../../helpers/raw-client.ts';

/** A Heartbeat handler whose answers the test releases, by group id, whenever it chooses. */
function heldHeartbeats() {
  const held = new Map<string, () => void>();
  const seen: string[] = [];
  const handler: Handler<HeartbeatRequest, HeartbeatResponse> = {
    apiKey: ApiKey.Heartbeat,
    minVersion: 0,
    maxVersion: 4,
    async handle(_ctx, request) {
      seen.push(request.groupId);
      await new Promise<void>((resolve) => held.set(request.groupId, resolve));
      return { ...HeartbeatResponse.defaults(), errorCode: Number(request.groupId.split('-')[1]) % 30 };
    },
  };
  const release = (groupId: string) => {
    const r = held.get(groupId);
    if (!r) throw new Error(`no request for ${groupId} is held`);
    r();
  };
  const waitFor = async (n: number) => {
    while (seen.length < n) await new Promise((r) => setImmediate(r));
  };
  return { handler, release, seen, waitFor };
}

const heartbeat = (groupId: string) => ({ ...HeartbeatRequest.defaults(), groupId, memberId: 'm' });

let listener: KafkaListener | undefined;
let metricsRegistry: Registry;

async function start(
  extra: Handler<never, unknown>[] = [],
  options: Partial<{ maxInFlightBytes: number; idleTimeoutMs: number }> = {},
) {
  let handlers: HandlerRegistry = new Map();
  handlers = registry([apiVersionsHandler(() => handlers), ...extra]);
  metricsRegistry = new Registry();
  listener = new KafkaListener({
    host: '127.0.0.1',
    port: 0,
    maxRequestBytes: 1024 * 1024,
    maxInFlightBytes: options.maxInFlightBytes ?? 1024 * 1024,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    handlers,
    log: silentLogger,
    metrics: serverMetrics(metricsRegistry),
  });
  return (await listener.listen()).port;
}

async function rejected(reason: string): Promise<number> {
  const metric = (await metricsRegistry.getSingleMetric('tributary_broker_rejected_connections_total')!.get())
    .values;
  return metric.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

afterEach(async () => {
  await listener?.close(100);
  listener = undefined;
});

describe('broker > listener > framing and order', () => {
  it('answers pipelined requests in request order even when handlers finish in reverse', async () => {
    const held = heldHeartbeats();
    const port = await start([held.handler]);
    const client = await RawClient.connect(port);
    for (let i = 0; i < 5; i++) client.request(ApiKey.Heartbeat, 4, 100 + i, heartbeat(`g-${i}`));
    await held.waitFor(5);
    for (let i = 4; i >= 0; i--) held.release(`g-${i}`);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await client.response(ApiKey.Heartbeat, 4)).correlationId);
    expect(ids).toEqual([100, 101, 102, 103, 104]);
    client.close();
  });

  it('reassembles frames split across TCP reads and several frames in one read', async () => {
    const port = await start();
    const client = await RawClient.connect(port);
    const one = encodeRequest(
      { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 2, correlationId: 1, clientId: 'c' },
      {},
    );
    const two = encodeRequest(
      { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 2, correlationId: 2, clientId: 'c' },
      {},
    );
    const both = Buffer.concat([one, two]);
    // Byte by byte for the first frame (the size prefix itself is split), then the rest at once.
    for (let i = 0; i < one.length; i++) {
      client.write(both.subarray(i, i + 1));
      await new Promise((r) => setImmediate(r));
    }
    client.write(both.subarray(one.length));
    expect((await client.response(ApiKey.ApiVersions, 2)).correlationId).toBe(1);
    expect((await client.response(ApiKey.ApiVersions, 2)).correlationId).toBe(2);
    client.close();
  });

  it('stops reading while too many request bytes await responses, then answers them all', async () => {
    const held = heldHeartbeats();
    const port = await start([held.handler], { maxInFlightBytes: 4096 });
    const client = await RawClient.connect(port);
    const total = 3000;
    const padding = 'x'.repeat(900);
    const frames = Array.from({ length: total }, (_, i) =>
      encodeRequest(
        { requestApiKey: ApiKey.Heartbeat, requestApiVersion: 4, correlationId: i, clientId: 'c' },
        { ...heartbeat(`g-${i}`), memberId: padding },
      ),
    );
    client.write(Buffer.concat(frames));
    await held.waitFor(1);
    await new Promise((r) => setTimeout(r, 100));
    // One socket read (64 KiB) may be dispatched whole; the rest of ~3 MB must wait in the kernel.
    expect(held.seen.length).toBeLessThan(200);
    for (let i = 0; i < total; i++) {
      await held.waitFor(i + 1);
      held.release(`g-${i}`);
    }
    for (let i = 0; i < total; i++)
      expect((await client.response(ApiKey.Heartbeat, 4)).correlationId).toBe(i);
    client.close();
  });
});

describe('broker > listener > ApiVersions', () => {
  it.each([0, 1, 2, 3, 4])('answers v%i with the served ranges', async (version) => {
    const port = await start([heldHeartbeats().handler]);
    const client = await RawClient.connect(port);
    client.request(ApiKey.ApiVersions, version, 7, {
      clientSoftwareName: 'tributary-test',
      clientSoftwareVersion: '1.0',
    });
    const { correlationId, body } = await client.response(ApiKey.ApiVersions, version);
    const response = body as ApiVersionsResponse;
    expect(correlationId).toBe(7);
    expect(response.errorCode).toBe(ErrorCode.NONE);
    expect(response.apiKeys).toEqual([
      { apiKey: ApiKey.Heartbeat, minVersion: 0, maxVersion: 4 },
      { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 },
    ]);
    client.close();
  });

  it('answers an unknown ApiVersions version with UNSUPPORTED_VERSION in the v0 layout', async () => {
    const port = await start();
    const client = await RawClient.connect(port);
    // A version from the future: header v1 layout, a body we cannot know.
    const frame = Buffer.from([0, 0, 0, 14, 0, 18, 0, 99, 0, 0, 0, 5, 0, 1, 0x41, 1, 2, 3]);
    client.write(frame.subarray(0, 4 + 14));
    const { correlationId, body } = await client.response(ApiKey.ApiVersions, 0);
    expect(correlationId).toBe(5);
    expect((body as ApiVersionsResponse).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect((body as ApiVersionsResponse).apiKeys).toEqual([
      { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 },
    ]);
    client.close();
  });

  it('rejects an invalid client software name with INVALID_REQUEST', async () => {
    const port = await start();
    const client = await RawClient.connect(port);
    client.request(ApiKey.ApiVersions, 3, 1, { clientSoftwareName: 'bad name!', clientSoftwareVersion: '1' });
    expect(((await client.response(ApiKey.ApiVersions, 3)).body as ApiVersionsResponse).errorCode).toBe(
      ErrorCode.INVALID_REQUEST,
    );
    client.close();
  });
});

describe('broker > listener > bad input', () => {
  const cases: Array<[string, string, Buffer]> = [
    ['a 2 GB length prefix', 'oversized frame', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 0])],
    ['a negative length prefix', 'oversized frame', Buffer.from([0xff, 0xff, 0xff, 0xfe])],
    [
      'an unknown API key',
      'unknown api',
      Buffer.from([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff]),
    ],
    [
      'an unsupported version of a served API',
      'unsupported version',
      Buffer.from([0, 0, 0, 10, 0, 12, 0, 9, 0, 0, 0, 1, 0xff, 0xff]),
    ],
    [
      'a body cut short',
      'malformed request',
      Buffer.from([0, 0, 0, 12, 0, 12, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0, 50]),
    ],
    ['a frame shorter than a header', 'malformed request', Buffer.from([0, 0, 0, 3, 0, 18, 0])],
  ];

  it.each(cases)(
    'closes the connection on %s, counts it, and keeps serving others',
    async (_name, reason, bytes) => {
      const port = await start([heldHeartbeats().handler]);
      const bystander = await RawClient.connect(port);
      const offender = await RawClient.connect(port);
      offender.write(bytes);
      expect(await offender.nextFrame()).toBeNull();
      expect(await rejected(reason)).toBe(1);
      bystander.request(ApiKey.ApiVersions, 2, 9, {});
      expect((await bystander.response(ApiKey.ApiVersions, 2)).correlationId).toBe(9);
      bystander.close();
    },
  );

  it('closes a connection that sends half a frame and stalls, once it has been idle', async () => {
    const port = await start([], { idleTimeoutMs: 200 });
    const client = await RawClient.connect(port);
    client.write(Buffer.from([0, 0, 0, 20, 0, 18]));
    await client.closed;
    expect(client.socket.destroyed).toBe(true);
  });
});

describe('broker > listener > shutdown', () => {
  it('answers requests already accepted before closing connections', async () => {
    const held = heldHeartbeats();
    const port = await start([held.handler]);
    const client = await RawClient.connect(port);
    client.request(ApiKey.Heartbeat, 4, 1, heartbeat('g-1'));
    await held.waitFor(1);
    const closing = listener!.close(5000);
    held.release('g-1');
    expect((await client.response(ApiKey.Heartbeat, 4)).correlationId).toBe(1);
    await closing;
    expect(await client.nextFrame()).toBeNull();
    listener = undefined;
  });
});
