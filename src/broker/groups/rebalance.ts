/**
 * A classic group's rebalance: entering PreparingRebalance, waiting out the initial delay of a new
 * group (`group.initial.rebalance.delay.ms`, extended while members keep arriving, up to the
 * rebalance timeout), ending the join phase once everyone rejoined or the rebalance timeout passed
 * (dropping who did not rejoin, electing a leader among those who did, starting the next
 * generation), and the sync phase's deadline (KIP-814: members that do not send SyncGroup within
 * the rebalance timeout are removed). Also how a member leaves the group, since that is what most
 * often sets a rebalance off, and how every timer of the group stops at its end of life.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import { EMPTY_BUFFER } from '../../protocol/primitives/index.ts';
import type { GroupState } from './group-api.ts';
import { type GroupCore, PREVIOUS_STATES } from './group-core.ts';
import { timerDelay } from './group-members.ts';
import { computeSubscribedTopics, currentGenerationResult } from './group-views.ts';
import { type GroupMember, joinError, selectProtocol, syncError } from './membership.ts';

export function maybePrepareRebalance(g: GroupCore, reason: string): void {
  if (PREVIOUS_STATES.PreparingRebalance.includes(g.state)) prepareRebalance(g, reason);
}

export function prepareRebalance(g: GroupCore, reason: string): void {
  if (g.state === 'CompletingRebalance') {
    resetAndPropagateAssignmentError(g, ErrorCode.REBALANCE_IN_PROGRESS);
  }
  clearPendingSync(g);
  const fromEmpty = g.state === 'Empty';
  g.transition('PreparingRebalance');
  g.log.info({ generation: g.generationId, reason }, 'Preparing to rebalance group');
  const initialDelay = g.config.initialRebalanceDelayMs;
  if (fromEmpty && initialDelay > 0) {
    g.initialDelay = { remainingMs: Math.max(g.members.rebalanceTimeoutMs() - initialDelay, 0) };
    g.newMemberAdded = false;
    setJoinTimer(g, initialDelay, () => onInitialDelayExpired(g));
  } else {
    setJoinTimer(g, g.members.rebalanceTimeoutMs(), () => completeJoin(g));
    tryCompleteJoin(g);
  }
}

function onInitialDelayExpired(g: GroupCore): void {
  const delay = g.initialDelay!;
  if (g.newMemberAdded && delay.remainingMs > 0) {
    const initialDelay = g.config.initialRebalanceDelayMs;
    g.newMemberAdded = false;
    const next = Math.min(initialDelay, delay.remainingMs);
    delay.remainingMs = Math.max(delay.remainingMs - initialDelay, 0);
    setJoinTimer(g, next, () => onInitialDelayExpired(g));
    return;
  }
  g.initialDelay = null;
  completeJoin(g);
}

function setJoinTimer(g: GroupCore, ms: number, fn: () => void): void {
  cancelJoinTimer(g);
  const timer = g.clock.setTimeout(() => {
    if (g.joinTimer !== timer) return;
    g.joinTimer = null;
    fn();
  }, timerDelay(ms));
  g.joinTimer = timer;
}

function cancelJoinTimer(g: GroupCore): void {
  if (g.joinTimer !== null) g.clock.clearTimeout(g.joinTimer);
  g.joinTimer = null;
}

/** Completes the join phase early once every member (and every pending id) has rejoined. */
export function tryCompleteJoin(g: GroupCore): void {
  if (g.state !== 'PreparingRebalance' || g.initialDelay !== null) return;
  if (g.members.pendingCount > 0) return;
  for (const m of g.members.values()) if (!m.awaitingJoin) return;
  cancelJoinTimer(g);
  completeJoin(g);
}

/** A pending member id expired: the join phase may have been waiting for it alone. */
export function onPendingMemberExpired(g: GroupCore, memberId: string): void {
  g.log.debug({ memberId }, 'Pending member did not rejoin within its session timeout');
  if (g.state === 'PreparingRebalance') tryCompleteJoin(g);
}

