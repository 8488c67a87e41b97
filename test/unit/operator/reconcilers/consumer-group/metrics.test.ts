import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { GroupMetrics } from '../../../../../src/operator/reconcilers/consumer-group/metrics.ts';
import { observedStatus } from '../../../../../src/operator/reconcilers/consumer-group/observe.ts';
import { committed, group, logEnds } from './fixtures.ts';

const labels = { namespace: 'ns', cluster: 'shop', group: 'billing' };
const observe = (...parts: Array<[string, number, number, number]>) =>
  observedStatus({
    group: group('Empty'),
    committed: committed(...parts.map(([t, p, c]): [string, number, number] => [t, p, c])),
    logEnd: logEnds(...parts.map(([t, p, , e]): [string, number, number] => [t, p, e])),
  });

async function series(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

describe('consumer group > metrics', () => {
  it('exports the lag of each partition and the total', async () => {
    const registry = new Registry();
    new GroupMetrics(registry).update(
      'ns/billing',
      labels,
      observe(['orders', 0, 5, 9], ['orders', 1, 2, 2]),
    );
    expect(await series(registry, 'tributary_consumergroup_lag')).toEqual([
      'tributary_consumergroup_lag{namespace="ns",cluster="shop",group="billing",topic="orders",partition="0"} 4',
      'tributary_consumergroup_lag{namespace="ns",cluster="shop",group="billing",topic="orders",partition="1"} 0',
    ]);
    expect(await series(registry, 'tributary_consumergroup_total_lag')).toEqual([
      'tributary_consumergroup_total_lag{namespace="ns",cluster="shop",group="billing"} 4',
    ]);
  });

  it('removes the series of a partition the group no longer has an offset for', async () => {
    const registry = new Registry();
    const m = new GroupMetrics(registry);
    m.update('ns/billing', labels, observe(['orders', 0, 5, 9], ['audit', 0, 1, 1]));
    m.update('ns/billing', labels, observe(['orders', 0, 6, 9]));
    expect(await series(registry, 'tributary_consumergroup_lag')).toEqual([
      'tributary_consumergroup_lag{namespace="ns",cluster="shop",group="billing",topic="orders",partition="0"} 3',
    ]);
  });

  it('removes every series of a resource that goes, and of all on clear', async () => {
    const registry = new Registry();
    const m = new GroupMetrics(registry);
    m.update('ns/billing', labels, observe(['orders', 0, 5, 9]));
    m.update('ns/audit', { ...labels, group: 'audit' }, observe(['orders', 0, 1, 9]));
    m.forget('ns/billing');
    expect((await series(registry, 'tributary_consumergroup_lag')).join()).not.toContain('group="billing"');
    expect(await series(registry, 'tributary_consumergroup_members')).toHaveLength(1);
    m.clear();
    expect(await series(registry, 'tributary_consumergroup_lag')).toEqual([]);
    expect(await series(registry, 'tributary_consumergroup_total_lag')).toEqual([]);
  });
});
