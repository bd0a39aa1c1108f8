/**
 * A fresh client, over and over: each probe opens a new TLS connection and
 * asks /mutate about a small Pod, as the API server does after a reconnect.
 * Latencies are what an attack must not spoil. The probes run in a process of
 * their own (probe-client.ts), so that the test process, busy setting up an
 * attack, does not stall them; this process samples the server's memory and
 * open file descriptors meanwhile.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize, type LatencySummary } from './timeline.js';

const CLIENT = join(process.cwd(), 'test/stress/support/probe-client.ts');
/** The probe process starts node with tsx: seconds on a loaded machine. This is a wait, not a measurement. */
const READY_TIMEOUT_MS = 60_000;

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

/**
 * Probes every `everyMs` (one at a time) and samples memory, until stop(); at most `maxProbes` probes.
 * Resolves once the probe process is warm and probing, so that whatever the caller does next is probed.
 */
export async function startProbe(port: number, ca: string, pid: number, everyMs = 100, maxProbes = 2_000): Promise<Probe> {
  let peakRssBytes = 0;
  let peakOpenFds = 0;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, rssBytes(pid));
    peakOpenFds = Math.max(peakOpenFds, openFds(pid));
  }, 50);
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, String(port), String(everyMs), String(maxProbes)], {
    env: { PATH: process.env.PATH, MOUNTGATE_PROBE_CA: ca },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // Saying stop to a probe process that has already ended (it reached maxProbes) is no error.
  child.stdin.on('error', () => undefined);
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 16_384) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the probe process was not ready within ${READY_TIMEOUT_MS} ms: ${stderr}`)), READY_TIMEOUT_MS);
    const check = (): void => {
      if (!stdout.startsWith('ready\n')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the probe process exited (${code}) before its first probe: ${stderr}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    clearInterval(sampler);
    child.kill('SIGKILL');
    throw error;
  }
  let stopped: Promise<ProbeReport> | undefined;
  const stop = async (): Promise<ProbeReport> => {
    child.stdin.end('stop\n');
    const code = await exited;
    clearInterval(sampler);
    const line = stdout.split('\n').find((text) => text.startsWith('{'));
    if (code !== 0 || line === undefined) throw new Error(`the probe process exited with ${code}: ${stderr}`);
    const { samples, failures } = JSON.parse(line) as { samples: ProbeSample[]; failures: string[] };
    return { latency: summarize(samples.map((sample) => sample.ms)), samples, failures, peakRssBytes, peakOpenFds };
  };
  return {
    stop() {
      stopped ??= stop();
      return stopped;
    },
  };
}