/** The end of the join phase: drop who did not rejoin, start the next generation, answer all. */
function completeJoin(g: GroupCore): void {
  if (g.state !== 'PreparingRebalance') return;
  cancelJoinTimer(g);
  // Static members keep their place while away (until their session expires): KIP-345.
  const gone = g.members.list().filter((m) => !m.awaitingJoin && !m.isStatic);
  if (gone.length > 0) {
    g.log.info({ members: gone.map((m) => m.memberId) }, 'Removed members that did not rejoin in time');
    for (const m of gone) removeMember(g, m);
  }
  if (g.members.size > 0 && !electJoinedLeader(g)) {
    // Only absent static members remain: wait another rebalance timeout for someone to rejoin.
    g.log.warn('No member rejoined; waiting another rebalance timeout');
    setJoinTimer(g, g.members.rebalanceTimeoutMs(), () => completeJoin(g));
    return;
  }
  const state = initNextGeneration(g);
  g.onRebalance();
  if (state === 'Empty') {
    g.log.info({ generation: g.generationId }, 'Group is now empty');
    g.store(new Map(), (errorCode) => {
      // No member can be misled by the old generation coming back after a crash: it has none.
      if (errorCode !== ErrorCode.NONE) g.log.warn({ errorCode }, 'Failed to store the empty group');
    });
    return;
  }
  g.log.info(
    { generation: g.generationId, members: g.members.size, protocol: g.protocolName },
    'Group completed its join phase',
  );
  for (const m of g.members.values()) {
    m.completeJoin(currentGenerationResult(g, m, true));
    g.members.scheduleSession(m, m.sessionTimeoutMs);
    m.isNew = false;
    g.pendingSync.add(m.memberId);
  }
  const generation = g.generationId;
  g.syncTimer = g.clock.setTimeout(
    () => onSyncExpired(g, generation),
    timerDelay(g.members.rebalanceTimeoutMs()),
  );
}

/** The leader must be among those who rejoined; false when nobody rejoined. */
function electJoinedLeader(g: GroupCore): boolean {
  const leader = g.members.leaderId === null ? undefined : g.members.get(g.members.leaderId);
  if (leader?.awaitingJoin) return true;
  const joined = g.members.list().find((m) => m.awaitingJoin);
  if (!joined) return false;
  g.members.leaderId = joined.memberId;
  return true;
}

function initNextGeneration(g: GroupCore): GroupState {
  g.generationId++;
  if (g.members.size > 0) {
    g.protocolName = selectProtocol(g.members.list());
    g.subscribedTopics = computeSubscribedTopics(g);
    g.transition('CompletingRebalance');
  } else {
    g.protocolName = null;
    g.subscribedTopics = computeSubscribedTopics(g);
    g.transition('Empty');
  }
  g.pendingSync.clear();
  return g.state;
}

function onSyncExpired(g: GroupCore, generation: number): void {
  g.syncTimer = null;
  if (generation !== g.generationId) return;
  if (g.state !== 'CompletingRebalance' && g.state !== 'Stable') return;
  if (g.pendingSync.size === 0) return;
  const missing = [...g.pendingSync];
  g.log.info({ members: missing }, 'Removed members that did not send SyncGroup in time');
  for (const id of missing) {
    const m = g.members.get(id);
    if (m) removeMember(g, m);
  }
  prepareRebalance(g, 'members did not send SyncGroup within the rebalance timeout');
}

function clearPendingSync(g: GroupCore): void {
  g.pendingSync.clear();
  if (g.syncTimer !== null) g.clock.clearTimeout(g.syncTimer);
  g.syncTimer = null;
}

export function resetAndPropagateAssignmentError(g: GroupCore, errorCode: number): void {
  for (const m of g.members.values()) m.assignment = EMPTY_BUFFER;
  propagateAssignment(g, errorCode);
}

/** Answers every SyncGroup waiting for the assignment, with it or with the error. */
export function propagateAssignment(g: GroupCore, errorCode: number): void {
  const ok = errorCode === ErrorCode.NONE;
  for (const m of g.members.values()) {
    const answered = m.completeSync({
      errorCode,
      protocolType: ok ? g.protocolType : null,
      protocolName: ok ? g.protocolName : null,
      assignment: m.assignment,
    });
    // Its session was on hold while it waited; it starts afresh now.
    if (answered) g.members.scheduleSession(m, m.sessionTimeoutMs);
  }
}

// --- members leaving ---------------------------------------------------------------------------

export function removeMemberAndUpdateGroup(g: GroupCore, member: GroupMember): void {
  // A JoinGroup still waiting gets UNKNOWN_MEMBER_ID: the client rejoins from scratch if alive.
  member.completeJoin(joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
  member.completeSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
  removeMember(g, member);
  switch (g.state) {
    case 'Stable':
    case 'CompletingRebalance':
      maybePrepareRebalance(g, `member ${member.memberId} left`);
      return;
    case 'PreparingRebalance':
      tryCompleteJoin(g);
      return;
    default:
  }
}

export function removeMember(g: GroupCore, member: GroupMember): void {
  g.members.remove(member);
  g.pendingSync.delete(member.memberId);
}

/** The group's end of life (unloaded or deleted): no timer of it fires again. */
export function cancelAllTimers(g: GroupCore): void {
  cancelJoinTimer(g);
  clearPendingSync(g);
  g.members.cancelAllTimers();
  g.initialDelay = null;
}
