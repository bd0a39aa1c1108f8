/**
 * deer-flow's files the tool needs, from a checkout (its work tree) or a bare git directory (HEAD):
 * the provisioner's app.py and the Helm chart deploy/helm/deer-flow. Both are copied into a scratch
 * folder outside this repository, which the caller removes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const GIT_TIMEOUT_MS = 60_000;

export const APP_PY = 'docker/provisioner/app.py';
export const CHART = 'deploy/helm/deer-flow';

/** A mistake in how the tool was called (exit status 2). */
export class UsageError extends Error {}

export interface DeerFlowSource {
  /** The folder app.py was copied to (uvicorn's --app-dir). */
  readonly appDir: string;
  /** The chart's folder. */
  readonly chartDir: string;
  /** Where the files came from, for the tool's first line: the commit, and whether the work tree was read. */
  readonly description: string;
}

async function git(dir: string, args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', ['-C', dir, ...args], { timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function headCommit(dir: string): Promise<string | undefined> {
  try {
    return (await git(dir, ['rev-parse', '--short=9', 'HEAD'])).trim();
  } catch {
    return undefined;
  }
}

/** app.py from the work tree when it has one, else from HEAD; a UsageError when neither. */
async function copyApp(dir: string, appDir: string): Promise<'work tree' | 'HEAD'> {
  await mkdir(appDir, { recursive: true });
  const target = path.join(appDir, 'app.py');
  if (existsSync(path.join(dir, APP_PY))) {
    await copyFile(path.join(dir, APP_PY), target);
    return 'work tree';
  }
  try {
    await writeFile(target, await git(dir, ['show', `HEAD:${APP_PY}`]));
    return 'HEAD';
  } catch {
    throw new UsageError(`${dir} has no ${APP_PY}, neither in a work tree nor at git HEAD: is it a deer-flow checkout?`);
  }
}

/** The chart from the work tree when it has one (helm only reads it), else extracted from HEAD into scratch. */
async function chartFolder(dir: string, scratch: string): Promise<string> {
  if (existsSync(path.join(dir, CHART, 'Chart.yaml'))) return path.join(dir, CHART);
  const tar = path.join(scratch, 'deer-flow-chart.tar');
  const into = path.join(scratch, 'deer-flow-chart');
  await mkdir(into);
  try {
    await git(dir, ['archive', '--output', tar, 'HEAD', CHART]);
  } catch {
    throw new UsageError(`${dir} has no ${CHART}, neither in a work tree nor at git HEAD`);
  }
  await execFileAsync('tar', ['-xf', tar, '-C', into], { timeout: GIT_TIMEOUT_MS });
  return path.join(into, CHART);
}

export async function deerFlowSource(dir: string, scratch: string): Promise<DeerFlowSource> {
  if (!existsSync(dir)) throw new UsageError(`--source ${dir} does not exist`);
  const appDir = path.join(scratch, 'provisioner');
  const appFrom = await copyApp(dir, appDir);
  const chartDir = await chartFolder(dir, scratch);
  const commit = (await headCommit(dir)) ?? '(not a git checkout)';
  return { appDir, chartDir, description: `deer-flow ${commit} (${dir}, app.py from ${appFrom === 'HEAD' ? 'HEAD' : 'the work tree'})` };
}
