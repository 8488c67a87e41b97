import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../../src/common/clock.ts';
import {
  decideLease,
  observe,
  releasedRecord,
  type LeaseRecord,
  type Observation,
} from '../../../../src/operator/runtime/lease-decision.ts';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const LEASE_MS = 15_000;

const held = (holder: string, renewTime = '2030-01-01T11:59:00.000000Z'): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: '2030-01-01T11:00:00.000000Z',
  renewTime,
  leaseTransitions: 3,
});

const decide = (observed: Observation | undefined, nowMs: number, identity = 'me') =>
  decideLease({ identity, nowMs, leaseDurationMs: LEASE_MS, observed });

describe('lease decision', () => {
  it('creates the lease when there is none, holding it from now', () => {
    expect(decide(undefined, T0)).toEqual({
      action: 'create',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTime: '2030-01-01T12:00:00.000000Z',
        renewTime: '2030-01-01T12:00:00.000000Z',
        leaseTransitions: 0,
      },
    });
  });

  it('renews a lease it holds, keeping acquireTime and transitions', () => {
    const d = decide({ record: held('me'), atMs: T0 - 5_000 }, T0 + 1_234);
    expect(d).toEqual({
      action: 'renew',
      record: { ...held('me'), renewTime: '2030-01-01T12:00:01.234000Z' },
    });
  });

  it('waits while another holder’s lease is live, until leaseDuration after it was first seen', () => {
    const observed = { record: held('other'), atMs: T0 };
    expect(decide(observed, T0)).toEqual({ action: 'wait', holder: 'other', expiresAtMs: T0 + LEASE_MS });
    expect(decide(observed, T0 + LEASE_MS - 1)).toMatchObject({ action: 'wait' });
  });

  it('takes over a lease not renewed for leaseDuration, counting a transition', () => {
    const d = decide({ record: held('other'), atMs: T0 }, T0 + LEASE_MS);
    expect(d).toEqual({
      action: 'acquire',
      previousHolder: 'other',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTime: '2030-01-01T12:00:15.000000Z',
        renewTime: '2030-01-01T12:00:15.000000Z',
        leaseTransitions: 4,
      },
    });
  });

  it('judges expiry by the holder’s declared duration, not its own', () => {
    const record = { ...held('other'), leaseDurationSeconds: 60 };
    expect(decide({ record, atMs: T0 }, T0 + LEASE_MS)).toMatchObject({
      action: 'wait',
      expiresAtMs: T0 + 60_000,
    });
  });

  it('ignores the holder’s renewTime: a clock far ahead or behind cannot expire a live lease', () => {
    const future = { record: held('other', '2031-01-01T00:00:00.000000Z'), atMs: T0 };
    const past = { record: held('other', '2001-01-01T00:00:00.000000Z'), atMs: T0 };
    expect(decide(future, T0 + 1_000).action).toBe('wait');
    expect(decide(past, T0 + 1_000).action).toBe('wait');
  });

  it('takes a released lease at once', () => {
    const released = releasedRecord(held('other'), T0);
    expect(released.holderIdentity).toBe('');
    expect(decide({ record: released, atMs: T0 }, T0)).toMatchObject({
      action: 'acquire',
      previousHolder: '',
      record: { holderIdentity: 'me', leaseTransitions: 4 },
    });
  });

  it('rounds a sub-second duration up to whole seconds, at least one', () => {
    const d = decideLease({ identity: 'me', nowMs: T0, leaseDurationMs: 1_500, observed: undefined });
    expect(d.action === 'create' && d.record.leaseDurationSeconds).toBe(2);
    const tiny = decideLease({ identity: 'me', nowMs: T0, leaseDurationMs: 10, observed: undefined });
    expect(tiny.action === 'create' && tiny.record.leaseDurationSeconds).toBe(1);
  });
});

describe('lease decision > observation', () => {
  it('keeps the first sighting while the record is unchanged', () => {
    const first = observe(undefined, held('other'), T0);
    expect(observe(first, { ...held('other') }, T0 + 10_000)).toBe(first);
  });

  it('starts a new sighting when the holder renews', () => {
    const first = observe(undefined, held('other'), T0);
    const renewed = held('other', '2030-01-01T12:00:05.000000Z');
    expect(observe(first, renewed, T0 + 10_000)).toEqual({ record: renewed, atMs: T0 + 10_000 });
  });

  it('has no observation when there is no lease', () => {
    expect(observe({ record: held('x'), atMs: T0 }, undefined, T0)).toBeUndefined();
  });

  it('so a holder that keeps renewing is never taken over, and one that stops is', () => {
    const clock = new FakeClock(T0);
    let observed: Observation | undefined;
    for (; clock.now() <= T0 + 120_000; clock.advance(2_000)) {
      const record = held('other', new Date(clock.now() - 1_000).toISOString());
      observed = observe(observed, record, clock.now());
      expect(decide(observed, clock.now()).action).toBe('wait');
    }
    const lastRenewalSeenAt = observed!.atMs;
    for (; clock.now() < lastRenewalSeenAt + LEASE_MS; clock.advance(2_000)) {
      observed = observe(observed, observed!.record, clock.now());
      expect(decide(observed, clock.now()).action).toBe('wait');
    }
    expect(decide(observe(observed, observed!.record, clock.now()), clock.now()).action).toBe('acquire');
  });
});
