/**
 * Local processes for the test harnesses: free loopback ports, child processes that log to a file
 * and are killed if the test process exits first, and polling with a deadline that fails fast
 * when a process dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

const STOP_GRACE_MS = 10_000;

/**
 * Ports this process has handed out. The kernel may give a port just released to the next listen(0), so two calls
 * in a row (a server's port and its metrics port) could name the same one, and the second bind then fails.
 */
const handedOut = new Set<number>();
const FREE_PORT_TRIES = 50;

/** A free TCP port on 127.0.0.1 (the kernel picks it; we release it straight away), never one handed out before. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < FREE_PORT_TRIES; tries++) {
    const port = await kernelPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no port in ${FREE_PORT_TRIES} tries that this process had not handed out already`);
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One child process whose output goes to a log file; remembers how it ended. */
export class Proc {
  readonly child: ChildProcess;
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  spawnError: Error | undefined;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    readonly logFile: string,
    command: string,
    args: readonly string[],
    logFd: number,
  ) {
    this.child = spawn(command, args, { stdio: ['ignore', logFd, logFd], cwd: path.dirname(logFile) });
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
      this.child.on('error', (error) => {
        this.exited = { code: null, signal: null };
        this.spawnError = error;
        resolve();
      });
    });
    track(this.child);
    void this.exitPromise.then(() => liveChildren.delete(this.child));
  }

  /** The last lines of the log, for error messages. */
  tail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Throws when the process has already ended. */
  assertRunning(): void {
    if (this.exited !== undefined) {
      const how = this.spawnError?.message ?? `code ${this.exited.code} signal ${this.exited.signal}`;
      throw new Error(`${this.name} exited (${how}); last lines of ${this.logFile}:\n${this.tail()}`);
    }
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Children still running: killed if this test process exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Installs the exit hook with the first child, not when this module is imported. */
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    process.on('exit', () => {
      for (const live of liveChildren) live.kill('SIGKILL');
    });
    exitHookInstalled = true;
  }
  liveChildren.add(child);
}

export async function startProc(dir: string, name: string, command: string, args: readonly string[]): Promise<Proc> {
  const logFile = path.join(dir, `${name}.log`);
  const handle = await open(logFile, 'w');
  try {
    return new Proc(name, logFile, command, args, handle.fd);
  } finally {
    // The child has its own copy of the descriptor.
    await handle.close();
  }
}

/** Polls fn until it returns true, the process dies, or the deadline passes. */
export async function waitFor(what: string, procs: readonly Proc[], timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
    for (const p of procs) p.assertRunning();
    try {
      if (await fn()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(250);
  }
  const tails = procs.map((p) => `--- ${p.name} (${p.logFile}):\n${p.tail()}`).join('\n');
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${lastError})\n${tails}`);
}


/** Clean-up steps, run last-in first-out; every step runs even when an earlier one fails. */
export class Cleanups {
  private readonly steps: Array<() => Promise<void>> = [];

  constructor(private readonly what: string) {}

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  /** Runs (and forgets) every step; throws them all together if any failed. */
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `${this.what} failed`);
  }

  /** For a set-up (`what`) that failed with `error`: runs every step, then throws `error`, with the steps' errors if any. */
  async abandon(what: string, error: unknown): Promise<never> {
    try {
      await this.run();
    } catch (cleanupError) {
      throw new AggregateError([error, cleanupError], `${what} failed, and so did its clean-up`);
    }
    throw error;
  }
}
