/**
 * Where the time of a Pod CREATE with webhooks goes, from two sides: the API
 * server's own histogram of each webhook call (request, network, response
 * handling) and mountgate's histogram of its work per review. Both are read
 * as sum and count before and after the measured creates.
 */
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface Histogram {
  readonly sum: number;
  readonly count: number;
}

/** `name_sum` and `name_count` of the series whose labels include all of `labels`, added up. */
export function readHistogram(text: string, name: string, labels: Readonly<Record<string, string>>): Histogram {
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null || (match[1] !== `${name}_sum` && match[1] !== `${name}_count`)) continue;
    const found = new Map<string, string>();
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1] !== undefined && pair[2] !== undefined) found.set(pair[1], pair[2]);
    }
    if (!Object.entries(labels).every(([key, value]) => found.get(key) === value)) continue;
    if (match[1].endsWith('_sum')) sum += Number(match[3]);
    else count += Number(match[3]);
  }
  return { sum, count };
}

/** Mean seconds per observation between two readings; NaN when nothing was observed. */
export function meanBetween(before: Histogram, after: Histogram): number {
  const count = after.count - before.count;
  return count > 0 ? (after.sum - before.sum) / count : Number.NaN;
}

export async function apiserverMetrics(admin: KubeConfig): Promise<string> {
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error('the admin kubeconfig has no cluster');
  const url = new URL('/metrics', cluster.server);
  const options: https.RequestOptions = { host: url.hostname, port: url.port, path: url.pathname, method: 'GET', timeout: 10_000 };
  await admin.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = https.request(options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`GET /metrics answered ${response.statusCode}`));
        else resolve(Buffer.concat(chunks).toString('utf8'));
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('GET /metrics timed out')));
    request.on('error', reject);
    request.end();
  });
}

export async function mountgateMetrics(metricsPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}

/** Reviews mountgate has timed for an endpoint so far (the count of its duration histogram). */
export async function reviewsAnswered(metricsPort: number, endpoint: string): Promise<number> {
  return readHistogram(await mountgateMetrics(metricsPort), 'mountgate_admission_duration_seconds', { endpoint }).count;
}

export interface DecisionTimes {
  readonly mutate: Histogram;
  readonly validate: Histogram;
}

/**
 * mountgate's own time per review, from its decision log lines (`durationMs`, the same
 * measurement its histogram observes, rounded to the microsecond), for the Pods named: the
 * histogram has no namespace label, the log line does.
 */
export async function decisionTimes(logFile: string, pods: ReadonlySet<string>): Promise<DecisionTimes> {
  const totals = { mutate: { sum: 0, count: 0 }, validate: { sum: 0, count: 0 } };
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line.includes('"admission decision"')) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry !== 'object' || entry === null || !('pod' in entry) || !('endpoint' in entry) || !('durationMs' in entry)) continue;
    const { pod, endpoint, durationMs } = entry;
    if (typeof pod !== 'string' || !pods.has(pod) || typeof durationMs !== 'number' || ('dryRun' in entry && entry.dryRun === true)) continue;
    if (endpoint !== 'mutate' && endpoint !== 'validate') continue;
    totals[endpoint].sum += durationMs / 1000;
    totals[endpoint].count += 1;
  }
  return totals;
}
