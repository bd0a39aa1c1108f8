/**
 * Response times kept exactly (not bucketed): autocannon's own histogram
 * counts whole milliseconds, too coarse for a 2 ms target on loopback.
 */
export interface LatencySummary {
  readonly count: number;
  /** Milliseconds. */
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export class LatencyRecorder {
  #values: Float64Array;
  #count = 0;
  #dropped = 0;

  /** Keeps at most `capacity` samples; beyond that they are counted as dropped, never grown. */
  constructor(readonly capacity = 4_000_000) {
    this.#values = new Float64Array(Math.min(capacity, 65_536));
  }

  record(milliseconds: number): void {
    if (this.#count === this.#values.length) {
      if (this.#values.length >= this.capacity) {
        this.#dropped++;
        return;
      }
      const bigger = new Float64Array(Math.min(this.capacity, this.#values.length * 2));
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#count++] = milliseconds;
  }

  get dropped(): number {
    return this.#dropped;
  }

  summary(): LatencySummary {
    const sorted = this.#values.slice(0, this.#count).sort();
    const at = (quantile: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] ?? 0;
    let sum = 0;
    for (const value of sorted) sum += value;
    return {
      count: sorted.length,
      mean: sorted.length === 0 ? 0 : sum / sorted.length,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: sorted[sorted.length - 1] ?? 0,
    };
  }
}
