import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import {
  type Admission,
  inSequence,
  lastSequence,
  PartitionProducerState,
  type Reservation,
} from '../../../src/broker/producer-state.ts';
import { decodeSnapshot, encodeSnapshot } from '../../../src/broker/producer-state-snapshot.ts';

const INT32_MAX = 0x7fffffff;
const NOW = 1_700_000_000_000;

function batch(producerId: number, producerEpoch: number, baseSequence: number, records = 1) {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: records - 1 };
}

/** Admits and completes at once, as an append that went through; returns the admission. */
function write(
  s: PartitionProducerState,
  b: ReturnType<typeof batch>,
  at: { offset: number; now?: number },
): Admission {
  const a = s.admit(b, at.now ?? NOW, at.offset);
  if (a.kind === 'append') {
    a.reservation.complete({
      baseOffset: at.offset,
      lastOffset: at.offset + b.lastOffsetDelta,
      timestamp: NOW,
    });
  }
  return a;
}

function reservationOf(a: Admission): Reservation {
  if (a.kind !== 'append') throw new Error(`expected an append, got ${a.kind}`);
  return a.reservation;
}

describe('producer state > sequences', () => {
  it('computes the last sequence of a batch, wrapping at Int32 max', () => {
    expect(lastSequence(0, 4)).toBe(4);
    expect(lastSequence(INT32_MAX - 1, 0)).toBe(INT32_MAX - 1);
    expect(lastSequence(INT32_MAX - 1, 1)).toBe(INT32_MAX);
    expect(lastSequence(INT32_MAX - 1, 2)).toBe(0);
    expect(lastSequence(INT32_MAX, 3)).toBe(2);
  });

  it('follows Int32 max with 0', () => {
    expect(inSequence(4, 5)).toBe(true);
    expect(inSequence(4, 6)).toBe(false);
    expect(inSequence(INT32_MAX, 0)).toBe(true);
    expect(inSequence(-1, 0)).toBe(true);
  });
});

describe('producer state > admission', () => {
  it('accepts a producer it does not know at any sequence (KIP-360: no UNKNOWN_PRODUCER_ID)', () => {
    const s = new PartitionProducerState('t-0');
    expect(write(s, batch(7, 0, 42), { offset: 0 }).kind).toBe('append');
    expect(s.entry(7)?.batches.map((b) => [b.firstSeq, b.lastSeq])).toEqual([[42, 42]]);
  });

  it('accepts the next sequence and refuses a gap with OUT_OF_ORDER_SEQUENCE_NUMBER', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(7, 0, 0, 3), { offset: 0 });
    expect(write(s, batch(7, 0, 3, 2), { offset: 3 }).kind).toBe('append');
    const gap = s.admit(batch(7, 0, 6), NOW, 5);
    expect(gap).toMatchObject({ kind: 'reject', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect((gap as { message: string }).message).toContain('6 (incoming seq. number), 4 (current end');
  });

  it('continues across the Int32 wrap', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(1, 0, INT32_MAX - 1, 2), { offset: 0 });
    expect(write(s, batch(1, 0, 0), { offset: 2 }).kind).toBe('append');
  });

  it('answers a retry of any of the last five batches with its original offsets', () => {
    const s = new PartitionProducerState('t-0');
    for (let i = 0; i < 6; i++) write(s, batch(7, 0, i * 2, 2), { offset: 100 + i * 2 });
    const dup = s.admit(batch(7, 0, 2, 2), NOW, 112);
    expect(dup).toMatchObject({ kind: 'duplicate', batch: { baseOffset: 102, lastOffset: 103 } });
    // The oldest has been forgotten: a retry of it is out of order, as in Kafka.
    expect(s.admit(batch(7, 0, 0, 2), NOW, 112)).toMatchObject({
      kind: 'reject',
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    });
  });

  it('does not take a batch with the same first sequence but another length for a duplicate', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(7, 0, 0, 2), { offset: 0 });
    expect(s.admit(batch(7, 0, 0, 3), NOW, 2).kind).toBe('reject');
  });

  it('refuses an older epoch with INVALID_PRODUCER_EPOCH, even for a batch it holds', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(7, 0, 0), { offset: 0 });
    write(s, batch(7, 1, 0), { offset: 1 });
    expect(s.admit(batch(7, 0, 1), NOW, 2)).toMatchObject({
      kind: 'reject',
      errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
    });
    expect(s.admit(batch(7, 0, 0), NOW, 2).kind).toBe('reject');
  });

  it('requires a new epoch to start again at sequence 0, and forgets the old epoch', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(7, 0, 0, 5), { offset: 0 });
    expect(s.admit(batch(7, 1, 5), NOW, 5)).toMatchObject({
      kind: 'reject',
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    });
    expect(write(s, batch(7, 1, 0), { offset: 5 }).kind).toBe('append');
    expect(s.entry(7)).toMatchObject({ epoch: 1, batches: [{ firstSeq: 0, baseOffset: 5 }] });
  });

  it('keeps producers apart', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(1, 0, 0), { offset: 0 });
    write(s, batch(2, 0, 0), { offset: 1 });
    expect(write(s, batch(1, 0, 1), { offset: 2 }).kind).toBe('append');
    expect(s.admit(batch(2, 0, 0), NOW, 3)).toMatchObject({ kind: 'duplicate', batch: { baseOffset: 1 } });
  });
});

