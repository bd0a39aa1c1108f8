/**
 * A cap on the webhook port's open connections. Each one costs some 50 KiB once TLS is up, so
 * without a cap a client that opens a few thousand and keeps them alive takes a replica past its
 * memory limit, and every Pod CREATE then fails until it restarts.
 *
 * Past the cap a new connection is closed as it arrives (Node's maxConnections), and every
 * connection kept alive between requests is closed with it, so a client that merely holds
 * connections open cannot keep the API server out for longer than one refused connection. What
 * still holds a place: a request in progress (bounded by the request timeout) and a connection
 * that has not sent its first request yet (bounded by the handshake and idle timeouts).
 */
import type { Server } from 'node:https';

export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Refusals are logged at most once per this long, with how many there were. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface RefusalReport {
  /** Connections refused since the last report, this one included. */
  readonly refused: number;
  readonly maxConnections: number;
}

export function capConnections(
  server: Server,
  maxConnections: number,
  onRefused: () => void,
  report: (refusals: RefusalReport) => void,
  now: () => number = () => performance.now(),
): void {
  server.maxConnections = maxConnections;
  let unreported = 0;
  let lastReportAt: number | undefined;
  server.on('drop', () => {
    server.closeIdleConnections();
    onRefused();
    unreported++;
    const time = now();
    if (lastReportAt !== undefined && time - lastReportAt < REFUSAL_LOG_INTERVAL_MS) return;
    report({ refused: unreported, maxConnections });
    unreported = 0;
    lastReportAt = time;
  });
}
