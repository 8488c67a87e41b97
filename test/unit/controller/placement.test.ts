import { describe, expect, it } from '@jest/globals';
import { placeReplicas, rackAlternated } from '../../../src/controller/placement.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';

const sixBrokersThreeRacks = [
  { nodeId: 0, rack: 'a' },
  { nodeId: 1, rack: 'a' },
  { nodeId: 2, rack: 'b' },
  { nodeId: 3, rack: 'b' },
  { nodeId: 4, rack: 'c' },
  { nodeId: 5, rack: 'c' },
];

function place(o: { count: number; rf: number; startIndex?: number; brokers?: typeof sixBrokersThreeRacks }) {
  const r = placeReplicas({
    brokers: o.brokers ?? sixBrokersThreeRacks,
    count: o.count,
    replicationFactor: o.rf,
    firstPartition: 0,
    startIndex: o.startIndex ?? 0,
    shift: o.startIndex ?? 0,
  });
  if (!r.ok) throw new Error(r.errorMessage);
  return r.assignments;
}

describe('controller > placement', () => {
  it('lists brokers alternating by rack', () => {
    expect(rackAlternated(sixBrokersThreeRacks)).toEqual([0, 2, 4, 1, 3, 5]);
  });

  it.each([0, 1, 4])('never puts two replicas of a partition in one rack (start index %i)', (startIndex) => {
    const rack = new Map(sixBrokersThreeRacks.map((b) => [b.nodeId, b.rack]));
    for (const replicas of place({ count: 60, rf: 3, startIndex })) {
      expect(new Set(replicas).size).toBe(3);
      expect(new Set(replicas.map((id) => rack.get(id))).size).toBe(3);
    }
  });

  it('spreads preferred leaders and replicas evenly', () => {
    const lists = place({ count: 60, rf: 3 });
    const leaders = new Map<number, number>();
    const replicas = new Map<number, number>();
    for (const l of lists) {
      leaders.set(l[0], (leaders.get(l[0]) ?? 0) + 1);
      for (const id of l) replicas.set(id, (replicas.get(id) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([10, 10, 10, 10, 10, 10]);
    expect([...replicas.values()]).toEqual([30, 30, 30, 30, 30, 30]);
  });

  it('is round-robin without racks, the preferred leader first', () => {
    const brokers = [0, 1, 2].map((nodeId) => ({ nodeId, rack: null as unknown as string }));
    expect(place({ count: 3, rf: 2, brokers })).toEqual([
      [0, 1],
      [1, 2],
      [2, 0],
    ]);
  });

  it('continues the rotation from the first new partition', () => {
    const all = place({ count: 8, rf: 2 });
    const later = placeReplicas({
      brokers: sixBrokersThreeRacks,
      count: 4,
      replicationFactor: 2,
      firstPartition: 4,
      startIndex: 0,
      shift: 0,
    });
    expect(later.ok && later.assignments).toEqual(all.slice(4));
  });

  it('refuses a replication factor above the number of brokers, as Kafka words it', () => {
    const r = placeReplicas({
      brokers: [{ nodeId: 0, rack: null }],
      count: 1,
      replicationFactor: 3,
      firstPartition: 0,
      startIndex: 0,
      shift: 0,
    });
    expect(r).toEqual({
      ok: false,
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      errorMessage:
        'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered.',
    });
  });
});
