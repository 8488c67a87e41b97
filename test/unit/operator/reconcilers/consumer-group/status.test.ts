import { describe, expect, it } from '@jest/globals';
import { observedStatus } from '../../../../../src/operator/reconcilers/consumer-group/observe.ts';
import { groupStatus, type Health } from '../../../../../src/operator/reconcilers/consumer-group/status.ts';
import { committed, group, logEnds, NOW } from './fixtures.ts';

const observed = (state: string, members = 0): Health => ({
  kind: 'observed',
  cluster: 'shop',
  observed: observedStatus({
    group: group(state, members),
    committed: committed(['orders', 0, 5]),
    logEnd: logEnds(['orders', 0, 8]),
  }),
});

/** The same JSON with every object's keys in reverse order, as a server might send it back. */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reversed(x)]),
    );
  }
  return v;
}

const ready = (s: ReturnType<typeof groupStatus>) => s.status.conditions!.find((c) => c.type === 'Ready');

describe('consumer group > status', () => {
  it('is Ready once observed, for the generation it observed', () => {
    const s = groupStatus({ previous: undefined, generation: 3, health: observed('Stable', 1), nowMs: NOW });
    expect(s.changed).toBe(true);
    expect(s.status).toMatchObject({ observedGeneration: 3, state: 'Stable', members: 1, totalLag: 3 });
    expect(ready(s)).toMatchObject({
      status: 'True',
      reason: 'Observed',
      observedGeneration: 3,
      message: 'group billing is Stable with 1 member (range), lag 3',
    });
  });

  it('is Ready for a group Kafka does not have yet, saying so', () => {
    const s = groupStatus({ previous: undefined, generation: 1, health: observed('Dead'), nowMs: NOW });
    expect(ready(s)).toMatchObject({ status: 'True', reason: 'GroupNotFound' });
  });

  it('is not Ready when the group cannot be read, keeping the last observation', () => {
    const first = groupStatus({ previous: undefined, generation: 1, health: observed('Empty'), nowMs: NOW });
    const s = groupStatus({
      previous: first.status,
      generation: 1,
      health: { kind: 'unavailable', reason: 'KafkaUnavailable', message: 'no answer' },
      nowMs: NOW + 1000,
    });
    expect(s.status.totalLag).toBe(3);
    expect(ready(s)).toMatchObject({ status: 'False', reason: 'KafkaUnavailable', message: 'no answer' });
  });

  it('drops the member details once the members are gone', () => {
    const active = groupStatus({
      previous: undefined,
      generation: 1,
      health: observed('Stable', 2),
      nowMs: NOW,
    });
    const s = groupStatus({ previous: active.status, generation: 1, health: observed('Empty'), nowMs: NOW });
    expect(s.status.memberDetails).toBeUndefined();
    expect(s.status.protocol).toBeUndefined();
    expect(JSON.parse(JSON.stringify(s.status))).not.toHaveProperty('memberDetails');
  });

  it('is unchanged (no write) when nothing differs, in whatever key order it was read back', () => {
    const first = groupStatus({ previous: undefined, generation: 1, health: observed('Empty'), nowMs: NOW });
    const readBack = reversed(first.status) as typeof first.status;
    const again = groupStatus({
      previous: readBack,
      generation: 1,
      health: observed('Empty'),
      nowMs: NOW + 10_000,
    });
    expect(again.changed).toBe(false);
  });

  it('reports the offset reset as a condition, and keeps it after', () => {
    const offsetReset = { requestId: 'r1', state: 'Pending' as const, message: 'waiting for …' };
    const pending = groupStatus({
      previous: undefined,
      generation: 2,
      health: observed('Stable', 1),
      offsetReset,
      nowMs: NOW,
    });
    expect(pending.status.conditions!.find((c) => c.type === 'OffsetReset')).toMatchObject({
      status: 'False',
      reason: 'WaitingForMembersToLeave',
      message: 'request r1: waiting for …',
    });
    const later = groupStatus({
      previous: pending.status,
      generation: 2,
      health: observed('Stable', 1),
      nowMs: NOW,
    });
    expect(later.status.offsetReset).toEqual(offsetReset);
    const done = groupStatus({
      previous: later.status,
      generation: 2,
      health: observed('Empty'),
      offsetReset: { requestId: 'r1', state: 'Succeeded', message: 'reset' },
      nowMs: NOW,
    });
    expect(done.status.conditions!.find((c) => c.type === 'OffsetReset')).toMatchObject({
      status: 'True',
      reason: 'Succeeded',
    });
  });
});
