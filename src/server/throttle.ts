/** Reporting a repeated event at most once per interval, with how many there were. */

/**
 * The first event is reported at once, later ones at most once per `intervalMs`. `occurred()` answers how
 * many events to report now (this one included, and those held back since the last report), or undefined
 * while the interval since that report runs.
 */
export class CountedThrottle {
  #unreported = 0;
  #lastReportAt: number | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  occurred(): number | undefined {
    this.#unreported++;
    const time = this.now();
    if (this.#lastReportAt !== undefined && time - this.#lastReportAt < this.intervalMs) return undefined;
    const count = this.#unreported;
    this.#unreported = 0;
    this.#lastReportAt = time;
    return count;
  }
}
