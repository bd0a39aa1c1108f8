/**
 * One JSON request to the Kubernetes API with the TLS and auth of a KubeConfig
 * (src/cluster/kubeconfig.ts, src/cluster/api-request.ts): the few writes --mount-policies makes (its
 * Lease, MountPolicy status) without loading the generated client's models. One deadline
 * covers the whole request, from before the credential lookup (an exec plugin may never
 * return) through the connection to the end of the answer (src/cluster/request-deadline.ts).
 *
 * An answer 429 Too Many Requests (API Priority and Fairness) or 503 Service Unavailable (an API server
 * shutting down) that carries a `Retry-After` in seconds is waited for and the same request sent again, at
 * most MAX_RESENDS times, as client-go's rest client does: the server has not acted on it. The waits and the
 * requests sent again stay within the one deadline; a wait that would end past it fails the request at once
 * with the answer's error, as does a 429 or 503 without a Retry-After in seconds (an HTTP-date, say).
 */
import { apiRequest, readAnswer, type ApiRequestConfig } from './api-request.js';
import { retryAfterSecondsOf, sleep, type Wait } from './retry-after.js';

export type KubeRequestConfig = ApiRequestConfig;

/** An answer other than 2xx; `code` is its HTTP status (409 Conflict, 404 Not Found, ...). */
export class KubeStatusError extends Error {
  override name = 'KubeStatusError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request not done within this is a failure; the callers retry. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A Lease or one MountPolicy is a few KiB; anything near this is not one. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/**
 * How often one request is sent again after a 429 or 503 with a Retry-After. client-go allows 10, but its callers'
 * requests have no deadline of their own; here the callers retry on their own schedule (the Lease every 2 s), and a
 * server still refusing after this many waits is better reported than waited for until the deadline.
 */
export const MAX_RESENDS = 3;

/**
 * `method` on `path` (below the cluster's server URL), sending `body` as JSON; resolves with the
 * parsed answer, or fails once `timeoutMs` have passed or `signal` aborts. `wait` waits a Retry-After
 * (a timer unless replaced: the tests record the waits).
 */
export async function kubeRequest(
  config: KubeRequestConfig,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  timeoutMs = REQUEST_TIMEOUT_MS,
  signal?: AbortSignal,
  wait: Wait = sleep,
): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (payload !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  const startedAt = performance.now();
  for (let resends = 0; ; resends++) {
    // The first request has the whole deadline (its errors name it as given); one sent again has what is left of it.
    const leftMs = resends === 0 ? timeoutMs : Math.max(1, Math.round(timeoutMs - (performance.now() - startedAt)));
    const { status, text, label, retryAfter } = await apiRequest(config, { method, pathAndQuery: path, headers, payload, timeoutMs: leftMs, signal }, async (answer, target) => ({
      status: answer.statusCode ?? 0,
      text: await readAnswer(answer, target, MAX_BODY_BYTES, signal),
      label: target.label,
      retryAfter: answer.headers['retry-after'],
    })).catch((error: unknown) => {
      // A failure of a request sent again names its own, shorter deadline: say where that came from.
      if (resends === 0 || signal?.aborted === true || !(error instanceof Error)) throw error;
      throw new Error(`${error.message} (sent again after ${resends === 1 ? 'a Retry-After' : `${resends} Retry-Afters`}, in the rest of the request's ${timeoutMs / 1000} s)`, { cause: error });
    });
    if (status >= 200 && status <= 299) {
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`${label}: the answer is not JSON`);
      }
    }
    const error = new KubeStatusError(status, `${label}: HTTP ${status}: ${messageOf(text)}`);
    const seconds = status === 429 || status === 503 ? retryAfterSecondsOf(retryAfter) : undefined;
    if (seconds === undefined || resends >= MAX_RESENDS || performance.now() - startedAt + seconds * 1000 >= timeoutMs) throw error;
    await wait(seconds * 1000, signal);
    if (signal?.aborted === true) throw signal.reason instanceof Error ? signal.reason : new Error(`${label}: stopped`);
  }
}

/** The HTTP status of a failed request, if it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  return error instanceof KubeStatusError ? error.code : undefined;
}

/** The message of a Kubernetes Status answer, else the start of the body. */
function messageOf(text: string): string {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && 'message' in value && typeof value.message === 'string') return value.message;
  } catch {
    // Not a Status; the raw text says what there is.
  }
  return text.slice(0, 300);
}
