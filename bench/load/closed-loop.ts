/** autocannon in closed loop: each connection sends its next request when the last one is answered. */
import autocannon, { type AutocannonResult } from 'autocannon';
import { LatencyRecorder } from './latency.js';
import type { LoadResult, RequestSpec, Target } from './jobs.js';

export interface ClosedLoopJob {
  readonly target: Target;
  readonly requests: readonly RequestSpec[];
  readonly connections: number;
  readonly seconds?: number;
  readonly amount?: number;
}

const REQUEST_TIMEOUT_SECONDS = 10;

export async function closedLoop(job: ClosedLoopJob): Promise<LoadResult> {
  const recorder = new LatencyRecorder();
  const expected = job.requests.map((request) => request.expect);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.target.origin,
        connections: job.connections,
        pipelining: 1,
        timeout: REQUEST_TIMEOUT_SECONDS,
        tlsOptions: { ca: job.target.ca },
        requests: job.requests.map((request) => ({
          method: 'POST',
          path: request.path,
          headers: { 'content-type': 'application/json' },
          body: request.body,
        })),
        // autocannon does not say which request an answer belongs to; any expected text will do.
        verifyBody: (body) => expected.some((text) => body.includes(text)),
        ...(job.amount === undefined ? { duration: job.seconds ?? 10 } : { amount: job.amount }),
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, milliseconds: number) => recorder.record(milliseconds));
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const latency = recorder.summary();
  return {
    requests: latency.count,
    seconds,
    requestsPerSecond: latency.count / seconds,
    latency,
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    clientCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
  };
}
