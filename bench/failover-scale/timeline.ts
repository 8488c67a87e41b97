/**
 * What the cluster's own logs say about one failover (`tributary dev` writes JSON lines, each with
 * its wall-clock `time` in milliseconds): when the controller noticed the broker was gone, when it
 * had persisted and published the new leaders ("Moved leadership of N partitions from broker B"),
 * and how long each surviving broker took to apply that image (the replica manager's "Applied
 * metadata image" line, with its own `applyMs`). Broker lines carry the process id, not the node
 * id: the caller maps pids to brokers.
 */

export interface BrokerApply {
  nodeId: number;
  /** Milliseconds from the kill to the end of the apply. */
  doneMs: number;
  /** How long the apply took, as the broker measured it. */
  applyMs: number;
  becameLeader: number;
}

export interface Timeline {
  /** Kill → the controller saw the broker's session end. */
  noticedMs?: number;
  /** Kill → the controller's decision persisted and published. */
  movedMs?: number;
  /** Partitions the controller moved away from the victim. */
  moved?: number;
  /** The surviving brokers that took leaderships, first apply after the kill each. */
  applies: BrokerApply[];
}

interface Line {
  time?: number;
  name?: string;
  pid?: number;
  nodeId?: number;
  msg?: string;
  applyMs?: number;
  becameLeader?: number;
}

function parse(line: string): Line | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Line;
  } catch {
    return null;
  }
}

export function timelineOf(
  output: string,
  o: { killedAtMs: number; victim: number; brokerOfPid: ReadonlyMap<number, number> },
): Timeline {
  const t: Timeline = { applies: [] };
  const moved = new RegExp(`^Moved leadership of (\\d+) partitions from broker ${o.victim}$`);
  for (const raw of output.split('\n')) {
    const l = parse(raw);
    if (!l?.time || l.time < o.killedAtMs || !l.msg) continue;
    const at = l.time - o.killedAtMs;
    if (l.name === 'controller') {
      if (t.noticedMs === undefined && l.nodeId === o.victim && l.msg.startsWith('Broker lost'))
        t.noticedMs = at;
      const m = moved.exec(l.msg);
      if (m && t.movedMs === undefined) {
        t.movedMs = at;
        t.moved = Number(m[1]);
      }
    } else if (
      l.name === 'broker' &&
      l.msg.startsWith('Applied metadata image') &&
      (l.becameLeader ?? 0) > 0
    ) {
      const nodeId = l.pid === undefined ? undefined : o.brokerOfPid.get(l.pid);
      if (nodeId === undefined || t.applies.some((a) => a.nodeId === nodeId)) continue;
      t.applies.push({ nodeId, doneMs: at, applyMs: l.applyMs ?? NaN, becameLeader: l.becameLeader ?? 0 });
    }
  }
  t.applies.sort((a, b) => a.nodeId - b.nodeId);
  return t;
}
