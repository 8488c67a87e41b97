/**
 * Replica placement for new partitions, after Kafka's rack-aware assignment (AdminUtils): brokers
 * are listed alternating by rack (rack a's first broker, rack b's first, …, then each rack's second),
 * each partition's preferred leader walks that list round-robin from a start index, and the other
 * replicas follow at a shift that grows every full turn, skipping a broker whose rack already holds
 * a replica while some rack holds none. With every rack unnamed this is Kafka's plain round-robin.
 *
 * Pure: the start index and shift are inputs, so the caller makes placement deterministic (Kafka
 * picks them at random) and a controller that takes over reaches the same answer.
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import type { AdminResult } from './api.ts';
import type { BrokerEndpoint } from './image.ts';
import { fail } from './state.ts';

export interface PlacementRequest {
  /** The brokers to place on (the live ones). */
  brokers: ReadonlyArray<Pick<BrokerEndpoint, 'nodeId' | 'rack'>>;
  count: number;
  replicationFactor: number;
  /** The id of the first new partition (its position in the rotation). */
  firstPartition: number;
  /** Where in the rack-alternated list partition 0's preferred leader sits. */
  startIndex: number;
  /** Where the second replicas start relative to the leaders. */
  shift: number;
}

/** Kafka's refusal when there are fewer brokers than replicas. */
export function replicationFactorUnreachable(
  rf: number,
  brokers: number,
): { ok: false } & {
  errorCode: number;
  errorMessage: string;
} {
  return fail(
    ErrorCode.INVALID_REPLICATION_FACTOR,
    `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${brokers} broker(s) are registered.`,
  );
}

/** Replica lists for `count` new partitions, the preferred leader first. */
export function placeReplicas(req: PlacementRequest): AdminResult<{ assignments: number[][] }> {
  const rf = req.replicationFactor;
  if (rf > req.brokers.length) return replicationFactorUnreachable(rf, req.brokers.length);
  const rackOf = new Map(req.brokers.map((b) => [b.nodeId, b.rack ?? '']));
  const arranged = rackAlternated(req.brokers);
  const n = arranged.length;
  const numRacks = new Set(rackOf.values()).size;
  const startIndex = mod(req.startIndex, n);
  let shift = mod(req.shift, n);
  const assignments: number[][] = [];
  for (let partition = req.firstPartition; partition < req.firstPartition + req.count; partition++) {
    if (partition > 0 && partition % n === 0) shift++;
    const first = (partition + startIndex) % n;
    const replicas = [arranged[first]];
    const racks = new Set([rackOf.get(arranged[first])]);
    for (let k = 0; replicas.length < rf; k++) {
      const broker = arranged[(first + 1 + ((shift * numRacks + k) % (n - 1))) % n];
      const rack = rackOf.get(broker);
      const rackOk = !racks.has(rack) || racks.size === numRacks;
      const brokerOk = !replicas.includes(broker) || replicas.length === n;
      if (rackOk && brokerOk) {
        replicas.push(broker);
        racks.add(rack);
      }
    }
    assignments.push(replicas);
  }
  return { ok: true, assignments };
}

/** Brokers alternating by rack, racks in name order, each rack's brokers by id. */
export function rackAlternated(brokers: ReadonlyArray<Pick<BrokerEndpoint, 'nodeId' | 'rack'>>): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((x, y) => x.nodeId - y.nodeId)) {
    const rack = b.rack ?? '';
    byRack.set(rack, [...(byRack.get(rack) ?? []), b.nodeId]);
  }
  const racks = [...byRack.keys()].sort().map((r) => byRack.get(r)!);
  const out: number[] = [];
  for (let i = 0; out.length < brokers.length; i++) {
    for (const ids of racks) if (i < ids.length) out.push(ids[i]);
  }
  return out;
}

function mod(x: number, n: number): number {
  return ((x % n) + n) % n;
}
