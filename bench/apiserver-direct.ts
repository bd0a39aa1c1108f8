/**
 * The same mountgate the API-server section called, now called directly: one
 * review at a time over one keep-alive connection, as the API server sends
 * them, read from mountgate's own histogram. Right after the Pod creates (the
 * process as the API server left it) and again after WARM_REVIEWS more reviews,
 * so the section can say how much of mountgate's time per call comes from the
 * path through the API server and how much from the state of the process
 * (code V8 has not optimised yet, the machine busy with etcd and the API server).
 */
import https from 'node:https';
import { createReview } from './fixtures.js';
import { meanBetween, mountgateMetrics, readHistogram } from './apiserver-metrics.js';

/** About as many as V8 needs to optimise the hot path (bench/instructions.ts warms up with 10,000). */
export const WARM_REVIEWS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface DirectTiming {
  readonly reviews: number;
  /** mountgate_admission_duration_seconds{endpoint="mutate"}, mean ms per review. */
  readonly mountgateMs: number;
  /** Round trip as this client saw it, mean ms. */
  readonly roundTripMs: number;
}

export interface DirectCalls {
  readonly afterCreates: DirectTiming;
  readonly afterWarmUp: DirectTiming;
  readonly warmReviews: number;
}

interface Endpoint {
  readonly url: string;
  readonly ca: string;
  readonly metricsPort: number;
}

function post(agent: https.Agent, endpoint: Endpoint, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${endpoint.url}/mutate?timeout=10s`,
      { method: 'POST', agent, ca: endpoint.ca, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`mountgate answered ${res.statusCode}`))));
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('no answer in 10 s')));
    req.once('error', reject);
    req.end(body);
  });
}

async function timed(agent: https.Agent, endpoint: Endpoint, body: string, reviews: number): Promise<DirectTiming> {
  const read = async () => readHistogram(await mountgateMetrics(endpoint.metricsPort), 'mountgate_admission_duration_seconds', { endpoint: 'mutate' });
  const before = await read();
  const started = performance.now();
  for (let i = 0; i < reviews; i++) await post(agent, endpoint, body);
  const roundTripMs = (performance.now() - started) / reviews;
  return { reviews, mountgateMs: meanBetween(before, await read()) * 1000, roundTripMs };
}

/** `pod` is the Pod the section creates, `namespace` the one mountgate's webhooks select. */
export async function directCalls(endpoint: Endpoint, pod: unknown, namespace: string, reviews: number): Promise<DirectCalls> {
  const review = createReview(pod);
  const request = review.request;
  if (typeof request !== 'object' || request === null) throw new Error('no request in the review');
  const body = JSON.stringify({ ...review, request: { ...request, namespace } });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const afterCreates = await timed(agent, endpoint, body, reviews);
    for (let i = 0; i < WARM_REVIEWS; i++) await post(agent, endpoint, body);
    const afterWarmUp = await timed(agent, endpoint, body, reviews);
    return { afterCreates, afterWarmUp, warmReviews: WARM_REVIEWS };
  } finally {
    agent.destroy();
  }
}
