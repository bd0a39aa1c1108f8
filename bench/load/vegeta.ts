/**
 * The fixed-rate load: vegeta (tsenart/vegeta, built by
 * bench/tools/install-vegeta.sh) attacks at a constant rate in open loop over
 * keep-alive HTTP/1.1, pinned to the load core; its results are decoded and
 * checked here (vegeta-results.ts). It runs as a child of the load generator
 * process, which only waits meanwhile.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { LOAD_CORE } from '../config.js';
import { CLOCK_TICKS_PER_SECOND } from '../proc-stats.js';
import type { LoadResult, RequestSpec, Target } from './jobs.js';
import { parseResultLine, VegetaTally, type VegetaExtras } from './vegeta-results.js';

export interface VegetaJob {
  readonly target: Target;
  readonly request: RequestSpec;
  readonly rate: number;
  readonly seconds: number;
  readonly maxConnections: number;
  /** Path of the vegeta binary (bench/tools/install-vegeta.sh prints it). */
  readonly binary: string;
  /** Whether a right answer carries a JSON patch (/mutate) or must not (/validate). */
  readonly patch: boolean;
}

/** Unmeasured lead-in that opens the pool's connections. */
const LEAD_IN_SECONDS = 0.5;
/** vegeta's per-request timeout; a request that takes longer counts as a timeout. */
const REQUEST_TIMEOUT_SECONDS = 10;
/** Room above rate x duration for the results kept (vegeta may send a request or two more). */
const RESULT_ROOM = 1.1;
const STDERR_KEPT = 4_000;

/** CPU seconds of this process's children that have exited and been waited for (cutime + cstime). */
function exitedChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
}

/** Runs a command to its end; a non-zero exit or a failure to start throws with the command's stderr. */
async function run(command: string, args: readonly string[], onLine?: (line: string) => void): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', onLine === undefined ? 'ignore' : 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
  });
  if (onLine !== undefined && child.stdout !== null) createInterface({ input: child.stdout }).on('line', onLine);
  let code: unknown;
  let signal: unknown;
  try {
    // `once` rejects when the child emits 'error' (e.g. the program is not there).
    [code, signal] = await once(child, 'close');
  } catch (error) {
    throw new Error(`${command} could not be run: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (code !== 0) throw new Error(`${[command, ...args].join(' ')} ended with ${String(code ?? signal)}: ${stderr.trim()}`);
}

export async function vegeta(job: VegetaJob): Promise<LoadResult & VegetaExtras> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mountgate-vegeta-'));
  try {
    const caFile = path.join(dir, 'ca.pem');
    const targetsFile = path.join(dir, 'targets.json');
    const resultsFile = path.join(dir, 'results.bin');
    await writeFile(caFile, job.target.ca);
    const target = {
      method: 'POST',
      url: `${job.target.origin}${job.request.path}`,
      body: Buffer.from(job.request.body).toString('base64'),
      header: { 'Content-Type': ['application/json'] },
    };
    await writeFile(targetsFile, `${JSON.stringify(target)}\n`);

    const durationMs = Math.round((LEAD_IN_SECONDS + job.seconds) * 1000);
    const cpuBefore = exitedChildrenCpuSeconds();
    const started = performance.now();
    await run('taskset', [
      '-c', LOAD_CORE, job.binary, 'attack',
      '-format=json', `-targets=${targetsFile}`, `-root-certs=${caFile}`,
      `-rate=${job.rate}/s`, `-duration=${durationMs}ms`, `-timeout=${REQUEST_TIMEOUT_SECONDS}s`,
      // HTTP/1.1 keep-alive over a bounded pool, as the API server calls a webhook.
      '-http2=false', '-keepalive=true', `-max-connections=${job.maxConnections}`,
      `-output=${resultsFile}`,
    ]);
    const attackSeconds = (performance.now() - started) / 1000;
    const clientCpuPercent = ((exitedChildrenCpuSeconds() - cpuBefore) / attackSeconds) * 100;

    const tally = new VegetaTally({
      rate: job.rate,
      firstMeasuredSeq: Math.round(job.rate * LEAD_IN_SECONDS),
      expected: { uid: reviewUid(job.request.body), patch: job.patch },
      capacity: Math.ceil(job.rate * (durationMs / 1000) * RESULT_ROOM),
    });
    // A line that does not read stops the run with its reason, rather than throwing inside a stream event.
    let unreadable: string | undefined;
    await run(job.binary, ['encode', '-to=json', resultsFile], (line) => {
      if (line.trim() === '' || unreadable !== undefined) return;
      try {
        tally.add(parseResultLine(line));
      } catch (error) {
        unreadable = `${error instanceof Error ? error.message : String(error)} in: ${line.slice(0, 200)}`;
      }
    });
    if (unreadable !== undefined) throw new Error(`vegeta's results could not be read: ${unreadable}`);
    return tally.result(clientCpuPercent);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function reviewUid(body: string): string {
  const parsed: unknown = JSON.parse(body);
  const request = typeof parsed === 'object' && parsed !== null && 'request' in parsed ? parsed.request : undefined;
  const uid = typeof request === 'object' && request !== null && 'uid' in request ? request.uid : undefined;
  if (typeof uid !== 'string') throw new Error('the request body is not an AdmissionReview with a uid');
  return uid;
}
