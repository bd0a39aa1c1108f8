/**
 * A cap on the webhook port's connections that have completed TLS. Each one costs some 50 KiB, so
 * without a cap a client that opens a few thousand and keeps them alive takes a replica past its
 * memory limit, and every Pod CREATE then fails until it restarts.
 *
 * When one more completes TLS past the cap, one other connection makes room for it. First choice, a
 * connection that behaves as no real caller does: silent for SILENT_GRACE_MS since its handshake, or
 * still sending a request's body SLOW_BODY_GRACE_MS after its headers (the API server sends a review
 * at once). Else one kept alive after an answer at least IDLE_GRACE_MS ago (one answered just now is
 * likely to be used again at once). In each group the one longest without a request:
 * only one is closed, and the least recently used, because a client may be writing its next request
 * on a kept-alive connection as it is closed, and the API server's client does not send a POST again;
 * it reuses its most recently used connection first. When none may make room, the new connection is
 * closed. A request whose body is in, being decided, always keeps its place.
 *
 * Connections still in their TLS handshake are not counted, so a flood of bare TCP connections keeps
 * no one out; the handshake timeout ends them. One that has begun a handshake holds some 50 KiB too:
 * what bounds those is the handshake timeout and who can reach the port (the chart's networkPolicy).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';

export const DEFAULT_MAX_CONNECTIONS = 1024;
/** A connection that has sent no request this long after its handshake may make room; a real client sends at once. */
export const SILENT_GRACE_MS = 1_000;
/** A connection kept alive after an answer may make room once its latest request is this old. */
export const IDLE_GRACE_MS = 1_000;
/** A request whose body is still coming this long after its headers may make room. */
export const SLOW_BODY_GRACE_MS = 2_000;
/** Refusals are logged at most once per this long, with how many there were. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface RefusalReport {
  /** Connections refused since the last report, this one included. */
  readonly refused: number;
  readonly maxConnections: number;
}

interface Tracked {
  /** When the handshake completed, then when the latest request's headers came (monotonic ms). */
  since: number;
  /** The latest request and its answer; undefined before the first. */
  latest: { readonly request: IncomingMessage; readonly answer: ServerResponse } | undefined;
}

export function capConnections(server: Server, maxConnections: number, onRefused: () => void, report: (refusals: RefusalReport) => void, now: () => number = () => performance.now()): void {
  const open = new Map<Socket, Tracked>();
  const log = new RefusalLog(maxConnections, report, now);
  server.on('secureConnection', (socket: Socket) => {
    open.set(socket, { since: now(), latest: undefined });
    socket.once('close', () => open.delete(socket));
    if (open.size <= maxConnections) return;
    const room = roomMaker(open, socket, now());
    const closing = room ?? socket;
    open.delete(closing);
    closing.destroy();
    if (room !== undefined) return;
    onRefused();
    log.refused();
  });
  // One lookup per request: no listener is added, the request's state is read only when room is needed.
  const began = (request: IncomingMessage, answer: ServerResponse): void => {
    const tracked = open.get(request.socket);
    if (tracked === undefined) return;
    tracked.since = now();
    tracked.latest = { request, answer };
  };
  server.on('request', began);
  // A request with "Expect: 100-continue" comes as checkContinue instead.
  server.on('checkContinue', began);
}

/** suspect and idle may make room, suspect first; kept may not. */
type Standing = 'suspect' | 'idle' | 'kept';

/** Whether a connection may make room, and how readily (see the module comment). */
function standingOf(tracked: Tracked, time: number): Standing {
  const age = time - tracked.since;
  if (tracked.latest === undefined) return age >= SILENT_GRACE_MS ? 'suspect' : 'kept';
  // Answers go out in order, so once the latest is finished, no request on the connection is in progress.
  if (tracked.latest.answer.writableFinished) return age >= IDLE_GRACE_MS ? 'idle' : 'kept';
  return !tracked.latest.request.complete && age >= SLOW_BODY_GRACE_MS ? 'suspect' : 'kept';
}

/** The connection other than `arriving` to close to make room, if any: the longest without a request of the first group that has one. */
function roomMaker(open: ReadonlyMap<Socket, Tracked>, arriving: Socket, time: number): Socket | undefined {
  const oldest: Partial<Record<Standing, { socket: Socket; since: number }>> = {};
  for (const [socket, tracked] of open) {
    if (socket === arriving) continue;
    const standing = standingOf(tracked, time);
    const current = oldest[standing];
    if (current === undefined || tracked.since < current.since) oldest[standing] = { socket, since: tracked.since };
  }
  return (oldest.suspect ?? oldest.idle)?.socket;
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
