/**
 * An open-loop fixed rate: request i is due at start + i/rate and is timed
 * from that moment, so a slow answer that delays the next send is charged to
 * the server (no coordinated omission). autocannon's overallRate is not used
 * here: it lets each connection send its whole per-second quota back to back
 * and then idle, which measures bursts, not a steady 1,000 req/s.
 */
import { Agent } from 'node:https';
import { LatencyRecorder } from './latency.js';
import type { LoadResult, RequestSpec, Target } from './jobs.js';
import { OutcomeCounts, postOnce } from './one-request.js';

export interface PacedJob {
  readonly target: Target;
  readonly request: RequestSpec;
  readonly rate: number;
  readonly seconds: number;
  readonly maxSockets: number;
}

/** Unmeasured lead-in that opens the pool's connections. */
const LEAD_IN_SECONDS = 0.5;
const DRAIN_TIMEOUT_MS = 15_000;

export async function paced(job: PacedJob): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.maxSockets, ca: job.target.ca });
  try {
    const recorder = new LatencyRecorder();
    const counts = new OutcomeCounts();
    const leadIn = Math.round(job.rate * LEAD_IN_SECONDS);
    const total = leadIn + Math.round(job.rate * job.seconds);
    const intervalMs = 1000 / job.rate;
    const inFlight = new Set<Promise<void>>();

    const send = (index: number, dueAt: number): void => {
      const done = postOnce(job.target, job.request, agent).then((outcome) => {
        if (index < leadIn) return;
        counts.add(outcome);
        if (outcome === 'ok') recorder.record(performance.now() - dueAt);
      });
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    };

    const start = performance.now();
    let measuredFrom = start;
    let cpuBefore = process.cpuUsage();
    await new Promise<void>((resolve) => {
      let next = 0;
      const pump = (): void => {
        const now = performance.now();
        while (next < total && start + next * intervalMs <= now) {
          if (next === leadIn) {
            measuredFrom = start + next * intervalMs;
            cpuBefore = process.cpuUsage();
          }
          send(next, start + next * intervalMs);
          next++;
        }
        if (next >= total) {
          resolve();
          return;
        }
        // Spin (setImmediate) when the next send is close; the load generator has a core to itself.
        const wait = start + next * intervalMs - performance.now();
        if (wait > 2) setTimeout(pump, wait - 1);
        else setImmediate(pump);
      };
      pump();
    });
    const drained = Promise.all([...inFlight]);
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS).unref())]);
    const seconds = (performance.now() - measuredFrom) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const latency = recorder.summary();
    return {
      requests: counts.ok + counts.non2xx + counts.mismatch,
      seconds,
      requestsPerSecond: latency.count / seconds,
      latency,
      errors: counts.error,
      timeouts: counts.timeout + inFlight.size,
      non2xx: counts.non2xx,
      mismatches: counts.mismatch,
      clientCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    };
  } finally {
    agent.destroy();
  }
}
