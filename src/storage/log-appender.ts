import { LOG_OVERHEAD, assignOffsets, lastOffsetOf } from './batch.ts';
import type { BatchHeader } from './batch.ts';
import { LogErrorCode, LogRequestError } from './errors.ts';
import type { LogState } from './log-state.ts';
import type { BatchSummary } from './segment-indexes.ts';

export interface AppendRequest {
  records: Buffer;
  headers: BatchHeader[];
  /** null for a follower's append: offsets and epochs come from the leader, already in the batches. */
  leaderEpoch: number | null;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker's clock when the batch was written (ProduceResponse's log_append_time for LogAppendTime topics). */
  appendTime: number;
  logStartOffset: number;
}

const MAX_RELATIVE_OFFSET = 0xffffffff;

/**
 * Writes a group of appends queued together: one write per segment touched (rolling when the next
 * request would not fit), the epoch cache updated and persisted. Returns each request's result, or
 * the request error that refused it alone; throws on an I/O failure, after which nothing in the
 * group may be acknowledged.
 */
export async function writeAppends(
  s: LogState,
  group: readonly AppendRequest[],
): Promise<Array<AppendResult | LogRequestError>> {
  const outcomes: Array<AppendResult | LogRequestError> = [];
  let buffers: Buffer[] = [];
  let summaries: BatchSummary[] = [];
  let pendingBytes = 0;
  let epochsChanged = false;
  const writePending = async (): Promise<void> => {
    if (buffers.length === 0) return;
    await s.active.append(buffers, summaries);
    s.metrics?.appendedBytes.inc(pendingBytes);
    s.metrics?.appendedBatches.inc(summaries.length);
    buffers = [];
    summaries = [];
    pendingBytes = 0;
  };

  for (const req of group) {
    const end = s.logEndOffset;
    const refusal = req.leaderEpoch === null ? checkFollowerOffsets(req.headers, end) : null;
    if (refusal) {
      outcomes.push(refusal);
      continue;
    }
    const first = req.leaderEpoch === null ? req.headers[0].baseOffset : end;
    const last =
      req.leaderEpoch === null
        ? lastOffsetOf(req.headers[req.headers.length - 1])
        : end + span(req.headers) - 1;
    if (shouldRoll(s, { activeBytes: s.active.size + pendingBytes, incoming: req.records.length, last })) {
      await writePending();
      await s.roll(first);
    }
    if (req.leaderEpoch !== null) assignOffsets(req.records, first, req.leaderEpoch);
    let next = first;
    for (const h of req.headers) {
      const base = req.leaderEpoch === null ? h.baseOffset : next;
      const epoch = req.leaderEpoch ?? h.partitionLeaderEpoch;
      if (epoch > s.epochs.latestEpoch() && s.epochs.assign(epoch, base)) epochsChanged = true;
      summaries.push({
        baseOffset: base,
        lastOffset: base + h.lastOffsetDelta,
        maxTimestamp: h.maxTimestamp,
        size: LOG_OVERHEAD + h.batchLength,
      });
      next = base + h.lastOffsetDelta + 1;
    }
    buffers.push(req.records);
    pendingBytes += req.records.length;
    s.logEndOffset = next;
    outcomes.push({
      baseOffset: first,
      lastOffset: next - 1,
      appendTime: s.clock.now(),
      logStartOffset: s.logStartOffset,
    });
  }
  await writePending();
  if (epochsChanged) await s.persistEpochs();
  return outcomes;
}

/** A follower's batches must start at or after the log end and increase. */
function checkFollowerOffsets(headers: readonly BatchHeader[], logEnd: number): LogRequestError | null {
  let min = logEnd;
  for (const h of headers) {
    if (h.baseOffset < min) {
      return new LogRequestError(
        LogErrorCode.INVALID_RECORD,
        `follower batch at offset ${h.baseOffset} does not follow offset ${min - 1}`,
      );
    }
    min = lastOffsetOf(h) + 1;
  }
  return null;
}

function shouldRoll(s: LogState, next: { activeBytes: number; incoming: number; last: number }): boolean {
  if (next.activeBytes === 0) return false;
  if (next.activeBytes + next.incoming > s.config.segmentBytes) return true;
  if (next.last - s.active.baseOffset > MAX_RELATIVE_OFFSET) return true;
  return s.clock.now() - s.activeCreatedAt >= s.config.segmentMs;
}

/** Offsets a blob spans when its batches get consecutive offsets. */
function span(headers: readonly BatchHeader[]): number {
  let n = 0;
  for (const h of headers) n += h.lastOffsetDelta + 1;
  return n;
}
