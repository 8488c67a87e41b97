import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeRecordKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
} from '../../../../src/broker/groups/records.ts';

/*
 * Golden bytes written by Kafka 3.9.1's own generated classes (org.apache.kafka.coordinator.group.
 * generated.*, serialized with MessageUtil.toVersionPrefixedBytes) for the values below.
 */
const GOLDEN = {
  offsetKey: '0001000367727000066f726465727300000005',
  offsetValueV3: '0003000000000000002a0000000700046d6574610000018bcfe56800',
  offsetValueV1: '0001000000000000002a00000000018bcfe568000000018bcfe65260',
  offsetValueV4: '0004000000000000002affffffff026d0000018bcfe5680000',
  groupKey: '00020003677270',
  groupValueV3:
    '00030008636f6e73756d657200000003000572616e67650003632d310000018bcfe56800000000020003632d310003692d31000163000a2f3132372e302e302e310000ea600000753000000002010200000001030003632d32ffff000163000a2f3132372e302e302e310000ea60000075300000000000000000',
  groupValueV4:
    '000409636f6e73756d6572000000030672616e676504632d310000018bcfe568000304632d3104692d3102630b2f3132372e302e302e310000ea600000753003010202030004632d320002630b2f3132372e302e302e310000ea600000753001010000',
  emptyGroupValueV3: '0003000000000004ffffffff0000018bcfe5680000000000',
};

const T = 1_700_000_000_000;

const groupValue: GroupMetadataValue = {
  protocolType: 'consumer',
  generation: 3,
  protocol: 'range',
  leader: 'c-1',
  currentStateTimestamp: T,
  members: [
    {
      memberId: 'c-1',
      groupInstanceId: 'i-1',
      clientId: 'c',
      clientHost: '/127.0.0.1',
      rebalanceTimeoutMs: 60000,
      sessionTimeoutMs: 30000,
      subscription: Buffer.from([1, 2]),
      assignment: Buffer.from([3]),
    },
    {
      memberId: 'c-2',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: '/127.0.0.1',
      rebalanceTimeoutMs: 60000,
      sessionTimeoutMs: 30000,
      subscription: Buffer.alloc(0),
      assignment: Buffer.alloc(0),
    },
  ],
};

const hex = (b: Buffer): string => b.toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h, 'hex');

describe('offsets topic records > Kafka formats', () => {
  it('writes an offset commit key and value as Kafka 3.9 does', () => {
    expect(hex(encodeOffsetCommitKey({ group: 'grp', topic: 'orders', partition: 5 }))).toBe(
      GOLDEN.offsetKey,
    );
    const value = {
      offset: 42n,
      leaderEpoch: 7,
      metadata: 'meta',
      commitTimestamp: T,
      expireTimestamp: null,
    };
    expect(hex(encodeOffsetCommitValue(value))).toBe(GOLDEN.offsetValueV3);
  });

  it('writes value version 1 for a commit with an expire timestamp (OffsetCommit v2–v4 retention)', () => {
    const value = {
      offset: 42n,
      leaderEpoch: -1,
      metadata: '',
      commitTimestamp: T,
      expireTimestamp: T + 60_000,
    };
    expect(hex(encodeOffsetCommitValue(value))).toBe(GOLDEN.offsetValueV1);
  });

  it('writes a group metadata key and value as Kafka 3.9 does', () => {
    expect(hex(encodeGroupMetadataKey('grp'))).toBe(GOLDEN.groupKey);
    expect(hex(encodeGroupMetadataValue(groupValue))).toBe(GOLDEN.groupValueV3);
    const empty = {
      protocolType: '',
      generation: 4,
      protocol: null,
      leader: null,
      currentStateTimestamp: T,
      members: [],
    };
    expect(hex(encodeGroupMetadataValue(empty))).toBe(GOLDEN.emptyGroupValueV3);
  });

  it('reads keys of both kinds, and marks other group types as not ours', () => {
    expect(decodeRecordKey(bytes(GOLDEN.offsetKey))).toEqual({
      kind: 'offset',
      group: 'grp',
      topic: 'orders',
      partition: 5,
    });
    expect(decodeRecordKey(bytes(GOLDEN.groupKey))).toEqual({ kind: 'group', group: 'grp' });
    expect(decodeRecordKey(bytes('000300036772700000'))).toEqual({ kind: 'other', version: 3 });
  });

  it('reads every offset commit value version Kafka writes, the flexible one included', () => {
    expect(decodeOffsetCommitValue(bytes(GOLDEN.offsetValueV3))).toEqual({
      offset: 42n,
      leaderEpoch: 7,
      metadata: 'meta',
      commitTimestamp: T,
      expireTimestamp: null,
    });
    expect(decodeOffsetCommitValue(bytes(GOLDEN.offsetValueV1))).toEqual({
      offset: 42n,
      leaderEpoch: -1,
      metadata: '',
      commitTimestamp: T,
      expireTimestamp: T + 60_000,
    });
    expect(decodeOffsetCommitValue(bytes(GOLDEN.offsetValueV4))).toEqual({
      offset: 42n,
      leaderEpoch: -1,
      metadata: 'm',
      commitTimestamp: T,
      expireTimestamp: null,
    });
  });

  it('reads group metadata values of versions 3 and 4 alike', () => {
    expect(decodeGroupMetadataValue(bytes(GOLDEN.groupValueV3))).toEqual(groupValue);
    expect(decodeGroupMetadataValue(bytes(GOLDEN.groupValueV4))).toEqual(groupValue);
  });

  it('round-trips any value it writes', () => {
    const str = fc.string({ maxLength: 20 });
    const member = fc.record({
      memberId: str,
      groupInstanceId: fc.option(str, { nil: null }),
      clientId: str,
      clientHost: str,
      rebalanceTimeoutMs: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      sessionTimeoutMs: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      subscription: fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)),
      assignment: fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(
        fc.record({
          protocolType: str,
          generation: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          protocol: fc.option(str, { nil: null }),
          leader: fc.option(str, { nil: null }),
          currentStateTimestamp: fc.integer({ min: 0, max: 2 ** 50 }),
          members: fc.array(member, { maxLength: 4 }),
        }),
        (v) => expect(decodeGroupMetadataValue(encodeGroupMetadataValue(v))).toEqual(v),
      ),
    );
    fc.assert(
      fc.property(
        fc.record({
          offset: fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }),
          leaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
          metadata: str,
          commitTimestamp: fc.integer({ min: 0, max: 2 ** 50 }),
          expireTimestamp: fc.option(fc.integer({ min: 0, max: 2 ** 50 }), { nil: null }),
        }),
        (v) => {
          const back = decodeOffsetCommitValue(encodeOffsetCommitValue(v));
          // Version 1 (with an expire timestamp) has no leader epoch.
          expect(back).toEqual(v.expireTimestamp === null ? v : { ...v, leaderEpoch: -1 });
        },
      ),
    );
  });
});
