/** Runs apiserver-inprocess-worker.ts on the webhook core and returns what it measured. */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SERVER_CORE } from './config.js';
import { serverNode } from './processes.js';
import { REPO_ROOT } from './workspace.js';

const execFileAsync = promisify(execFile);
const BUDGET_MS = 1_500;

export interface InProcessTiming {
  /** Median ms per review: JSON.parse of the body, envelope, decision, answer (the core table's "/mutate minus HTTP"). */
  readonly parseToAnswerMs: number;
  /** The same without JSON.parse: the part of mountgate's histogram that is not the socket write. */
  readonly envelopeToAnswerMs: number;
  readonly budgetMs: number;
}

export async function inProcess(dir: string, policyFile: string, reviewBody: string): Promise<InProcessTiming> {
  const reviewFile = path.join(dir, 'bench-inprocess-review.json');
  await writeFile(reviewFile, reviewBody);
  const worker = path.join(REPO_ROOT, 'bench', 'apiserver-inprocess-worker.ts');
  const { stdout } = await execFileAsync('taskset', ['-c', SERVER_CORE, serverNode(), '--import', 'tsx', worker, policyFile, reviewFile, String(BUDGET_MS)], {
    cwd: REPO_ROOT,
    timeout: 60_000 + BUDGET_MS * 4,
  });
  return JSON.parse(stdout) as InProcessTiming;
}
