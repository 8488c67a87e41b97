/**
 * The fault soak (test/fault/soak.ts) in short, against `tributary dev --brokers 3`: ten rounds, so
 * each kind of fault lands at least once — ten leader kills, a restart loop, a paused follower, a
 * paused leader, a killed group coordinator, a killed controller — under a Java and a kafkajs
 * idempotent producer and a kafkajs consumer group; the checker must find nothing in the log or in
 * what the group read. `npm run soak` runs the same with a hundred kills, and against Kafka too.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tributarySoakCluster, type StartedSoakCluster } from '../../fault/soak-clusters.ts';
import { formatSoakTable } from '../../fault/soak-table.ts';
import { FAULT_KINDS, runSoak } from '../../fault/soak.ts';
import { summarize } from '../../fault/history.ts';

let cluster: StartedSoakCluster;
const lines: string[] = [];

beforeAll(async () => {
  cluster = await tributarySoakCluster();
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('faults > the soak in short', () => {
  it('ten rounds of every fault kind: no anomaly in the log or in what the group read', async () => {
    const result = await runSoak(cluster, { leaderKills: 10, log: (l) => lines.push(l) });
    const table = formatSoakTable([result]);
    expect({ stalls: result.stalls, table }).toEqual({ stalls: [], table });
    for (const kind of FAULT_KINDS) expect(result.faults[kind]).toBeGreaterThan(0);
    expect(summarize(result.stored)).toBe(summarize({ ...result.stored, problems: [] }));
    expect(summarize(result.consumed)).toBe(summarize({ ...result.consumed, problems: [] }));
    expect(result.stored.acknowledged).toBeGreaterThan(1000);
    expect(result.consumed.commits).toBeGreaterThan(0);
    // The group's joins were recorded, so ownership and going back were judged, not skipped.
    expect(result.consumed.assignments).toBeGreaterThanOrEqual(2);
    expect(result.consumed.consumed).toBeGreaterThanOrEqual(result.stored.acknowledged);
  }, 420_000);
});
