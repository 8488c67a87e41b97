/**
 * The broker registry's decisions: registration, heartbeats, session expiry and lost connections.
 *
 * A broker registers at every process start with a fresh incarnation id and gets a new broker
 * epoch; it stays fenced (leads nothing, in no ISR, hidden from clients) until a heartbeat says its
 * logs are caught up. A registration under a new incarnation means the old process is gone, with
 * whatever it had in memory, so the old one is fenced first. The same incarnation registering again
 * means only the controller changed: the broker keeps its state and gets a new epoch.
 *
 * Fencing and unfencing change the registrations only; ./election.ts settles every partition to them.
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import type {
  AdminError,
  AdminResult,
  HeartbeatRequest,
  HeartbeatResponse,
  OfflineReplica,
  RegisterRequest,
  RegisterResponse,
} from './api.ts';
import { describeReport, emptyReport, withBrokers } from './election.ts';
import { replicaKey, type BrokerRegistration } from './image.ts';
import { beginShutdown, shutdownReady } from './shutdown.ts';
import { type BrokerSession, type ClusterState, type Decision, fail, successor } from './state.ts';

export function register(state: ClusterState, req: RegisterRequest): Decision<AdminResult<RegisterResponse>> {
  if (req.clusterId !== null && req.clusterId !== state.clusterId) {
    return {
      state,
      answer: fail(
        ErrorCode.INCONSISTENT_CLUSTER_ID,
        `Expected cluster ID ${state.clusterId}, but got cluster ID ${req.clusterId}`,
      ),
      log: [],
    };
  }
  const brokerEpoch = state.nextBrokerEpoch;
  const old = state.brokers.find((b) => b.nodeId === req.nodeId);
  const sameProcess = old !== undefined && old.incarnationId === req.incarnationId;
  const reg: BrokerRegistration = {
    nodeId: req.nodeId,
    host: req.host,
    port: req.port,
    rack: req.rack,
    incarnationId: req.incarnationId,
    brokerEpoch,
    fenced: sameProcess ? old.fenced : true,
    shuttingDown: sameProcess ? old.shuttingDown : false,
    // A new process has opened its logs again: what it reported offline before is forgotten.
    ...(sameProcess && old.offlineReplicas ? { offlineReplicas: old.offlineReplicas } : {}),
  };
  const log: string[] = [];
  const report = emptyReport();
  if (old && !sameProcess && !old.fenced) {
    log.push(`Fenced broker ${req.nodeId} (it registered again as a new process)`);
  }
  const brokers = [...state.brokers.filter((b) => b.nodeId !== req.nodeId), reg];
  const next = successor(state, {
    ...withBrokers(state, brokers, report),
    nextBrokerEpoch: brokerEpoch + 1,
  });
  log.push(
    `Registered broker ${req.nodeId} at ${req.host}:${req.port} with broker epoch ${brokerEpoch}` +
      (sameProcess ? ' (same process, after a controller change)' : ''),
    ...describeReport(report),
  );
  return {
    state: next,
    answer: { ok: true, brokerEpoch, clusterId: state.clusterId, controllerEpoch: state.controllerEpoch },
    log,
  };
}

export function heartbeat(
  state: ClusterState,
  req: HeartbeatRequest,
): Decision<AdminResult<HeartbeatResponse>> {
  const reg = state.brokers.find((b) => b.nodeId === req.nodeId);
  if (!reg || reg.brokerEpoch !== req.brokerEpoch) {
    return { state, answer: staleEpoch(req.nodeId, reg, req.brokerEpoch), log: [] };
  }
  if (req.wantShutdown && reg.fenced) {
    // A fenced broker leads nothing and is in no ISR that needs it: it may go at once.
    return { state, answer: { ok: true, fenced: true, shutdownReady: true }, log: [] };
  }
  let d: Decision<unknown> = { state, answer: undefined, log: [] };
  if (req.offlineReplicas) d = markOffline(state, req.nodeId, req.offlineReplicas);
  if (req.wantShutdown) d = then(d, beginShutdown(d.state, req.nodeId));
  else if (req.caughtUp && reg.fenced) d = then(d, unfence(d.state, req.nodeId));
  const now = d.state.brokers.find((b) => b.nodeId === req.nodeId)!;
  return {
    state: d.state,
    answer: {
      ok: true,
      fenced: now.fenced,
      shutdownReady: now.shuttingDown && shutdownReady(d.state, req.nodeId),
    },
    log: d.log,
  };
}

/**
 * The broker's logs of `replicas` are offline (a disk fault): it leaves their ISRs and their
 * leadership moves to another in-sync replica, as Kafka's controller does for replicas on an offline
 * log dir. Unchanged state when the broker reported the same set before.
 */
export function markOffline(
  state: ClusterState,
  nodeId: number,
  replicas: readonly OfflineReplica[],
): Decision<void> {
  const keys = [...new Set(replicas.map((r) => replicaKey(r.topicId, r.partition)))].sort();
  const reg = state.brokers.find((b) => b.nodeId === nodeId);
  const before = reg?.offlineReplicas ?? [];
  if (!reg || (keys.length === before.length && keys.every((k, i) => k === before[i]))) {
    return { state, answer: undefined, log: [] };
  }
  const report = emptyReport();
  const brokers = state.brokers.map((b) => (b.nodeId === nodeId ? { ...b, offlineReplicas: keys } : b));
  const names = keys.filter((k) => !before.includes(k)).map((k) => nameOf(state, k));
  return {
    state: successor(state, withBrokers(state, brokers, report)),
    answer: undefined,
    log: [
      `Broker ${nodeId} reports its log offline for ${names.length} more partitions (a disk fault): ${names.join(', ')}`,
      ...describeReport(report),
    ],
  };
}

