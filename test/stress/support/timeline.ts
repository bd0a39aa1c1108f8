/**
 * Which version of something (a policy, a certificate) may have served a
 * request, from the switch times the server logged. Times are Date.now()
 * milliseconds on one machine. The server swaps the version and logs in one
 * synchronous step, so a switch logged at T happened in [T, T+1); a request
 * sent at s and answered at r was served in [s, r+1). The request may have
 * seen version i exactly when those intervals can overlap: r >= T_i and
 * s <= T_{i+1}. Outside the moment of a switch that leaves one version.
 */

export interface Versions<V> {
  readonly initial: V;
  /** Switches in the order they happened. */
  readonly switches: ReadonlyArray<{ readonly at: number; readonly to: V }>;
}

export function possibleVersions<V>(versions: Versions<V>, sent: number, received: number): V[] {
  const starts = [Number.NEGATIVE_INFINITY, ...versions.switches.map((change) => change.at)];
  const values = [versions.initial, ...versions.switches.map((change) => change.to)];
  const possible: V[] = [];
  for (let i = 0; i < values.length; i++) {
    const from = starts[i] ?? Number.NEGATIVE_INFINITY;
    const until = starts[i + 1] ?? Number.POSITIVE_INFINITY;
    const value = values[i];
    if (value !== undefined && received >= from && sent <= until) possible.push(value);
  }
  return possible;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Percentiles by nearest rank: the least value that `q` of the latencies are at or below (of 20, p95 is
 * the 19th, so one slow probe in 20 is the max, not the p95; of fewer than 20 the p95 is the max).
 */
export function summarize(latencies: readonly number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}
