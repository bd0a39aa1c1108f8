/**
 * The wait an API server asks for with `Retry-After` (on a 429 from API Priority and Fairness, a 503 while it
 * shuts down), read the one way for the list/watch loop (src/cluster/list-watch.ts) and for the single
 * requests (src/cluster/kube-request.ts), and the timer that waits it.
 */

/** A Retry-After in delta-seconds (RFC 9110: digits only), else undefined: an HTTP-date, a sign, a fraction or anything else. */
export function retryAfterSecondsOf(header: string | undefined): number | undefined {
  const text = header?.trim();
  // Very many digits parse to Infinity, which each caller's bound then refuses or caps.
  return text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : undefined;
}

/** How a caller waits `ms`; done early, without a failure, once `signal` aborts (the caller then sees to the abort). */
export type Wait = (ms: number, signal: AbortSignal | undefined) => Promise<void>;

/** A timer; resolves at once when `signal` has aborted or aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
