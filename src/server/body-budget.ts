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
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { errorBody } from './error-body.js';

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

export function withBodyBudget(listener: RequestListener, limits: BodyBudgetLimits, onRefused: (req: IncomingMessage, charge: number) => void): BodyBudget {
  const charged = { small: 0, large: 0 };
  const wrapped: RequestListener = (req, res) => {
    const charge = chargeFor(req, limits.maxBodyBytes);
    if (charge === 0) {
      listener(req, res);
      return;
    }
    const pool = charge <= SMALL_BODY_BYTES ? 'small' : 'large';
    if (charged[pool] + charge > limits.poolBytes) {
      onRefused(req, charge);
      refuse(res);
      return;
    }
    charged[pool] += charge;
    let returned = false;
    const giveBack = (): void => {
      if (returned) return;
      returned = true;
      charged[pool] -= charge;
    };
    // The request closes once its body is read or its connection drops; the response once it is answered.
    // Both: an answer queued behind pipelined ones never closes if the client leaves first, and a request
    // answered before its body is in (413) stays open while the rest of the body is read and dropped.
    req.once('close', giveBack);
    res.once('close', giveBack);
    listener(req, res);
  };
  return { listener: wrapped, inFlightBytes: () => ({ ...charged }) };
}

function chargeFor(req: IncomingMessage, maxBodyBytes: number): number {
  if (req.method === 'GET' || req.method === 'HEAD') return 0;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return maxBodyBytes;
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
