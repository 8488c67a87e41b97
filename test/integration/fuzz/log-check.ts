/**
 * What a broker's output may not contain after being fuzzed: a line that is not one of its JSON log
 * lines (an uncaught exception's stack goes to stderr as plain text), an error or fatal entry (a
 * handler that threw logs "Request handler failed" at error), or a stack trace of anything but the
 * DecodeError a malformed request is rejected with (logged at warn: the client's fault, not ours).
 */

interface LogEntry {
  level?: number;
  msg?: string;
  api?: string;
  version?: number;
  err?: { type?: string; message?: string; stack?: string };
}

const WARN = 40;
const ERROR = 50;

/**
 * The offending lines of `output`, each with what is wrong with it. Lines are returned whole (they
 * carry their time), so problems found by scanning overlapping windows of the output can be merged
 * in a Map without counting one twice; `summarize` turns them into one line per distinct problem.
 */
export function logProblems(output: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of output.split('\n')) {
    const note = (problem: string): void => void found.set(line, problem);
    if (line.trim() === '') continue;
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      note(`not a log line: ${line.slice(0, 200)}`);
      continue;
    }
    const where = entry.api === undefined ? '' : ` [${entry.api} v${entry.version}]`;
    const what = `${entry.msg ?? '?'}${where}${entry.err ? ` (${entry.err.type}: ${entry.err.message?.slice(0, 200)})` : ''}`;
    if ((entry.level ?? 0) >= ERROR) note(`level ${entry.level}: ${what}`);
    else if (entry.err?.stack !== undefined && !(entry.err.type === 'DecodeError' && entry.level === WARN)) {
      note(`stack trace at level ${entry.level}: ${what}`);
    }
  }
  return found;
}

/** One line per distinct problem, with how often it occurred. */
export function summarize(problems: ReadonlyMap<string, string>): string[] {
  const counts = new Map<string, number>();
  for (const problem of problems.values()) counts.set(problem, (counts.get(problem) ?? 0) + 1);
  return [...counts].map(([problem, n]) => (n > 1 ? `${problem} ×${n}` : problem));
}
