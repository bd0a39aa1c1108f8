/**
 * A dry-run Pod CREATE with the body sent exactly as given: the generated
 * client would pass the corpus Pods through its model classes first, dropping
 * the unknown and hostile keys the corpus is about.
 */
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export type CreateAnswer =
  | { readonly admitted: true; readonly pod: unknown }
  | { readonly admitted: false; readonly status: number; readonly message: string };

const TIMEOUT_MS = 30_000;

export async function dryRunCreate(admin: KubeConfig, namespace: string, body: string): Promise<CreateAnswer> {
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error('the admin kubeconfig has no cluster');
  const url = new URL(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?dryRun=All`, cluster.server);
  const options: https.RequestOptions = {
    host: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    timeout: TIMEOUT_MS,
  };
  await admin.applyToHTTPSOptions(options);
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = https.request(options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`POST ${url.pathname} timed out`)));
    request.on('error', reject);
    request.end(body);
  });
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  if (status === 201 || status === 200) return { admitted: true, pod: parsed };
  const message = typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string' ? parsed.message : text.slice(0, 500);
  return { admitted: false, status, message };
}
