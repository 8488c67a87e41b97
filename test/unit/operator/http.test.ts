import { describe, expect, it } from '@jest/globals';
import { Gauge, Registry } from 'prom-client';
import { parseDuration } from '../../../src/cli/operator.ts';
import { buildOperatorApp } from '../../../src/operator/http.ts';

function app(state: { synced: boolean; leading: boolean }) {
  const registry = new Registry();
  new Gauge({
    name: 'tributary_operator_leader',
    help: 'h',
    labelNames: ['lease'],
    registers: [registry],
  }).set({ lease: 'ns/l' }, state.leading ? 1 : 0);
  return buildOperatorApp({ registry, synced: () => state.synced, leading: () => state.leading });
}

describe('operator > HTTP', () => {
  it('is alive from the start', async () => {
    const r = await app({ synced: false, leading: false }).inject({ url: '/healthz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok' });
  });

  it('is ready once its caches are synced, leader or not', async () => {
    const state = { synced: false, leading: false };
    const a = app(state);
    const before = await a.inject({ url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toEqual({ status: 'caches not synced', synced: false, leading: false });
    state.synced = true;
    const after = await a.inject({ url: '/readyz' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: 'ready', synced: true, leading: false });
  });

  it('serves its metrics as Prometheus text', async () => {
    const r = await app({ synced: true, leading: true }).inject({ url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toMatch(/^tributary_operator_leader\{lease="ns\/l"\} 1$/m);
  });
});

describe('operator > durations on the command line', () => {
  it('reads milliseconds, seconds and minutes', () => {
    expect([
      parseDuration('500ms'),
      parseDuration('15s'),
      parseDuration('1.5s'),
      parseDuration('2m'),
    ]).toEqual([500, 15_000, 1_500, 120_000]);
  });

  it('refuses what is not a positive duration', () => {
    for (const text of ['15', 's', '-1s', '0s', '1h', '']) expect(parseDuration(text)).toBeUndefined();
  });
});
