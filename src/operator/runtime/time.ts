/**
 * The API's two timestamp formats. `Time` fields (conditions, creationTimestamp) hold whole seconds
 * and the server truncates anything finer, so writing fractions would make every comparison with a
 * read-back value differ; `MicroTime` fields (Lease renewTime, Event eventTime) hold microseconds.
 */

/** RFC 3339 in whole seconds, UTC: `2024-05-01T12:00:00Z`. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with six fractional digits, UTC: `2024-05-01T12:00:00.123000Z` (milliseconds are all we have). */
export function kubeMicroTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString().replace(/Z$/, '000Z');
}
