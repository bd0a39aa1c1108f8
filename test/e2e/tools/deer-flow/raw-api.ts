/**
 * JSON requests to the API server as a kubeconfig's user, the answer kept as the API server wrote it: the
 * client library's models drop fields they do not know, which would hide a field one Pod has and the other lacks.
 */
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawAnswer {
  readonly status: number;
  /** The body parsed as JSON. */
  readonly body: unknown;
}

export async function rawJson(config: KubeConfig, method: 'GET' | 'POST', path: string, timeoutMs: number, body?: unknown): Promise<RawAnswer> {
  const server = config.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('the kubeconfig names no cluster');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const options: https.RequestOptions = {
    method,
    headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    timeout: timeoutMs,
  };
  await config.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = https.request(new URL(path, server), options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          reject(new Error(`${method} ${path}: HTTP ${response.statusCode ?? 0}, not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** The `message` of a Status the API server answered with, or the body as text when it is not one. */
export function statusMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return body.message;
  return JSON.stringify(body);
}
