/**
 * Every request on a new TCP connection with a full TLS handshake (the client
 * keeps no session cache, as the API server's Go client does not): the price of
 * a client that does not reuse connections.
 */
import { LatencyRecorder } from './latency.js';
import type { LoadResult, RequestSpec, Target } from './jobs.js';
import { OutcomeCounts, postOnce } from './one-request.js';

export interface ReconnectJob {
  readonly target: Target;
  readonly request: RequestSpec;
  readonly concurrency: number;
  readonly seconds: number;
}

/** A bound on requests per worker, in case the clock misbehaves. */
const MAX_REQUESTS_PER_WORKER = 1_000_000;

export async function reconnect(job: ReconnectJob): Promise<LoadResult> {
  const recorder = new LatencyRecorder();
  const counts = new OutcomeCounts();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + job.seconds * 1000;
  const worker = async (): Promise<void> => {
    for (let i = 0; i < MAX_REQUESTS_PER_WORKER && performance.now() < deadline; i++) {
      const sentAt = performance.now();
      const outcome = await postOnce(job.target, job.request, false);
      counts.add(outcome);
      if (outcome === 'ok') recorder.record(performance.now() - sentAt);
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return counts.result(recorder, seconds, process.cpuUsage(cpuBefore));
}
