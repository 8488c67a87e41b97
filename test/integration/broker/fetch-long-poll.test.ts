import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import type { RequestContext } from '../../../src/broker/handler.ts';
import { fetchHandler } from '../../../src/broker/handlers/1-fetch.ts';
import { FakeClock } from '../../../src/common/clock.ts';
import { silentLogger } from '../../../src/common/logger.ts';
import type { FetchResponse } from '../../../src/protocol/messages/fetch-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { RequestHeader } from '../../../src/protocol/messages/request-header.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import {
  append,
  createTopic,
  fetchRequest,
  partitionOf,
  randomTopic,
  until,
  valuesOf,
} from './fetch-fixtures.ts';

const WAITING = 'tributary_broker_fetch_waiting_requests';

async function waiting(registry: Registry): Promise<number> {
  return (await registry.getSingleMetric(WAITING)!.get()).values[0]?.value ?? 0;
}

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb.remove();
});

describe('Fetch > long polling', () => {
  it('answers a waiting fetch as soon as data is committed on one of its partitions', async () => {
    const topic = randomTopic('poll');
    await createTopic(tb, topic);
    const client = await RawClient.connect(tb.port);
    try {
      const maxWaitMs = 30_000;
      const started = Date.now();
      const answer = client.call<FetchResponse>(
        ApiKey.Fetch,
        12,
        fetchRequest([{ topic, partitions: [{ partition: 0 }, { partition: 1 }] }], {
          maxWaitMs,
          minBytes: 1,
        }),
      );
      await until(async () => (await waiting(tb.broker.registry)) === 1, 'the fetch waits');
      await append(tb, topic, 1, ['late']);
      const res = await answer;
      expect(Date.now() - started).toBeLessThan(maxWaitMs);
      expect(valuesOf(partitionOf(res, topic, 1).records).map((r) => r.value)).toEqual(['late']);
      expect(partitionOf(res, topic, 0).records).toHaveLength(0);
      expect(await waiting(tb.broker.registry)).toBe(0);
    } finally {
      client.close();
    }
  });

  it('answers at maxWaitMs with what there is when minBytes is not reached', async () => {
    const topic = randomTopic('poll-min');
    await createTopic(tb, topic, { partitions: 1 });
    await append(tb, topic, 0, ['small']);
    const client = await RawClient.connect(tb.port);
    try {
      const answer = client.call<FetchResponse>(
        ApiKey.Fetch,
        12,
        fetchRequest([{ topic, partitions: [{ partition: 0 }] }], { maxWaitMs: 300, minBytes: 1 << 20 }),
      );
      await until(async () => (await waiting(tb.broker.registry)) === 1, 'the fetch waits');
      const res = await answer;
      expect(valuesOf(partitionOf(res, topic, 0).records).map((r) => r.value)).toEqual(['small']);
      expect(await waiting(tb.broker.registry)).toBe(0);
    } finally {
      client.close();
    }
  });

  it('stops waiting when the connection closes', async () => {
    const topic = randomTopic('poll-close');
    await createTopic(tb, topic, { partitions: 1 });
    const client = await RawClient.connect(tb.port);
    client.request(
      ApiKey.Fetch,
      12,
      1,
      fetchRequest([{ topic, partitions: [{ partition: 0 }] }], { maxWaitMs: 60_000, minBytes: 1 }),
    );
    await until(async () => (await waiting(tb.broker.registry)) === 1, 'the fetch waits');
    client.close();
    await until(async () => (await waiting(tb.broker.registry)) === 0, 'the wait is gone');
  });

  it('waits on the broker’s clock, and the last pass sees data that arrived below minBytes', async () => {
    const topic = randomTopic('poll-clock');
    await createTopic(tb, topic, { partitions: 1 });
    const clock = new FakeClock(Date.now());
    const registry = new Registry();
    const handler = fetchHandler({ ...tb.broker.services, clock, registry });
    const ctx: RequestContext = {
      header: { ...RequestHeader.defaults(), requestApiKey: ApiKey.Fetch, requestApiVersion: 12 },
      apiVersion: 12,
      clientId: 'test',
      peer: 'test',
      log: silentLogger,
      signal: new AbortController().signal,
    };
    const answer = Promise.resolve(
      handler.handle(
        ctx,
        fetchRequest([{ topic, partitions: [{ partition: 0 }] }], { maxWaitMs: 5_000, minBytes: 1 << 20 }),
      ),
    );
    await until(async () => (await waiting(registry)) === 1, 'the fetch waits');
    await append(tb, topic, 0, ['a']);
    expect(clock.pendingTimers).toBe(1);
    await clock.advanceAsync(5_000);
    const res = (await answer) as FetchResponse;
    expect(valuesOf(partitionOf(res, topic, 0).records).map((r) => r.value)).toEqual(['a']);
    expect(await waiting(registry)).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});
