/**
 * Before and after, commit by commit: `node --import tsx bench/steps.ts SHA...`
 * checks each commit out into a temporary worktree, puts today's bench/ in it
 * (so every commit is measured by the same harness), builds it, and runs a
 * short benchmark there: /mutate and /validate at 10 connections, the core,
 * and RSS after 20,000 requests (STEPS_SECTIONS=core for fewer). Prints a
 * Markdown table and writes bench/steps.json (STEPS_OUT for another file).
 * Run it on a quiet machine; it takes about two minutes per commit.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Results } from './report.js';
import { REPO_ROOT } from './workspace.js';

const execFileAsync = promisify(execFile);
/** Ten minutes of work, plus BENCH_WAIT_QUIET before each of the five waits run.ts may make. */
const STEP_TIMEOUT_MS = 10 * 60_000 + 5 * Number(process.env.BENCH_WAIT_QUIET ?? '0') * 1000;

export interface Step {
  readonly commit: string;
  readonly subject: string;
  /** Why the step has no numbers, when it failed. */
  readonly error?: string;
  readonly ceilingReqPerSec: number | undefined;
  readonly mutateReqPerSec: number | undefined;
  readonly validateReqPerSec: number | undefined;
  readonly mutateCpuMicros: number | undefined;
  readonly validateCpuMicros: number | undefined;
  readonly mutateP50Ms: number | undefined;
  readonly coreMutateNs: number | undefined;
  readonly coreValidateNs: number | undefined;
  readonly envelopeNs: number | undefined;
  readonly rssStartMiB: number | undefined;
  readonly rssAfterMiB: number | undefined;
  readonly maxOtherCpuPercent: number;
}

async function git(args: readonly string[], cwd = REPO_ROOT): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, timeout: 60_000 });
  return stdout.trim();
}

async function runIn(dir: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(command, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
  try {
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code} in ${dir}`);
  } finally {
    clearTimeout(timer);
  }
}

async function measureCommit(commit: string): Promise<Step> {
  const subject = await git(['log', '-1', '--format=%h %s', commit]);
  const dir = await mkdtemp(path.join(tmpdir(), 'mountgate-step-'));
  const out = await mkdtemp(path.join(tmpdir(), 'mountgate-step-out-'));
  try {
    await git(['worktree', 'add', '--detach', '--force', dir, commit]);
    await rm(path.join(dir, 'bench'), { recursive: true, force: true });
    await cp(path.join(REPO_ROOT, 'bench'), path.join(dir, 'bench'), { recursive: true });
    await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    process.stderr.write(`[steps] ${subject}\n`);
    await runIn(dir, process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
      BENCH_ONLY: process.env.STEPS_SECTIONS ?? 'http,core,rss',
      BENCH_SCENARIOS: 'c10',
      BENCH_RSS_REQUESTS: '20000',
      BENCH_RSS_VARIANTS: 'no-preflight',
      BENCH_OUT: out,
    });
    const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as Results;
    const run = (target: string) => results.http?.runs.find((r) => r.scenario === 'c10' && r.target === target);
    const core = (name: string) => results.core?.cases.find((c) => c.name === name)?.timing.medianNs;
    const others = [...(results.http?.runs ?? []).map((r) => r.otherCpuPercent), results.core?.otherCpuPercent ?? 0, ...(results.rss?.runs ?? []).map((r) => r.otherCpuPercent)];
    return {
      commit,
      subject,
      ceilingReqPerSec: run('ceiling')?.requestsPerSecond,
      mutateReqPerSec: run('mutate')?.requestsPerSecond,
      validateReqPerSec: run('validate')?.requestsPerSecond,
      mutateCpuMicros: run('mutate')?.serverCpuMicrosPerRequest,
      validateCpuMicros: run('validate')?.serverCpuMicrosPerRequest,
      mutateP50Ms: run('mutate')?.latency.p50,
      coreMutateNs: core('decide mutate, 3-mount Pod'),
      coreValidateNs: core('decide validate, 3-mount Pod'),
      envelopeNs: core('AdmissionReview envelope check'),
      rssStartMiB: results.rss?.runs.find((r) => r.variant === 'no-preflight')?.rssAtStartMiB,
      rssAfterMiB: results.rss?.runs.find((r) => r.variant === 'no-preflight')?.rssAfterMiB,
      maxOtherCpuPercent: Math.max(...others),
    };
  } finally {
    await git(['worktree', 'remove', '--force', dir]).catch(() => rm(dir, { recursive: true, force: true }));
    await rm(out, { recursive: true, force: true });
  }
}

const fixed = (value: number | undefined, digits = 0): string => (value === undefined ? '' : value.toFixed(digits));

function table(steps: readonly Step[]): string {
  const lines = [
    '| commit | ceiling req/s | /mutate req/s | /validate req/s | /mutate CPU µs/req | /validate CPU µs/req | /mutate p50 ms | core mutate µs | core validate µs | envelope µs | RSS start MiB | RSS after 20k MiB | max other CPU % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of steps) {
    lines.push(
      `| ${s.subject.slice(0, 90)} | ${fixed(s.ceilingReqPerSec)} | ${fixed(s.mutateReqPerSec)} | ${fixed(s.validateReqPerSec)} | ${fixed(s.mutateCpuMicros)} | ` +
        `${fixed(s.validateCpuMicros)} | ${fixed(s.mutateP50Ms, 2)} | ${fixed(s.coreMutateNs === undefined ? undefined : s.coreMutateNs / 1000, 1)} | ` +
        `${fixed(s.coreValidateNs === undefined ? undefined : s.coreValidateNs / 1000, 1)} | ${fixed(s.envelopeNs === undefined ? undefined : s.envelopeNs / 1000, 1)} | ` +
        `${fixed(s.rssStartMiB, 1)} | ${fixed(s.rssAfterMiB, 1)} | ${fixed(s.maxOtherCpuPercent)} |`,
    );
  }
  return lines.join('\n');
}

const commits = process.argv.slice(2);
if (commits.length === 0) {
  process.stderr.write('usage: node --import tsx bench/steps.ts SHA...\n');
  process.exit(2);
}
const steps: Step[] = [];
for (const commit of commits) {
  try {
    steps.push(await measureCommit(commit));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`[steps] ${commit} failed: ${message}\n`);
    steps.push({ ...emptyStep(commit), error: message });
  }
  // Written after every commit, so a long run that is cut short keeps what it measured.
  await writeFile(process.env.STEPS_OUT ?? path.join(REPO_ROOT, 'bench', 'steps.json'), `${JSON.stringify({ at: new Date().toISOString(), steps }, null, 2)}\n`);
}
process.stdout.write(`${table(steps)}\n`);

function emptyStep(commit: string): Step {
  const none = undefined;
  return {
    commit,
    subject: commit,
    ceilingReqPerSec: none,
    mutateReqPerSec: none,
    validateReqPerSec: none,
    mutateCpuMicros: none,
    validateCpuMicros: none,
    mutateP50Ms: none,
    coreMutateNs: none,
    coreValidateNs: none,
    envelopeNs: none,
    rssStartMiB: none,
    rssAfterMiB: none,
    maxOtherCpuPercent: 0,
  };
}
