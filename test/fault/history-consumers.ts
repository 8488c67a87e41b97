/**
 * The history checker's judgement of consumer groups (history.ts records, this judges): committed
 * offsets never go back; a member reads each partition forward within a generation, and starts a
 * newly assigned partition no lower than the group had committed for it before the assignment; no two
 * members own one partition in one generation. Events are taken in time order: by `at`, then in the
 * order they were recorded (a recorder that learns a join's generation late records the assignment
 * with the time of the join, and its later events at least a millisecond after it).
 */
import { clock, type CommitEvent, type Problem, type ReadEvent, type Recorded } from './history-types.ts';

export interface ConsumerJudgement {
  problems: Problem[];
  /** Records handed to members. */
  consumed: number;
  /** Records a group had been handed before. */
  reconsumed: number;
}

interface Timed {
  at: number;
  n: number;
}
const inTime = (a: Timed, b: Timed) => a.at - b.at || a.n - b.n;

function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

export function consumerProblems(r: Recorded): ConsumerJudgement {
  const consumed = r.reads.filter((e) => e.consumer !== undefined).sort(inTime);
  const seen = new Set<string>();
  let reconsumed = 0;
  for (const e of consumed) {
    const k = `${e.consumer!.group}/${e.partition}@${e.offset}`;
    if (seen.has(k)) reconsumed++;
    seen.add(k);
  }
  const commits = groupBy([...r.commits].sort(inTime), (c) => `${c.group}/${c.partition}`);
  return {
    problems: [
      ...commitRegressions(commits),
      ...backwards(consumed),
      ...unhonouredCommits(r, consumed, commits),
      ...splitOwnership(r),
    ],
    consumed: consumed.length,
    reconsumed,
  };
}

/** A group's committed offset of a partition never goes below one it committed before. */
function commitRegressions(commits: Map<string, CommitEvent[]>): Problem[] {
  const problems: Problem[] = [];
  for (const list of commits.values()) {
    let highest: CommitEvent | undefined;
    for (const c of list) {
      if (highest && c.offset < highest.offset) {
        problems.push({
          kind: 'commit-regression',
          detail: `group ${c.group} partition ${c.partition}: committed ${c.offset} (${clock(c.at)}) after ${highest.offset} (${clock(highest.at)})`,
        });
      }
      if (!highest || c.offset >= highest.offset) highest = c;
    }
  }
  return problems;
}

/** Within one member's generation, each partition's consumed offsets go up. */
function backwards(consumed: ReadEvent[]): Problem[] {
  const problems: Problem[] = [];
  const streams = groupBy(consumed, (e) => {
    const c = e.consumer!;
    return `group ${c.group} member ${c.member} generation ${c.generation} partition ${e.partition}`;
  });
  for (const [stream, list] of streams) {
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!, list[i]!];
      if (b.offset <= a.offset) {
        problems.push({
          kind: 'consumer-backwards',
          detail: `${stream}: ${b.id} at ${b.offset} (${clock(b.at)}) after ${a.id} at ${a.offset} (${clock(a.at)})`,
        });
      }
    }
  }
  return problems;
}

/** The highest offset in `list` (in time order) committed before `moment` (in time order too). */
function committedBefore(list: CommitEvent[] | undefined, moment: Timed): CommitEvent | undefined {
  let best: CommitEvent | undefined;
  for (const c of list ?? []) {
    if (inTime(c, moment) > 0) break;
    if (!best || c.offset > best.offset) best = c;
  }
  return best;
}

/**
 * After each assignment (until the member's next one), the member's first record of each assigned
 * partition is no lower than the highest offset its group had committed for it by then.
 */
function unhonouredCommits(
  r: Recorded,
  consumed: ReadEvent[],
  commits: Map<string, CommitEvent[]>,
): Problem[] {
  const problems: Problem[] = [];
  const byMember = groupBy(consumed, (e) => `${e.consumer!.group}/${e.consumer!.member}`);
  const assignments = groupBy([...r.assignments].sort(inTime), (a) => `${a.group}/${a.member}`);
  for (const [member, list] of assignments) {
    const reads = byMember.get(member) ?? [];
    let i = 0;
    for (let k = 0; k < list.length; k++) {
      const a = list[k]!;
      const next = list[k + 1];
      while (i < reads.length && inTime(reads[i]!, a) < 0) i++;
      const firsts = new Map<number, ReadEvent>();
      for (; i < reads.length && (!next || inTime(reads[i]!, next) < 0); i++) {
        if (!firsts.has(reads[i]!.partition)) firsts.set(reads[i]!.partition, reads[i]!);
      }
      for (const p of a.partitions) {
        const read = firsts.get(p);
        const committed = read && committedBefore(commits.get(`${a.group}/${p}`), a);
        if (read && committed && read.offset < committed.offset) {
          problems.push({
            kind: 'consumer-backwards',
            detail: `group ${a.group} member ${a.member}: first read ${p}@${read.offset} (${read.id}, ${clock(read.at)}) after its assignment (${clock(a.at)}), below offset ${committed.offset} committed (${clock(committed.at)})`,
          });
        }
      }
    }
  }
  return problems;
}

/** No two members of a group are assigned, or commit, one partition in one generation. */
function splitOwnership(r: Recorded): Problem[] {
  const owners = new Map<string, Map<string, string>>();
  const own = (group: string, generation: number, partition: number, member: string, how: string) => {
    const k = `group ${group} generation ${generation} partition ${partition}`;
    let members = owners.get(k);
    if (!members) owners.set(k, (members = new Map()));
    if (!members.has(member)) members.set(member, how);
  };
  for (const a of r.assignments) {
    if (a.generation === undefined) continue;
    for (const p of a.partitions) own(a.group, a.generation, p, a.member, `assigned ${clock(a.at)}`);
  }
  for (const c of r.commits) {
    if (c.member === undefined || c.generation === undefined) continue;
    own(c.group, c.generation, c.partition, c.member, `committed ${c.offset} ${clock(c.at)}`);
  }
  const problems: Problem[] = [];
  for (const [k, members] of owners) {
    if (members.size < 2) continue;
    const who = [...members].map(([m, how]) => `${m} (${how})`).join(', ');
    problems.push({ kind: 'split-ownership', detail: `${k}: owned by ${who}` });
  }
  return problems;
}
