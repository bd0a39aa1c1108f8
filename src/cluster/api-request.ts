/**
 * One request to the API server over node:http(s) with a KubeConfig's TLS and auth, under one
 * RequestDeadline (src/cluster/request-deadline.ts) from before the credential lookup until the
 * caller's `read` is done. The list/watch loop and the few writes (Lease, MountPolicy status) both
 * go through here, so the deadline covers every step the same way for both.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { KubeConfig } from './kubeconfig.js';
import { isStaleConnection, keptAliveAgent } from './kept-alive.js';
import { RequestDeadline, type CredentialOptions } from './request-deadline.js';

export type ApiRequestConfig = Pick<KubeConfig, 'applyToHTTPSOptions' | 'getCurrentCluster'>;

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Below the cluster's server URL, which may carry a path prefix (behind a proxy). */
  readonly pathAndQuery: string;
  readonly headers: http.OutgoingHttpHeaders;
  readonly payload?: string | undefined;
  /** From before the credential lookup until `read` is done. */
  readonly timeoutMs: number;
  /** Ends the request early (the lookup is then left to finish on its own). */
  readonly signal?: AbortSignal | undefined;
}

/** What a `read` gets besides the answer: the URL and the label errors begin with ("GET /api/v1/..."). */
export interface RequestTarget {
  readonly url: URL;
  readonly label: string;
}

/** Sends `request` and hands its answer, whatever its status, to `read`; resolves with what `read` does. */
export async function apiRequest<R>(config: ApiRequestConfig, request: ApiRequest, read: (answer: IncomingMessage, target: RequestTarget) => Promise<R>): Promise<R> {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig names no current cluster');
  const url = new URL(`${cluster.server.replace(/\/+$/, '')}${request.pathAndQuery}`);
  const target = { url, label: `${request.method} ${url.pathname}` };
  const deadline = new RequestDeadline(target.label, url.host, request.timeoutMs);
  try {
    const options: CredentialOptions = { method: request.method, headers: { ...request.headers } };
    if (request.signal !== undefined) options.signal = request.signal;
    await deadline.credentials(config, options, request.signal);
    options.agent = keptAliveAgent(config, options.agent);
    const client = url.protocol === 'http:' ? http : https;
    const send = (): Promise<IncomingMessage> =>
      new Promise<IncomingMessage>((resolve, reject) => {
        // Once the answer has begun, the server has acted on the request: a reset then fails the answer being read, and sent
        // again, the request would only open another answer, which nobody would read (a watch left open, a page kept waiting).
        let answered = false;
        const req = client.request(url, options, (answer) => {
          answered = true;
          resolve(answer);
        });
        deadline.track(req);
        req.once('error', (error) => {
          if (request.method === 'GET' && !answered && req.reusedSocket && isStaleConnection(error) && !deadline.passed && request.signal?.aborted !== true) resolve(send());
          else reject(error);
        });
        req.end(request.payload);
      });
    return await read(await send(), target);
  } finally {
    deadline.clear();
  }
}

/**
 * The whole body of `answer` as text, or a rejection once it passes `maxBytes` (the answer is then
 * destroyed) or `signal` aborts (with the signal's reason).
 */
export function readAnswer(answer: IncomingMessage, target: RequestTarget, maxBytes: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onAbort = (): void => {
      answer.destroy(signal?.reason instanceof Error ? signal.reason : new Error(`${target.label}: stopped`));
    };
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    answer.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) answer.destroy(new Error(`${target.label}: answer larger than ${maxBytes} bytes`));
      else chunks.push(chunk);
    });
    answer.once('end', () => {
      done();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    answer.once('error', (error) => {
      done();
      reject(error);
    });
  });
}
