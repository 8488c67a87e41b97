/**
 * The history checker's property test: random histories of a correct cluster (simulated-history.ts:
 * producers keyed or not, idempotent or not, failing in doubt or definitely; consumer groups that
 * rebalance at random points and restart from their last commit) always pass, and each with one
 * anomaly planted in it (anomalies.ts) is reported with that kind and no other. A failure names the
 * seed that reproduces it: `simulate(prng(seed))`.
 */
import { describe, expect, it } from '@jest/globals';
import { ANOMALY_KINDS, summarize, type AnomalyKind } from '../../fault/history.ts';
import { PLANTS } from './anomalies.ts';
import { below, prng, replay, simulate } from './simulated-history.ts';

const CASES = 400;
const FIRST_SEED = 20261205;

describe('fault > history checker > property', () => {
  it(`passes ${CASES} random clean histories, and reports the one anomaly planted in each`, () => {
    const planted = new Map<AnomalyKind, number>(ANOMALY_KINDS.map((k) => [k, 0]));
    const allowed = { inDoubt: 0, failedDefinitely: 0, redelivered: 0, reconsumed: 0 };
    let records = 0;
    let consumed = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + CASES; seed++) {
      const rand = prng(seed);
      const events = simulate(rand);
      const clean = replay(events).check();
      expect({ seed, clean: summarize(clean) }).toEqual({
        seed,
        clean: summarize({ ...clean, problems: [] }),
      });
      records += clean.sent;
      consumed += clean.consumed;
      for (const k of Object.keys(allowed) as Array<keyof typeof allowed>) allowed[k] += clean[k];

      // The kind this seed plants, or the next one the history has room for.
      const start = below(rand, ANOMALY_KINDS.length);
      for (let k = 0; k < ANOMALY_KINDS.length; k++) {
        const kind = ANOMALY_KINDS[(start + k) % ANOMALY_KINDS.length]!;
        const bad = PLANTS[kind](events, rand);
        if (!bad) continue;
        const report = replay(bad).check();
        const kinds = [...new Set(report.problems.map((p) => p.kind))];
        expect({ seed, kind, kinds, report: summarize(report) }).toEqual({
          seed,
          kind,
          kinds: [kind],
          report: summarize(report),
        });
        planted.set(kind, planted.get(kind)! + 1);
        break;
      }
    }
    // Every kind was planted often enough to mean something.
    for (const [kind, n] of planted)
      expect({ kind, n: n >= CASES / ANOMALY_KINDS.length / 2 }).toEqual({ kind, n: true });
    // The clean histories held the cases the checker must allow.
    for (const [k, n] of Object.entries(allowed)) expect({ k, n: n > 0 }).toEqual({ k, n: true });
    process.stdout.write(
      `${CASES} histories, ${records} records sent, ${consumed} consumed, allowed ${JSON.stringify(allowed)}; planted: ${[...planted].map(([k, n]) => `${k} ${n}`).join(', ')}\n`,
    );
  });
});
