/**
 * The same mountgate the API-server section calls, called directly: one
 * review at a time over one keep-alive connection, as the API server sends
 * them, read from mountgate's own histogram. Used twice: to warm mountgate up
 * before the timed creates (a webhook in a cluster has answered many reviews
 * before any one we look at), and right after them, so the section can say
 * how much of mountgate's time per call comes from the path through the API
 * server and how much from the state of the process.
 */
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import { sleep } from '../test/e2e/controlplane.js';
import { createReview } from './fixtures.js';
import { meanBetween, mountgateMetrics, readHistogram } from './apiserver-metrics.js';
import type { AnswerWrites } from './apiserver-write-times.js';

/** More reviews after the first timing, to see whether mountgate is still getting faster. */
export const MORE_REVIEWS = 5_000;
/** Between two Pod CREATEs of the section mountgate idles for several ms (the API server, etcd and the other sides' creates). */
export const PAUSE_MS = 10;
const REQUEST_TIMEOUT_MS = 10_000;

export interface DirectTiming {
  readonly reviews: number;
  /** mountgate_admission_duration_seconds{endpoint="mutate"}, mean ms per review. */
  readonly mountgateMs: number;
  /** Round trip as this client saw it, mean ms. */
  readonly roundTripMs: number;
  /** Mean ms inside res.end() per /mutate answer (the socket write the histogram includes). */
  readonly answerWriteMs: number;
}

export interface DirectCalls {
  readonly afterCreates: DirectTiming;
  readonly afterMore: DirectTiming;
  readonly moreReviews: number;
  /** Last, the same reviews with a pause before each, about as far apart as the API server's calls come. */
  readonly paused: DirectTiming;
  readonly pauseMs: number;
}

export interface Endpoint {
  readonly url: string;
  readonly ca: string;
  readonly metricsPort: number;
  /** Time spent in res.end() so far (apiserver-write-times.ts). */
  answerWrites(): Promise<AnswerWrites>;
}

/** One review for one of mountgate's paths (an answer from /mutate must carry a patch). */
export interface DirectReview {
  readonly path: '/mutate' | '/validate';
  readonly body: string;
}

/**
 * A review of `pod` as the API server sends it for a CREATE by `username` in `namespace`:
 * `pod` is best the object the API server itself made of the Pod (a dry-run create), defaults filled in.
 */
export function reviewOf(path: DirectReview['path'], pod: unknown, namespace: string, username: string): DirectReview {
  const review = createReview(pod);
  const request = review.request;
  if (typeof request !== 'object' || request === null) throw new Error('no request in the review');
  const name = typeof pod === 'object' && pod !== null && 'metadata' in pod && typeof pod.metadata === 'object' && pod.metadata !== null && 'name' in pod.metadata ? pod.metadata.name : undefined;
  const userInfo = { username, groups: ['system:masters', 'system:authenticated'] };
  return { path, body: JSON.stringify({ ...review, request: { ...request, uid: randomUUID(), name, namespace, userInfo } }) };
}

/** Sends one review; resolves once mountgate has admitted it (with a patch, for /mutate). */
function post(agent: https.Agent, endpoint: Endpoint, review: DirectReview): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${endpoint.url}${review.path}?timeout=10s`,
      { method: 'POST', agent, ca: endpoint.ca, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(review.body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          // Cheap checks on the text: parsing every answer would add the client's own time to the loop.
          const admitted = text.includes('"allowed":true') && (review.path !== '/mutate' || text.includes('"patch":'));
          if (res.statusCode === 200 && admitted) resolve();
          else reject(new Error(`mountgate did not admit the ${review.path} review (${res.statusCode}): ${text.slice(0, 300)}`));
        });
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('no answer in 10 s')));
    req.once('error', reject);
    req.end(review.body);
  });
}

async function withAgent<T>(run: (agent: https.Agent) => Promise<T>): Promise<T> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    return await run(agent);
  } finally {
    agent.destroy();
  }
}

/** `count` reviews one at a time, taking turns between `reviews`. */
export function warmUp(endpoint: Endpoint, reviews: readonly DirectReview[], count: number): Promise<void> {
  return withAgent(async (agent) => {
    for (let i = 0; i < count; i++) {
      const review = reviews[i % reviews.length];
      if (review !== undefined) await post(agent, endpoint, review);
    }
  });
}

async function timed(agent: https.Agent, endpoint: Endpoint, review: DirectReview, reviews: number, pauseMs = 0): Promise<DirectTiming> {
  const read = async () => readHistogram(await mountgateMetrics(endpoint.metricsPort), 'mountgate_admission_duration_seconds', { endpoint: 'mutate' });
  const before = await read();
  const writesBefore = await endpoint.answerWrites();
  let busyMs = 0;
  for (let i = 0; i < reviews; i++) {
    if (pauseMs > 0) await sleep(pauseMs);
    const started = performance.now();
    await post(agent, endpoint, review);
    busyMs += performance.now() - started;
  }
  const roundTripMs = busyMs / reviews;
  const writesAfter = await endpoint.answerWrites();
  return { reviews, mountgateMs: meanBetween(before, await read()) * 1000, roundTripMs, answerWriteMs: meanBetween(writesBefore.mutate, writesAfter.mutate) * 1000 };
}

/** `review` is a /mutate review of the section's namespace without a MountPolicy. */
export function directCalls(endpoint: Endpoint, review: DirectReview, reviews: number): Promise<DirectCalls> {
  return withAgent(async (agent) => {
    const afterCreates = await timed(agent, endpoint, review, reviews);
    for (let i = 0; i < MORE_REVIEWS; i++) await post(agent, endpoint, review);
    const afterMore = await timed(agent, endpoint, review, reviews);
    const paused = await timed(agent, endpoint, review, reviews, PAUSE_MS);
    return { afterCreates, afterMore, moreReviews: MORE_REVIEWS, paused, pauseMs: PAUSE_MS };
  });
}
