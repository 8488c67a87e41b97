/**
 * The leader's decisions about its followers, as pure functions of their fetch history and `now`
 * (Kafka's Replica.updateFetchState, Partition.maybeIncrementLeaderHW, getOutOfSyncReplicas and
 * isReplicaIsrEligible), so that they can be tested with plain numbers and no clock.
 *
 * A follower is caught up at a fetch when it asks for the leader's log end as it was then, or for
 * at least the log end the leader had at the follower's previous fetch (what it was answered then
 * is now in its log): `lastCaughtUpMs` is the time of the latest such fetch. It drops out of the ISR
 * once that is more than replica.lag.time.max.ms ago, and joins it again when it has everything
 * committed and everything of the leader's current epoch so far (KIP-101: a replica that has not
 * reached the epoch's start could still hold a diverged tail).
 */

/** What the leader knows of one follower; `logEndOffset` -1 until its first fetch under this leader. */
export interface FollowerState {
  logEndOffset: number;
  lastCaughtUpMs: number;
  /** The leader's log end at the follower's previous fetch, and when that fetch came. */
  lastFetchLeaderLogEnd: number;
  lastFetchMs: number;
}

/** A follower as a new leader first sees it: ISR members get a full lag period before they can drop. */
export function initialFollowerState(inIsr: boolean, now: number): FollowerState {
  return { logEndOffset: -1, lastCaughtUpMs: inIsr ? now : 0, lastFetchLeaderLogEnd: -1, lastFetchMs: 0 };
}

/** The follower's state after a fetch at `fetchOffset` that the leader served at log end `leaderLogEnd`. */
export function afterFetch(
  s: FollowerState,
  fetch: { fetchOffset: number; leaderLogEnd: number; now: number },
): FollowerState {
  let lastCaughtUpMs = s.lastCaughtUpMs;
  if (fetch.fetchOffset >= fetch.leaderLogEnd) lastCaughtUpMs = Math.max(lastCaughtUpMs, fetch.now);
  else if (fetch.fetchOffset >= s.lastFetchLeaderLogEnd)
    lastCaughtUpMs = Math.max(lastCaughtUpMs, s.lastFetchMs);
  return {
    logEndOffset: fetch.fetchOffset,
    lastCaughtUpMs,
    lastFetchLeaderLogEnd: fetch.leaderLogEnd,
    lastFetchMs: fetch.now,
  };
}

/**
 * The high watermark the ISR allows: the least log end over the leader and every other member.
 * null while some member's log end is unknown (it has not fetched from this leader yet), or when it
 * would not move the high watermark forward: it never goes back.
 */
export function nextHighWatermark(o: {
  self: number;
  isr: readonly number[];
  leaderLogEnd: number;
  followers: ReadonlyMap<number, FollowerState>;
  current: number;
}): number | null {
  let hw = o.leaderLogEnd;
  for (const id of o.isr) {
    if (id === o.self) continue;
    const leo = o.followers.get(id)?.logEndOffset ?? -1;
    if (leo < 0) return null;
    hw = Math.min(hw, leo);
  }
  return hw > o.current ? hw : null;
}

export interface IsrInputs {
  self: number;
  now: number;
  /** The ISR as last persisted by the controller. */
  isr: readonly number[];
  replicas: readonly number[];
  followers: ReadonlyMap<number, FollowerState>;
  leaderLogEnd: number;
  highWatermark: number;
  /** The first offset of the leader's current epoch (its log end when it became leader). */
  epochStartOffset: number;
  lagTimeMaxMs: number;
  /** Replicas the controller would refuse in an ISR: fenced or shutting down (KIP-841). */
  ineligible: ReadonlySet<number>;
}

/**
 * The ISR to ask the controller for, or null to keep it. Shrinking comes first: a lagging member
 * holds back every acks=all produce, while a follower that caught up can wait one more round.
 */
export function isrChange(i: IsrInputs): number[] | null {
  const lagging = i.isr.filter((id) => id !== i.self && !caughtUp(i, id));
  if (lagging.length > 0) return i.isr.filter((id) => !lagging.includes(id));
  const joining = i.replicas.filter((id) => {
    if (id === i.self || i.isr.includes(id) || i.ineligible.has(id)) return false;
    const leo = i.followers.get(id)?.logEndOffset ?? -1;
    return leo >= 0 && leo >= i.highWatermark && leo >= i.epochStartOffset;
  });
  if (joining.length > 0) return [...i.isr, ...joining];
  return null;
}

function caughtUp(i: IsrInputs, id: number): boolean {
  const f = i.followers.get(id);
  if (!f) return false;
  return f.logEndOffset === i.leaderLogEnd || i.now - f.lastCaughtUpMs <= i.lagTimeMaxMs;
}
