/**
 * A cap on the request bodies being received at once. Each body may be up to
 * MAX_BODY_BYTES and is held in memory until it is complete and parsed, so
 * without a cap a few dozen clients that send 3 MiB and then stall hold a
 * hundred megabytes or more until the request timeout, and a few dozen more
 * exhaust the Pod's memory limit. With the cap, a body that does not fit is
 * answered 503 at once (Retry-After, Connection: close) before any of it is
 * read, so memory stays bounded.
 *
 * Two pools, so that large bodies cannot crowd out the API server's reviews
 * (a few KiB each): bodies up to SMALL_BODY_BYTES share one pool, larger ones
 * the other. A body is charged what its Content-Length says, or the full limit
 * when the length is unknown (chunked) or the body is compressed (it may
 * inflate to the limit). The charge is returned when the request or its
 * response closes, whichever comes first: the body read, the answer sent, or
 * the connection gone.
 *
 * A body that is still coming SLOW_BODY_GRACE_MS after its headers behaves as no real caller does (the API
 * server sends a review at once), and declaring 256 KiB and sending a byte now and then would otherwise hold
 * its place until the request timeout: 128 such connections, far below the connection cap, would keep every
 * review out. So when a body does not fit, such bodies of its pool are cut, longest first, if that makes
 * room; only otherwise is it refused.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { SLOW_BODY_GRACE_MS } from './connection-cap.js';
import { errorBody } from './error-body.js';
import { declaresEncoding } from './json-body.js';

export const SMALL_BODY_BYTES = 256 * 1024;
export const DEFAULT_POOL_BYTES = 32 * 1024 * 1024;

export interface BodyBudget {
  readonly listener: RequestListener;
  /** Bytes charged to bodies in flight now, small and large. */
  inFlightBytes(): { readonly small: number; readonly large: number };
}

export interface BodyBudgetLimits {
  /** Each pool's size. */
  readonly poolBytes: number;
  readonly maxBodyBytes: number;
}

interface Charged {
  readonly req: IncomingMessage;
  readonly bytes: number;
  /** When its headers came (monotonic ms). */
  readonly since: number;
  readonly giveBack: () => void;
}

export function withBodyBudget(
  listener: RequestListener,
  limits: BodyBudgetLimits,
  onRefused: (req: IncomingMessage, charge: number) => void,
  onCut: (req: IncomingMessage, charge: number) => void = () => undefined,
  now: () => number = () => performance.now(),
): BodyBudget {
  const charged = { small: 0, large: 0 };
  // In the order they came, so the first slow one found is the one longest in.
  const bodies = { small: new Set<Charged>(), large: new Set<Charged>() };
  /** Cuts slow bodies of `pool` until `charge` fits, if they are enough to make it fit; else cuts none. */
  const makeRoom = (pool: 'small' | 'large', charge: number): boolean => {
    const time = now();
    const cut: Charged[] = [];
    let freed = 0;
    for (const body of bodies[pool]) {
      if (charged[pool] - freed + charge <= limits.poolBytes) break;
      if (body.req.complete || time - body.since < SLOW_BODY_GRACE_MS) continue;
      cut.push(body);
      freed += body.bytes;
    }
    if (charged[pool] - freed + charge > limits.poolBytes) return false;
    for (const body of cut) {
      body.giveBack();
      onCut(body.req, body.bytes);
      body.req.socket.destroy();
    }
    return true;
  };
  const wrapped: RequestListener = (req, res) => {
    const charge = chargeFor(req, limits.maxBodyBytes);
    if (charge === 0) {
      listener(req, res);
      return;
    }
    const pool = charge <= SMALL_BODY_BYTES ? 'small' : 'large';
    if (charged[pool] + charge > limits.poolBytes && !makeRoom(pool, charge)) {
      onRefused(req, charge);
      refuse(res);
      return;
    }
    charged[pool] += charge;
    const body: Charged = {
      req,
      bytes: charge,
      since: now(),
      // Once only: a body leaves its set when its charge is given back.
      giveBack: () => {
        if (bodies[pool].delete(body)) charged[pool] -= charge;
      },
    };
    bodies[pool].add(body);
    // The request closes once its body is read or its connection drops; the response once it is answered.
    // Both: an answer queued behind pipelined ones never closes if the client leaves first, and a request
    // answered before its body is in (413) stays open while the rest of the body is read and dropped.
    req.once('close', body.giveBack);
    res.once('close', body.giveBack);
    listener(req, res);
  };
  return { listener: wrapped, inFlightBytes: () => ({ ...charged }) };
}

function chargeFor(req: IncomingMessage, maxBodyBytes: number): number {
  if (req.method === 'GET' || req.method === 'HEAD') return 0;
  // An encoded body may inflate to the limit, whatever it declares.
  if (declaresEncoding(req)) return maxBodyBytes;
  const declared = req.headers['content-length'];
  if (declared === undefined || !/^\d+$/.test(declared)) return maxBodyBytes;
  // A declared length over the limit is answered 413 at once (app.ts), before a byte of it is read.
  return Math.min(Number(declared), maxBodyBytes);
}

function refuse(res: ServerResponse): void {
  const body = JSON.stringify(errorBody(503, 'too many request bodies in flight; retry shortly'));
  res.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Retry-After': '1', Connection: 'close' });
  res.end(body);
}
