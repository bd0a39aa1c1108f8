/**
 * The fixed-rate and reconnect loads: vegeta (tsenart/vegeta, built by
 * bench/tools/install-vegeta.sh) attacks at a constant rate in open loop over
 * keep-alive HTTP/1.1, or as fast as a few workers go with a new connection per
 * request, pinned to the load core; its results are decoded and checked here
 * (vegeta-results.ts). It runs as a child of the load generator
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
import { parseResultLine, VegetaClosedTally, VegetaTally, type VegetaExtras } from './vegeta-results.js';

export interface VegetaJob {
  readonly target: Target;
  readonly request: RequestSpec;
  /**
   * `rate`: requests per second in open loop over a keep-alive pool of at most `maxConnections`; `reconnect`: as
   * fast as `workers` go, each request on a new connection with a full TLS handshake (Go's client keeps no
   * session cache unless told to, like the API server's).
   */
  readonly load: { readonly kind: 'rate'; readonly rate: number; readonly maxConnections: number } | { readonly kind: 'reconnect'; readonly workers: number };
  readonly seconds: number;
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
/** Results kept at most per second of a reconnect attack (each request costs a full handshake: far fewer). */
const RECONNECT_RESULTS_PER_SECOND = 20_000;
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

export async function vegeta(job: VegetaJob): Promise<LoadResult & Partial<VegetaExtras>> {
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
    const load = job.load;
    await run('taskset', [
      '-c', LOAD_CORE, job.binary, 'attack',
      '-format=json', `-targets=${targetsFile}`, `-root-certs=${caFile}`,
      `-duration=${durationMs}ms`, `-timeout=${REQUEST_TIMEOUT_SECONDS}s`, '-http2=false',
      ...(load.kind === 'rate'
        ? // HTTP/1.1 keep-alive over a bounded pool, as the API server calls a webhook.
          [`-rate=${load.rate}/s`, '-keepalive=true', `-max-connections=${load.maxConnections}`]
        : ['-rate=0', `-workers=${load.workers}`, `-max-workers=${load.workers}`, '-keepalive=false']),
      `-output=${resultsFile}`,
    ]);
    const attackSeconds = (performance.now() - started) / 1000;
    const clientCpuPercent = ((exitedChildrenCpuSeconds() - cpuBefore) / attackSeconds) * 100;

    const expected = { uid: reviewUid(job.request.body), patch: job.patch };
    const tally =
      load.kind === 'rate'
        ? new VegetaTally({ rate: load.rate, firstMeasuredSeq: Math.round(load.rate * LEAD_IN_SECONDS), expected, capacity: Math.ceil(load.rate * (durationMs / 1000) * RESULT_ROOM) })
        : new VegetaClosedTally({ leadInMs: LEAD_IN_SECONDS * 1000, expected, capacity: Math.ceil(RECONNECT_RESULTS_PER_SECOND * (durationMs / 1000)) });
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
