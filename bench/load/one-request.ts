/** One POST over node:https, for the generators that autocannon cannot play. */
import { request, type Agent } from 'node:https';
import type { LoadResult, RequestSpec, Target } from './jobs.js';
import type { LatencyRecorder } from './latency.js';

export type Outcome = 'ok' | 'non2xx' | 'mismatch' | 'timeout' | 'error';

const TIMEOUT_MS = 10_000;

/** `agent: false` opens a fresh connection (and TLS handshake) that closes after the answer. */
export function postOnce(target: Target, spec: RequestSpec, agent: Agent | false): Promise<Outcome> {
  const url = new URL(target.origin);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: spec.path,
        method: 'POST',
        agent,
        ca: target.ca,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(spec.body) },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) settle('non2xx');
          else settle(Buffer.concat(chunks).toString('utf8').includes(spec.expect) ? 'ok' : 'mismatch');
        });
        res.on('error', () => settle('error'));
      },
    );
    req.on('timeout', () => {
      settle('timeout');
      req.destroy();
    });
    req.on('error', () => settle('error'));
    req.end(spec.body);
  });
}

export class OutcomeCounts {
  ok = 0;
  non2xx = 0;
  mismatch = 0;
  timeout = 0;
  error = 0;

  add(outcome: Outcome): void {
    this[outcome]++;
  }

  /** The run's result; `unfinished` requests still waiting at the end count as timeouts. */
  result(recorder: LatencyRecorder, seconds: number, cpu: NodeJS.CpuUsage, unfinished = 0): LoadResult {
    const latency = recorder.summary();
    return {
      requests: this.ok + this.non2xx + this.mismatch,
      seconds,
      requestsPerSecond: latency.count / seconds,
      latency,
      errors: this.error,
      timeouts: this.timeout + unfinished,
      non2xx: this.non2xx,
      mismatches: this.mismatch,
      clientCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    };
  }
}