describe('producer state > appends in flight', () => {
  it('lets the next batch of a producer follow one still being written', () => {
    const s = new PartitionProducerState('t-0');
    const first = reservationOf(s.admit(batch(7, 0, 0, 2), NOW, 0));
    expect(s.admit(batch(7, 0, 2), NOW, 0).kind).toBe('append');
    first.complete({ baseOffset: 0, lastOffset: 1, timestamp: NOW });
  });

  it('makes a retry of a batch in flight wait for it, then answers with its offsets', async () => {
    const s = new PartitionProducerState('t-0');
    const first = reservationOf(s.admit(batch(7, 0, 0), NOW, 10));
    const retry = s.admit(batch(7, 0, 0), NOW, 10);
    if (retry.kind !== 'wait') throw new Error(`expected wait, got ${retry.kind}`);
    first.complete({ baseOffset: 10, lastOffset: 10, timestamp: NOW });
    await expect(retry.settled).resolves.toEqual({ ok: true });
    expect(retry.batch.baseOffset).toBe(10);
  });

  it('takes back a failed append: its sequence is free again, and a waiting retry hears the error', async () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(7, 0, 0), { offset: 0 });
    const failed = reservationOf(s.admit(batch(7, 0, 1), NOW, 1));
    const retry = s.admit(batch(7, 0, 1), NOW, 1);
    failed.abort(ErrorCode.KAFKA_STORAGE_ERROR);
    await expect((retry as { settled: Promise<unknown> }).settled).resolves.toEqual({
      ok: false,
      errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
    });
    expect(s.admit(batch(7, 0, 1), NOW, 1).kind).toBe('append');
  });

  it('undoes the epoch bump of a failed append, and forgets a producer whose first append failed', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(7, 0, 0), { offset: 0 });
    reservationOf(s.admit(batch(7, 1, 0), NOW, 1)).abort(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(s.entry(7)).toMatchObject({ epoch: 0, batches: [{ firstSeq: 0 }] });
    reservationOf(s.admit(batch(8, 0, 5), NOW, 1)).abort(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(s.entry(8)).toBeUndefined();
  });

  it('knows the lowest offset a batch in flight can land at', () => {
    const s = new PartitionProducerState('t-0');
    expect(s.inFlightFloor()).toBe(Infinity);
    const a = reservationOf(s.admit(batch(1, 0, 0), NOW, 40));
    reservationOf(s.admit(batch(2, 0, 0), NOW, 41));
    expect(s.inFlightFloor()).toBe(40);
    a.complete({ baseOffset: 40, lastOffset: 40, timestamp: NOW });
    expect(s.inFlightFloor()).toBe(41);
  });
});

describe('producer state > expiry, replay and snapshots', () => {
  it('forgets producers silent for the expiration time, but not one with an append in flight', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(1, 0, 0), { offset: 0, now: NOW });
    write(s, batch(2, 0, 0), { offset: 1, now: NOW + 500 });
    reservationOf(s.admit(batch(3, 0, 0), NOW, 2));
    expect(s.expire(NOW + 1000, 1000)).toBe(1);
    expect(s.entry(1)).toBeUndefined();
    expect(s.entry(2)).toBeDefined();
    expect(s.entry(3)).toBeDefined();
  });

  it('rebuilds from batch headers, skipping what it already holds', () => {
    const s = new PartitionProducerState('t-0');
    const h = (producerId: number, epoch: number, seq: number, offset: number, records = 1) => ({
      producerId,
      producerEpoch: epoch,
      baseSequence: seq,
      baseOffset: offset,
      lastOffsetDelta: records - 1,
      maxTimestamp: NOW,
      attributes: 0,
    });
    s.replay(h(-1, -1, -1, 0), NOW);
    s.replay(h(7, 0, 0, 1, 2), NOW);
    s.replay(h(7, 0, 2, 3), NOW);
    s.replay(h(7, 0, 2, 3), NOW);
    expect(s.producerCount).toBe(1);
    expect(s.entry(7)?.batches.map((b) => [b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffset])).toEqual([
      [0, 1, 1, 2],
      [2, 2, 3, 3],
    ]);
    expect(s.admit(batch(7, 0, 2), NOW, 4)).toMatchObject({ kind: 'duplicate', batch: { baseOffset: 3 } });
  });

  it('snapshots completed batches only, and reads its own snapshots back', () => {
    const s = new PartitionProducerState('t-0');
    write(s, batch(7, 2, 0, 3), { offset: 0 });
    reservationOf(s.admit(batch(7, 2, 3), NOW, 3));
    reservationOf(s.admit(batch(9, 0, 0), NOW, 3));
    const entries = s.snapshotEntries();
    expect(entries).toEqual([
      {
        producerId: 7,
        epoch: 2,
        lastTimestamp: NOW,
        batches: [{ firstSeq: 0, lastSeq: 2, baseOffset: 0, lastOffset: 2, timestamp: NOW }],
      },
    ]);
    const text = encodeSnapshot({ offset: 3, entries });
    expect(decodeSnapshot(text)).toEqual({ offset: 3, entries });
    const restored = new PartitionProducerState('t-0', entries);
    expect(restored.admit(batch(7, 2, 0, 3), NOW, 3)).toMatchObject({ kind: 'duplicate' });
  });

  it('refuses a damaged snapshot', () => {
    const text = encodeSnapshot({
      offset: 3,
      entries: [{ producerId: 7, epoch: 0, lastTimestamp: NOW, batches: [] }],
    });
    expect(decodeSnapshot(text.replace('3 1', '4 1'))).toBeNull();
    expect(decodeSnapshot(text.slice(0, -5))).toBeNull();
    expect(decodeSnapshot('')).toBeNull();
  });
});