/** `topic-partition` for a replica key, by the topic's name when it still exists. */
function nameOf(state: ClusterState, key: string): string {
  const [topicId, partition] = [key.slice(0, key.lastIndexOf(':')), key.slice(key.lastIndexOf(':') + 1)];
  const topic = state.topics.find((t) => t.topicId === topicId);
  return `${topic?.name ?? topicId}-${partition}`;
}

/** Two decisions in a row: the second's state, both logs. */
function then<T>(first: Decision<unknown>, second: Decision<T>): Decision<T> {
  return { ...second, log: [...first.log, ...second.log] };
}

/** Fences every unfenced broker whose last heartbeat is more than `sessionTimeoutMs` old. */
export function expireSessions(
  state: ClusterState,
  sessions: ReadonlyMap<number, BrokerSession>,
  now: number,
  sessionTimeoutMs: number,
): Decision<number[]> {
  const expired = state.brokers
    .filter((b) => !b.fenced)
    .filter((b) => {
      const s = sessions.get(b.nodeId);
      return s === undefined || now - s.lastHeartbeatMs > sessionTimeoutMs;
    })
    .map((b) => b.nodeId);
  if (expired.length === 0) return { state, answer: [], log: [] };
  const d = fence(state, expired, 'session expired');
  return { ...d, answer: expired };
}

/** The broker's session ended (connection closed, process gone): fenced unless it registered since. */
export function brokerLost(
  state: ClusterState,
  nodeId: number,
  brokerEpoch: number,
  reason: string,
): Decision<boolean> {
  const reg = state.brokers.find((b) => b.nodeId === nodeId);
  if (!reg || reg.brokerEpoch !== brokerEpoch || reg.fenced) return { state, answer: false, log: [] };
  return { ...fence(state, [nodeId], reason), answer: true };
}

/** When a standby heard from a broker: the start of its current run of requests, and the latest. */
export interface Heard {
  first: number;
  last: number;
}

/**
 * A controller taking over from one that went silent (an operator replica whose Lease wait ended)
 * has been asked by the live brokers meanwhile: they tried it while the old controller did not
 * answer. When some broker has been asking for at least `windowMs` (so the old controller has been
 * gone that long, not handing over gracefully a moment ago), the unfenced brokers it has not heard
 * from within twice `windowMs` are fenced in the takeover itself, rather than after a fresh session timeout:
 * a broker that died with the old controller leads nothing a moment later.
 */
export function fenceUnheard(
  state: ClusterState,
  heard: ReadonlyMap<number, Heard>,
  now: number,
  windowMs: number,
): Decision<number[]> {
  // A live broker asks every heartbeat, or every round of timeouts against a stopped old controller.
  const recent = (h: Heard | undefined): boolean => h !== undefined && now - h.last <= 2 * windowMs;
  const evidence = [...heard.values()].some((h) => recent(h) && now - h.first >= windowMs);
  if (!evidence) return { state, answer: [], log: [] };
  const silent = state.brokers.filter((b) => !b.fenced && !recent(heard.get(b.nodeId))).map((b) => b.nodeId);
  if (silent.length === 0) return { state, answer: [], log: [] };
  return { ...fence(state, silent, 'not heard from since the controller moved'), answer: silent };
}

/** Fences `nodeIds` (leaderships move, ISRs shrink) in one change. */
export function fence(state: ClusterState, nodeIds: number[], reason: string): Decision<void> {
  const ids = new Set(nodeIds);
  const report = emptyReport();
  const brokers = state.brokers.map((b) =>
    ids.has(b.nodeId) ? { ...b, fenced: true, shuttingDown: false } : b,
  );
  return {
    state: successor(state, withBrokers(state, brokers, report)),
    answer: undefined,
    log: [...nodeIds.map((id) => `Fenced broker ${id} (${reason})`), ...describeReport(report)],
  };
}

/** Unfences a caught-up broker: leaderless partitions whose ISR holds it elect it. */
export function unfence(state: ClusterState, nodeId: number): Decision<void> {
  const report = emptyReport();
  const brokers = state.brokers.map((b) => (b.nodeId === nodeId ? { ...b, fenced: false } : b));
  return {
    state: successor(state, withBrokers(state, brokers, report)),
    answer: undefined,
    log: [`Unfenced broker ${nodeId} (caught up)`, ...describeReport(report)],
  };
}

/** Kafka's refusal of a request from a broker epoch that is not the current one. */
export function staleEpoch(
  nodeId: number,
  reg: BrokerRegistration | undefined,
  got: number,
): { ok: false } & AdminError {
  return fail(
    ErrorCode.STALE_BROKER_EPOCH,
    reg
      ? `Expected broker epoch ${reg.brokerEpoch} for broker ${nodeId}, but got broker epoch ${got}`
      : `Broker ${nodeId} is not registered`,
  );
}
