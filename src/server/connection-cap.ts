/**
 * A cap on the webhook port's connections that have completed TLS. Each one costs some 50 KiB, so
 * without a cap a client that opens a few thousand and keeps them alive takes a replica past its
 * memory limit, and every Pod CREATE then fails until it restarts.
 *
 * When one more completes TLS past the cap, the connections kept alive between requests are closed
 * to make room, so a client that merely holds connections open cannot keep the API server out. Only
 * if that frees nothing is the new connection closed. Connections still in their TLS handshake are
 * not counted: they cost little, and the handshake timeout ends them; counting them would let a
 * flood of bare TCP connections keep every caller out.
 */
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';

export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Refusals are logged at most once per this long, with how many there were. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface RefusalReport {
  /** Connections refused since the last report, this one included. */
  readonly refused: number;
  readonly maxConnections: number;
}

export function capConnections(server: Server, maxConnections: number, onRefused: () => void, report: (refusals: RefusalReport) => void, now: () => number = () => performance.now()): void {
  const open = new Set<TLSSocket>();
  const log = new RefusalLog(maxConnections, report, now);
  server.on('secureConnection', (socket: TLSSocket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    if (open.size <= maxConnections) return;
    // Node closes (destroys) exactly the connections that are between requests; destroy() marks them at once.
    server.closeIdleConnections();
    for (const other of open) if (other.destroyed) open.delete(other);
    if (open.size <= maxConnections) return;
    open.delete(socket);
    socket.destroy();
    onRefused();
    log.refused();
  });
}

/** The first refusal is reported at once, later ones at most once per REFUSAL_LOG_INTERVAL_MS, counted. */
export class RefusalLog {
  #unreported = 0;
  #lastReportAt: number | undefined;

  constructor(
    private readonly maxConnections: number,
    private readonly report: (refusals: RefusalReport) => void,
    private readonly now: () => number,
  ) {}

  refused(): void {
    this.#unreported++;
    const time = this.now();
    if (this.#lastReportAt !== undefined && time - this.#lastReportAt < REFUSAL_LOG_INTERVAL_MS) return;
    this.report({ refused: this.#unreported, maxConnections: this.maxConnections });
    this.#unreported = 0;
    this.#lastReportAt = time;
  }
}
