/**
 * Reads what bench/preload/time-answer-write.mjs added up inside mountgate: the
 * time spent in res.end() writing the answers of /mutate and /validate.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sleep } from '../test/e2e/controlplane.js';
import { REPO_ROOT } from './workspace.js';
import type { Histogram } from './apiserver-metrics.js';

/** For NODE_OPTIONS. */
export const WRITE_TIMES_PRELOAD = `--import ${path.join(REPO_ROOT, 'bench', 'preload', 'time-answer-write.mjs')}`;
const WAIT_MS = 5_000;

function fileOf(pid: number): string {
  return path.join(tmpdir(), `mountgate-bench-write-times-${pid}.json`);
}

export interface AnswerWrites {
  /** Seconds spent in res.end() so far (sum) over answers written (count). */
  readonly mutate: Histogram;
  readonly validate: Histogram;
}

function total(value: unknown): Histogram | undefined {
  if (typeof value !== 'object' || value === null || !('sumNs' in value) || !('count' in value)) return undefined;
  const { sumNs, count } = value;
  return typeof sumNs === 'string' && /^\d+$/.test(sumNs) && typeof count === 'number' ? { sum: Number(BigInt(sumNs)) / 1e9, count } : undefined;
}

export async function answerWriteTimes(pid: number): Promise<AnswerWrites> {
  const file = fileOf(pid);
  await rm(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; Date.now() < deadline && attempt < 500; attempt++) {
    await sleep(20);
    let read: unknown;
    try {
      read = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      continue; // not there yet, or caught half-written
    }
    if (typeof read !== 'object' || read === null || !('/mutate' in read) || !('/validate' in read)) continue;
    const [mutate, validate] = [total(read['/mutate']), total(read['/validate'])];
    if (mutate !== undefined && validate !== undefined) return { mutate, validate };
  }
  throw new Error(`mountgate (pid ${pid}) wrote no answer write times within ${WAIT_MS} ms`);
}

export async function removeAnswerWriteTimes(pid: number): Promise<void> {
  await rm(fileOf(pid), { force: true });
}
