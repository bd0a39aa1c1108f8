/**
 * A cap on the webhook port's connections that have completed TLS. Each one costs some 50 KiB, so
 * without a cap a client that opens a few thousand and keeps them alive takes a replica past its
 * memory limit, and every Pod CREATE then fails until it restarts.
 *
 * When one more completes TLS past the cap, one other connection makes room for it: the one longest
 * without a request of those that are between requests (kept alive after an answer) or that have
 * sent nothing for SILENT_GRACE_MS since their handshake. Only one is closed, and the one least
 * recently used, because a client may be writing its next request on a kept-alive connection as it
 * is closed, and the API server's client does not send a POST again: it reuses its most recently used
 * connection, so the oldest is the least likely to be in use. When no connection can make room, the
 * new one is closed. A request in progress always keeps its place (the request timeout ends it).
 * Connections still in their handshake are not counted: they cost little and the handshake timeout
 * ends them, while counting them would let a flood of bare TCP connections keep every caller out.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';

export const DEFAULT_MAX_CONNECTIONS = 1024;
/** A connection that has sent no request this long after its handshake may make room; a real client sends at once. */
export const SILENT_GRACE_MS = 1_000;
/** Refusals are logged at most once per this long, with how many there were. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface RefusalReport {
  /** Connections refused since the last report, this one included. */
  readonly refused: number;
  readonly maxConnections: number;
}

interface Tracked {
  /** When the handshake completed, then when the latest request began (monotonic ms). */
  since: number;
  /** The answer to the latest request; undefined before the first. */
  latest: ServerResponse | undefined;
}

export function capConnections(server: Server, maxConnections: number, onRefused: () => void, report: (refusals: RefusalReport) => void, now: () => number = () => performance.now()): void {
  const open = new Map<Socket, Tracked>();
  const log = new RefusalLog(maxConnections, report, now);
  server.on('secureConnection', (socket: Socket) => {
    open.set(socket, { since: now(), latest: undefined });
    socket.once('close', () => open.delete(socket));
    if (open.size <= maxConnections) return;
    const room = leastRecentlyUsed(open, socket, now());
    const closing = room ?? socket;
    open.delete(closing);
    closing.destroy();
    if (room !== undefined) return;
    onRefused();
    log.refused();
  });
  // One lookup per request: no listener is added, the answer's state is read only when room is needed.
  const began = (req: IncomingMessage, res: ServerResponse): void => {
    const tracked = open.get(req.socket);
    if (tracked === undefined) return;
    tracked.since = now();
    tracked.latest = res;
  };
  server.on('request', began);
  // A request with "Expect: 100-continue" comes as checkContinue instead.
  server.on('checkContinue', began);
}

/** The connection other than `arriving` that may make room and is longest without a request, if any. */
function leastRecentlyUsed(open: ReadonlyMap<Socket, Tracked>, arriving: Socket, time: number): Socket | undefined {
  let oldest: Socket | undefined;
  let oldestSince = Number.POSITIVE_INFINITY;
  for (const [socket, tracked] of open) {
    if (socket === arriving || tracked.since >= oldestSince) continue;
    // Answers go out in order, so once the latest is finished, no request on the connection is in progress.
    const betweenRequests = tracked.latest === undefined ? time - tracked.since >= SILENT_GRACE_MS : tracked.latest.writableFinished;
    if (!betweenRequests) continue;
    oldest = socket;
    oldestSince = tracked.since;
  }
  return oldest;
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
