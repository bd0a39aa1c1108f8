/** What the orchestrator asks the load generator to do, and what comes back (over IPC). */
import type { LatencySummary } from './latency.js';
import type { VegetaJob } from './vegeta.js';

export interface Target {
  /** https://127.0.0.1:PORT */
  readonly origin: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly ca: string;
}

export interface RequestSpec {
  readonly path: string;
  readonly body: string;
  /** Text every successful answer contains, e.g. '"allowed":true'. */
  readonly expect: string;
}

export type LoadJob =
  /** autocannon, keep-alive, as fast as the server answers; by duration or by total count. */
  | { readonly kind: 'closed'; readonly target: Target; readonly requests: readonly RequestSpec[]; readonly connections: number; readonly seconds?: number; readonly amount?: number }
  /** vegeta: a constant rate in open loop over a keep-alive pool, or a new TCP + TLS connection for every request (see vegeta-results.ts for what its latency covers). */
  | ({ readonly kind: 'vegeta' } & VegetaJob);

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly latency: LatencySummary;
  /** Connection errors and failed requests (autocannon's "errors" less its timeouts). */
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  /** 2xx answers without the expected text. */
  readonly mismatches: number;
  /** CPU of the load generator while it ran, in % of one core: near 100 means it, not the server, was the limit. */
  readonly clientCpuPercent: number;
  /**
   * vegeta only: every answered request of the attack, lead-in included, and the attack's span from the first
   * start to the last answer; the server's CPU over the attack is divided by these, not by the timed window's.
   */
  readonly wholeAttack?: { readonly requests: number; readonly seconds: number };
  /** vegeta only: latency from the moment each request was due (`latency` is from when it started). */
  readonly fromDue?: LatencySummary;
  /** vegeta only: how late requests started after they were due. */
  readonly startLag?: LatencySummary;
}

export type WorkerMessage = { readonly ok: true; readonly result: LoadResult } | { readonly ok: false; readonly error: string };
