/**
 * The input fault injector's randomness: a small seeded generator (mulberry32), so that every
 * hostile request can be rebuilt from its seed alone, and seeds derived per case from a run's seed
 * and the case's name, so one failing case replays without the thousands before it.
 */

export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[Math.floor(this.next() * items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  /** A signed 64-bit integer, uniformly over its bits. */
  int64(): bigint {
    const hi = BigInt(this.int(0, 0xffffffff));
    const lo = BigInt(this.int(0, 0xffffffff));
    return BigInt.asIntN(64, (hi << 32n) | lo);
  }
}

/** A 32-bit seed from a run's seed and a case's name (FNV-1a), stable across runs and platforms. */
export function caseSeed(runSeed: number, name: string): number {
  let h = (0x811c9dc5 ^ runSeed) >>> 0;
  for (const c of `${name}`) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The run's seed: TRIBUTARY_FUZZ_SEED when set (to replay a failure), else a fresh one. */
export function runSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env['TRIBUTARY_FUZZ_SEED'];
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new Error(`TRIBUTARY_FUZZ_SEED=${given} is not a 32-bit unsigned integer`);
    }
    return n;
  }
  return Math.floor(Math.random() * 0x100000000);
}
