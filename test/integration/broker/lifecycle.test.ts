import { afterEach, describe, expect, it } from '@jest/globals';
import { RawClient } from '../../helpers/raw-client.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';

let tb: TestBroker | null = null;
afterEach(async () => {
  await tb?.remove();
  tb = null;
});

describe('Broker lifecycle', () => {
  it('serves ApiVersions and reports ready, healthy and metrics on the admin port', async () => {
    tb = await startTestBroker();
    const ready = await fetch(`${tb.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
    expect((await fetch(`${tb.adminUrl}/healthz`)).status).toBe(200);
    const client = await RawClient.connect(tb.port);
    try {
      const res = await client.call(18, 3, {
        clientSoftwareName: 'test',
        clientSoftwareVersion: '1',
      });
      expect(res['errorCode']).toBe(0);
    } finally {
      client.close();
    }
    const metrics = await (await fetch(`${tb.adminUrl}/metrics`)).text();
    expect(metrics).toContain('tributary_broker_requests_total{api="ApiVersions",version="3"} 1');
    expect(metrics).toContain(
      'tributary_broker_request_duration_seconds_count{api="ApiVersions",version="3"} 1',
    );
    expect(metrics).toContain('tributary_broker_partitions 0');
  });

  it('is not ready once shutdown begins, and a restart keeps its cluster id', async () => {
    tb = await startTestBroker();
    const clusterId = tb.broker.services.metadata().clusterId;
    await tb.stop();
    expect(tb.broker.ready).toBe(false);
    const again = await startTestBroker({ dataDir: tb.dataDir });
    try {
      expect(again.broker.services.metadata().clusterId).toBe(clusterId);
    } finally {
      await again.stop();
    }
  });

  it('refuses a data directory written by another node id', async () => {
    tb = await startTestBroker({ properties: { 'node.id': '1' } });
    await tb.stop();
    await expect(startTestBroker({ dataDir: tb.dataDir, properties: { 'node.id': '2' } })).rejects.toThrow(
      /belongs to node 1, but this broker is node.id=2/,
    );
  });
});
