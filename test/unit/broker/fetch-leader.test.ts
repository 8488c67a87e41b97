import { describe, expect, it } from '@jest/globals';
import { leaderLogAtEpoch } from '../../../src/broker/fetch-leader.ts';
import type { MetadataImage, PartitionState } from '../../../src/controller/image.ts';
import type { PartitionLookup, ReplicaManager } from '../../../src/broker/replica-manager.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';

/** A partition at leader epoch 5, led here or by broker 2. */
function services(ledHere: boolean) {
  const state: PartitionState = {
    partition: 0,
    leader: ledHere ? 1 : 2,
    leaderEpoch: 5,
    partitionEpoch: 5,
    replicas: [1, 2],
    isr: [1, 2],
  };
  const found = { ok: true, state } as unknown as PartitionLookup;
  const replicas = {
    leaderLog: (topic: string): PartitionLookup => {
      if (topic !== 't') return { ok: false, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      return ledHere ? found : { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    },
  } as unknown as ReplicaManager;
  const image = { topics: new Map([['t', { name: 't', partitions: [state] }]]) } as unknown as MetadataImage;
  return { replicas, metadata: () => image };
}

const codeOf = (r: PartitionLookup) => (r.ok ? ErrorCode.NONE : r.errorCode);

describe('fetch leader > the client’s leader epoch', () => {
  it('serves a client that sends no epoch (-1) or the current one', () => {
    expect(codeOf(leaderLogAtEpoch(services(true), 't', 0, -1))).toBe(ErrorCode.NONE);
    expect(codeOf(leaderLogAtEpoch(services(true), 't', 0, 5))).toBe(ErrorCode.NONE);
  });

  it('fences an older epoch and asks a newer one to retry', () => {
    expect(codeOf(leaderLogAtEpoch(services(true), 't', 0, 4))).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(codeOf(leaderLogAtEpoch(services(true), 't', 0, 6))).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  });

  it('checks the epoch before leadership on a broker that does not lead the partition', () => {
    expect(codeOf(leaderLogAtEpoch(services(false), 't', 0, 4))).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(codeOf(leaderLogAtEpoch(services(false), 't', 0, 6))).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect(codeOf(leaderLogAtEpoch(services(false), 't', 0, 5))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(codeOf(leaderLogAtEpoch(services(false), 't', 0, -1))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  it('answers an unknown partition whatever the epoch', () => {
    expect(codeOf(leaderLogAtEpoch(services(true), 'other', 0, 3))).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  });
});
