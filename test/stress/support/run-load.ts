/** Starts the load process (load-client.ts) and collects its result. */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadPlan, LoadResult } from './load-plan.js';

const CLIENT = join(process.cwd(), 'test/stress/support/load-client.ts');

export interface RunningLoad {
  /** Date.now() in the load process when its first beat went out. */
  readonly started: Promise<number>;
  readonly finished: Promise<LoadResult>;
  /** Cleanup for finally blocks. */
  kill(): void;
}

export async function startLoad(plan: LoadPlan, planDir: string): Promise<RunningLoad> {
  const planFile = join(planDir, `load-plan-${Date.now()}.json`);
  await writeFile(planFile, JSON.stringify(plan));
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, planFile], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 16_384) stderr += chunk.toString('utf8');
  });
  const started = new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /started (\d+)/.exec(stdout);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the load process exited (${code}) before starting: ${stderr}`)));
  });
  const finished = new Promise<LoadResult>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`the load process exited with ${code}: ${stderr}`));
        return;
      }
      readFile(plan.resultFile, 'utf8').then((text) => resolve(JSON.parse(text) as LoadResult), reject);
    });
  });
  // Either promise may go unobserved when the other fails first.
  started.catch(() => undefined);
  finished.catch(() => undefined);
  return {
    started,
    finished,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
