/**
 * One JSON request to the Kubernetes API over node:https, with the TLS and auth of a
 * KubeConfig (src/cluster/kubeconfig.ts): the few writes --mount-policies makes (its
 * Lease, MountPolicy status) without loading the generated client's models. One deadline
 * covers the whole request, from before the credential lookup (an exec plugin may never
 * return) through the connection to the end of the answer (src/cluster/request-deadline.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from './kubeconfig.js';
import { RequestDeadline, type CredentialOptions } from './request-deadline.js';

export type KubeRequestConfig = Pick<KubeConfig, 'applyToHTTPSOptions' | 'getCurrentCluster'>;

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
 * parsed answer, or fails once `timeoutMs` have passed.
 */
export async function kubeRequest(config: KubeRequestConfig, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig names no current cluster');
  const url = new URL(`${cluster.server.replace(/\/+$/, '')}${path}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (payload !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  const options: CredentialOptions = { method, headers };
  const deadline = new RequestDeadline(`${method} ${url.pathname}`, url.host, timeoutMs);
  let answer: { status: number; text: string };
  try {
    await deadline.credentials(config, options);
    answer = await send(url, options, payload, deadline);
  } finally {
    deadline.clear();
  }
  const { status, text } = answer;
  if (status < 200 || status > 299) throw new KubeStatusError(status, `${method} ${url.pathname}: HTTP ${status}: ${messageOf(text)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${method} ${url.pathname}: the answer is not JSON`);
  }
}

/** The HTTP status of a failed request, if it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  return error instanceof KubeStatusError ? error.code : undefined;
}

function send(url: URL, options: https.RequestOptions, payload: string | undefined, deadline: RequestDeadline): Promise<{ status: number; text: string }> {
  const client = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = client.request(url, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) response.destroy(new Error(`${options.method ?? 'GET'} ${url.pathname}: answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.once('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.once('error', reject);
    });
    deadline.track(req);
    req.once('error', reject);
    req.end(payload);
  });
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
