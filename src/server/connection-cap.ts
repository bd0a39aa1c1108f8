/**
 * A cap on the webhook port's connections that have completed TLS. Each one costs some 50 KiB, so
 * without a cap a client that opens a few thousand and keeps them alive takes a replica past its
 * memory limit, and every Pod CREATE then fails until it restarts.
 *
 * When one more completes TLS past the cap, one other connection makes room for it. First choice, a
 * connection that behaves as no real caller does: silent for SILENT_GRACE_MS since its handshake, or
 * still sending a request's body SLOW_BODY_GRACE_MS after its headers (the API server sends a review
 * at once). Else one kept alive whose latest answer went out at least IDLE_GRACE_MS ago (one answered
 * just now is the one its client reuses first). In each group the one longest without a request: only
 * one is closed, and the least recently used, because a client may be writing its next request on a
 * kept-alive connection as it is closed, and the API server's client does not send a POST again.
 * When none may make room, the new connection is closed. A request whose body is in, being decided,
 * always keeps its place. So a client holds a place only by sending a request at least every
 * IDLE_GRACE_MS, each body complete within SLOW_BODY_GRACE_MS, on every connection it holds: at the
 * default cap some thousand requests a second, which a client that can reach the port can afford.
 * The cap bounds memory; who can reach the port is for the chart's networkPolicy to bound.
 *
 * Connections still in their TLS handshake are not counted, so a flood of bare TCP connections keeps
 * no one out; the handshake timeout ends them. One that has begun a handshake holds some 50 KiB too:
 * what bounds those is the handshake timeout and who can reach the port (the chart's networkPolicy).
 *
 * Nothing of a request is kept once it is answered: the request and its body are Node's to let go.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import { CountedThrottle } from './throttle.js';

export const DEFAULT_MAX_CONNECTIONS = 1024;
/** A connection that has sent no request this long after its handshake may make room; a real client sends at once. */
export const SILENT_GRACE_MS = 1_000;
/** A request whose body is still coming this long after its headers may make room. */
export const SLOW_BODY_GRACE_MS = 1_000;
/** A connection kept alive may make room once its latest answer went out this long ago. */
export const IDLE_GRACE_MS = 1_000;
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
  /** Requests whose answers have not gone out yet (more than one when pipelined). */
  inFlight: number;
  /** The latest request, while one is in flight: whether its body is in. */
  pending: IncomingMessage | undefined;
  /** When the latest answer went out; undefined before the first. */
  answeredAt: number | undefined;
  /** Made once per connection and added to each answer, so a request costs no closure of its own. */
  readonly answered: () => void;
}

export function capConnections(server: Server, maxConnections: number, onRefused: () => void, report: (refusals: RefusalReport) => void, now: () => number = () => performance.now()): void {
  const open = new Map<Socket, Tracked>();
  const log = new RefusalLog(maxConnections, report, now);
  server.on('secureConnection', (socket: Socket) => {
    const tracked: Tracked = {
      since: now(),
      inFlight: 0,
      pending: undefined,
      answeredAt: undefined,
      answered: () => {
        tracked.inFlight--;
        tracked.answeredAt = now();
        if (tracked.inFlight === 0) tracked.pending = undefined;
      },
    };
    open.set(socket, tracked);
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
  const began = (request: IncomingMessage, answer: ServerResponse): void => {
    const tracked = open.get(request.socket);
    if (tracked === undefined) return;
    tracked.since = now();
    tracked.inFlight++;
    tracked.pending = request;
    // 'finish' comes once per answer, so on() is enough, and cheaper than once().
    answer.on('finish', tracked.answered);
  };
  server.on('request', began);
  // A request with "Expect: 100-continue" comes as checkContinue instead.
  server.on('checkContinue', began);
}

/** suspect and idle may make room, suspect first; kept may not. */
type Standing = 'suspect' | 'idle' | 'kept';

function standingOf(tracked: Tracked, time: number): Standing {
  if (tracked.inFlight > 0) {
    return tracked.pending !== undefined && !tracked.pending.complete && time - tracked.since >= SLOW_BODY_GRACE_MS ? 'suspect' : 'kept';
  }
  if (tracked.answeredAt === undefined) return time - tracked.since >= SILENT_GRACE_MS ? 'suspect' : 'kept';
  return time - tracked.answeredAt >= IDLE_GRACE_MS ? 'idle' : 'kept';
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
  readonly #throttle: CountedThrottle;

  constructor(
    private readonly maxConnections: number,
    private readonly report: (refusals: RefusalReport) => void,
    now: () => number,
  ) {
    this.#throttle = new CountedThrottle(REFUSAL_LOG_INTERVAL_MS, now);
  }

  refused(): void {
    const refused = this.#throttle.occurred();
    if (refused !== undefined) this.report({ refused, maxConnections: this.maxConnections });
  }
}
