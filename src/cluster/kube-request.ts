/**
 * One JSON request to the Kubernetes API with the TLS and auth of a KubeConfig
 * (src/cluster/kubeconfig.ts, src/cluster/api-request.ts): the few writes --mount-policies makes (its
 * Lease, MountPolicy status) without loading the generated client's models. One deadline
 * covers the whole request, from before the credential lookup (an exec plugin may never
 * return) through the connection to the end of the answer (src/cluster/request-deadline.ts).
 */
import { apiRequest, readAnswer, type ApiRequestConfig } from './api-request.js';

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
 * `method` on `path` (below the cluster's server URL), sending `body` as JSON; resolves with the
 * parsed answer, or fails once `timeoutMs` have passed or `signal` aborts.
 */
export async function kubeRequest(config: KubeRequestConfig, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, timeoutMs = REQUEST_TIMEOUT_MS, signal?: AbortSignal): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (payload !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  const { status, text, label } = await apiRequest(config, { method, pathAndQuery: path, headers, payload, timeoutMs, signal }, async (answer, target) => ({
    status: answer.statusCode ?? 0,
    text: await readAnswer(answer, target, MAX_BODY_BYTES, signal),
    label: target.label,
  }));
  if (status < 200 || status > 299) throw new KubeStatusError(status, `${label}: HTTP ${status}: ${messageOf(text)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${label}: the answer is not JSON`);
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
