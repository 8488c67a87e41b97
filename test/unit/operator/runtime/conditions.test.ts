import { describe, expect, it } from '@jest/globals';
import {
  Degraded,
  findCondition,
  isConditionTrue,
  Progressing,
  Ready,
  setCondition,
  setConditions,
} from '../../../../src/operator/runtime/conditions.ts';
import { kubeMicroTime, kubeTime } from '../../../../src/operator/runtime/time.ts';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const MIN = 60_000;

describe('conditions > setCondition', () => {
  it('adds a new condition with the transition time in whole seconds', () => {
    const r = setCondition(
      undefined,
      {
        type: Ready,
        status: 'False',
        reason: 'BrokersStarting',
        message: '0/3 ready',
        observedGeneration: 1,
      },
      T0 + 999,
    );
    expect(r).toEqual({
      changed: true,
      transitioned: true,
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'BrokersStarting',
          message: '0/3 ready',
          observedGeneration: 1,
          lastTransitionTime: '2030-01-01T12:00:00Z',
        },
      ],
    });
  });

  it('keeps lastTransitionTime when only reason, message or generation change', () => {
    const first = setCondition(
      undefined,
      { type: Ready, status: 'False', reason: 'A', observedGeneration: 1 },
      T0,
    );
    const second = setCondition(
      first.conditions,
      { type: Ready, status: 'False', reason: 'B', message: '1/3 ready', observedGeneration: 2 },
      T0 + 5 * MIN,
    );
    expect(second.changed).toBe(true);
    expect(second.transitioned).toBe(false);
    expect(second.conditions[0]).toMatchObject({
      reason: 'B',
      message: '1/3 ready',
      observedGeneration: 2,
      lastTransitionTime: kubeTime(T0),
    });
  });

  it('moves lastTransitionTime when the status changes', () => {
    const first = setCondition(undefined, { type: Ready, status: 'False', reason: 'A' }, T0);
    const second = setCondition(first.conditions, { type: Ready, status: 'True', reason: 'A' }, T0 + MIN);
    expect(second.transitioned).toBe(true);
    expect(second.conditions[0].lastTransitionTime).toBe(kubeTime(T0 + MIN));
  });

  it('reports no change for an identical update', () => {
    const first = setCondition(undefined, { type: Ready, status: 'True', reason: 'Ok', message: 'm' }, T0);
    const again = setCondition(
      first.conditions,
      { type: Ready, status: 'True', reason: 'Ok', message: 'm' },
      T0 + MIN,
    );
    expect(again).toEqual({ conditions: first.conditions, changed: false, transitioned: false });
  });

  it('replaces in place, keeps other types, and does not change its input', () => {
    const base = setConditions(
      undefined,
      [
        { type: Ready, status: 'True', reason: 'Ok' },
        { type: Progressing, status: 'False', reason: 'Idle' },
        { type: Degraded, status: 'False', reason: 'Ok' },
      ],
      T0,
    ).conditions;
    const frozen = structuredClone(base);
    const r = setCondition(base, { type: Progressing, status: 'True', reason: 'Rolling' }, T0 + MIN);
    expect(r.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Ready=True',
      'Progressing=True',
      'Degraded=False',
    ]);
    expect(base).toEqual(frozen);
  });

  it('refuses a reason the API would reject', () => {
    expect(() =>
      setCondition(undefined, { type: Ready, status: 'True', reason: 'not camel case' }, T0),
    ).toThrow(RangeError);
    expect(() => setCondition(undefined, { type: Ready, status: 'True', reason: '' }, T0)).toThrow(
      RangeError,
    );
  });
});

describe('conditions > setConditions', () => {
  it('is changed and transitioned if any update is', () => {
    const base = setCondition(undefined, { type: Ready, status: 'True', reason: 'Ok' }, T0).conditions;
    const r = setConditions(
      base,
      [
        { type: Ready, status: 'True', reason: 'Ok' },
        { type: Degraded, status: 'True', reason: 'BrokerDown' },
      ],
      T0 + MIN,
    );
    expect(r.changed).toBe(true);
    expect(r.transitioned).toBe(true);
    expect(r.conditions).toHaveLength(2);
  });
});

describe('conditions > reading', () => {
  const conditions = setConditions(
    undefined,
    [
      { type: Ready, status: 'True', reason: 'Ok', observedGeneration: 4 },
      { type: Degraded, status: 'False', reason: 'Ok' },
    ],
    T0,
  ).conditions;

  it('finds a condition by type', () => {
    expect(findCondition(conditions, Degraded)?.status).toBe('False');
    expect(findCondition(conditions, Progressing)).toBeUndefined();
    expect(findCondition(undefined, Ready)).toBeUndefined();
  });

  it('is true only for status True, and for the generation asked about', () => {
    expect(isConditionTrue(conditions, Ready)).toBe(true);
    expect(isConditionTrue(conditions, Ready, 4)).toBe(true);
    expect(isConditionTrue(conditions, Ready, 5)).toBe(false);
    expect(isConditionTrue(conditions, Degraded)).toBe(false);
    expect(isConditionTrue(conditions, Progressing)).toBe(false);
  });
});

describe('conditions > time formats', () => {
  it('writes Time in whole seconds and MicroTime with six digits', () => {
    expect(kubeTime(T0 + 1_999)).toBe('2030-01-01T12:00:01Z');
    expect(kubeMicroTime(T0 + 1_999)).toBe('2030-01-01T12:00:01.999000Z');
  });
});
