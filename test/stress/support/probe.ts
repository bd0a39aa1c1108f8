/**
 * A fresh client, over and over: each probe opens a new TLS connection and
 * asks /mutate about a small Pod, as the API server does after a reconnect.
 * Latencies are what an attack must not spoil. Also samples the server's
 * memory and open file descriptors meanwhile.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { review, sandboxPod } from '../../helpers/pods.js';
import { httpsCall } from '../../helpers/tls.js';
import { summarize, type LatencySummary } from './timeline.js';

const BODY = JSON.stringify(review(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/probe', mountPath: '/mnt/probe' }] })));

export interface ProbeSample {
  /** Date.now() when the probe started. */
  readonly at: number;
  readonly ms: number;
}

export interface ProbeReport {
  readonly latency: LatencySummary;
  readonly samples: readonly ProbeSample[];
  /** Probes that got no answer, or not 200 and allowed. */
  readonly failures: readonly string[];
  readonly peakRssBytes: number;
  readonly peakOpenFds: number;
}

export interface Probe {
  stop(): Promise<ProbeReport>;
}

/** The probes that started in [from, to), summarized again. */
export function during(report: ProbeReport, from: number, to: number): ProbeReport {
  const samples = report.samples.filter((sample) => sample.at >= from && sample.at < to);
  return { ...report, samples, latency: summarize(samples.map((sample) => sample.ms)) };
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Probes every `everyMs` (one at a time) and samples memory, until stop(); at most `maxProbes` probes. */
export function startProbe(port: number, ca: string, pid: number, everyMs = 100, maxProbes = 2_000): Probe {
  const samples: ProbeSample[] = [];
  const failures: string[] = [];
  let peakRssBytes = 0;
  let peakOpenFds = 0;
  let running = true;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, rssBytes(pid));
    peakOpenFds = Math.max(peakOpenFds, openFds(pid));
  }, 50);
  const loop = (async () => {
    for (let count = 0; running && count < maxProbes; count++) {
      const at = Date.now();
      const started = performance.now();
      try {
        const answer = await httpsCall({ port, path: '/mutate', ca, body: BODY });
        samples.push({ at, ms: Math.round((performance.now() - started) * 10) / 10 });
        if (answer.status !== 200 || !answer.text.includes('"allowed":true')) failures.push(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
      } catch (error) {
        failures.push(String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      clearInterval(sampler);
      return { latency: summarize(samples.map((sample) => sample.ms)), samples, failures, peakRssBytes, peakOpenFds };
    },
  };
}
