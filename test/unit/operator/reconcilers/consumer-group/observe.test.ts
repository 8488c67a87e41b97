import { describe, expect, it } from '@jest/globals';
import { observedStatus } from '../../../../../src/operator/reconcilers/consumer-group/observe.ts';
import { committed, group, logEnds } from './fixtures.ts';

describe('consumer group > observed status', () => {
  it('gives each partition its committed offset, log end and lag, summed per topic and in all', () => {
    const s = observedStatus({
      group: group('Empty'),
      committed: committed(['orders', 1, 40], ['orders', 0, 10], ['audit', 0, 5]),
      logEnd: logEnds(['orders', 0, 15], ['orders', 1, 40], ['audit', 0, 9]),
    });
    expect(s.topics).toEqual([
      { name: 'audit', lag: 4, partitions: [{ partition: 0, offset: 5, logEndOffset: 9, lag: 4 }] },
      {
        name: 'orders',
        lag: 5,
        partitions: [
          { partition: 0, offset: 10, logEndOffset: 15, lag: 5 },
          { partition: 1, offset: 40, logEndOffset: 40, lag: 0 },
        ],
      },
    ]);
    expect(s.totalLag).toBe(9);
  });

  it('never gives a negative lag for a commit past the log end', () => {
    const s = observedStatus({
      group: group('Empty'),
      committed: committed(['orders', 0, 20]),
      logEnd: logEnds(['orders', 0, 18]),
    });
    expect(s.topics[0]!.partitions[0]).toMatchObject({ logEndOffset: 18, lag: 0 });
  });

  it('leaves the lag of a partition whose log end is unknown out, rather than saying 0', () => {
    const s = observedStatus({
      group: group('Empty'),
      committed: committed(['orders', 0, 20]),
      logEnd: new Map([['orders:0', { offset: -1n, errorCode: 6 }]]),
    });
    expect(s.topics[0]!.partitions[0]).toEqual({ partition: 0, offset: 20 });
    expect(s.totalLag).toBe(0);
  });

  it('lists members with client, host and assigned partitions, and the protocol', () => {
    const s = observedStatus({ group: group('Stable', 2), committed: [], logEnd: new Map() });
    expect(s).toMatchObject({ state: 'Stable', protocol: 'range', members: 2 });
    expect(s.memberDetails![1]).toEqual({
      memberId: 'billing-1-a1b2',
      clientId: 'billing-1',
      host: '/10.0.0.2',
      assignments: [{ topic: 'orders', partitions: [1] }],
    });
  });

  it('has no protocol or member details for a group without members', () => {
    const s = observedStatus({ group: group('Empty'), committed: [], logEnd: new Map() });
    expect(s.members).toBe(0);
    expect(s).not.toHaveProperty('protocol');
    expect(s).not.toHaveProperty('memberDetails');
  });
});
