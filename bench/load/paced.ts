/**
 * An open-loop fixed rate: request i is due at start + i/rate and is timed
 * from that moment, so a slow answer that delays the next send is charged to
 * the server (no coordinated omission). autocannon's overallRate is not used
 * here: it lets each connection send its whole per-second quota back to back
 * and then idle, which measures bursts, not a steady 1,000 req/s. Requests go
 * out as prepared bytes on raw keep-alive TLS connections (raw-connection.ts).
 */
import { LatencyRecorder } from './latency.js';
import type { LoadResult, RequestSpec, Target } from './jobs.js';
import { OutcomeCounts, type Outcome } from './one-request.js';
import { RawConnection, requestBytes } from './raw-connection.js';

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

/** Keep-alive connections, at most `max`, each with one request in flight; requests wait for a free one. */
class Pool {
  readonly #idle: RawConnection[] = [];
  readonly #all = new Set<RawConnection>();
  readonly #waiting: Array<() => void> = [];

  constructor(
    private readonly target: Target,
    private readonly expect: string,
    private readonly max: number,
  ) {}

  /** Sends `bytes` on a free connection once there is one. */
  async send(bytes: Buffer): Promise<Outcome> {
    const connection = await this.#acquire();
    try {
      return await connection.send(bytes);
    } finally {
      this.#release(connection);
    }
  }

  close(): void {
    for (const connection of this.#all) connection.close();
  }

  async #acquire(): Promise<RawConnection> {
    for (let attempt = 0; attempt < 1_000_000; attempt++) {
      const idle = this.#idle.pop();
      if (idle !== undefined && idle.usable) return idle;
      if (idle !== undefined) this.#all.delete(idle);
      if (idle === undefined && this.#all.size < this.max) {
        const fresh = new RawConnection(this.target, this.expect);
        this.#all.add(fresh);
        return fresh;
      }
      if (idle === undefined) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    throw new Error('no connection became free');
  }

  #release(connection: RawConnection): void {
    if (connection.usable) this.#idle.push(connection);
    else {
      this.#all.delete(connection);
      connection.close();
    }
    this.#waiting.shift()?.();
  }
}

export async function paced(job: PacedJob): Promise<LoadResult> {
  const pool = new Pool(job.target, job.request.expect, job.maxSockets);
  const bytes = requestBytes(job.target, job.request);
  try {
    const recorder = new LatencyRecorder();
    const counts = new OutcomeCounts();
    const leadIn = Math.round(job.rate * LEAD_IN_SECONDS);
    const total = leadIn + Math.round(job.rate * job.seconds);
    const intervalMs = 1000 / job.rate;
    const inFlight = new Set<Promise<void>>();

    const send = (index: number, dueAt: number): void => {
      const done = pool.send(bytes).then((outcome) => {
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
    return counts.result(recorder, seconds, process.cpuUsage(cpuBefore), inFlight.size);
  } finally {
    pool.close();
  }
}
