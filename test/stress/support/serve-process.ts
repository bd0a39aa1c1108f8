/**
 * A real `mountgate serve` child process (the built JavaScript) on 127.0.0.1 with ports picked by
 * the kernel (port 0), read back from its "mountgate is serving" log line.
 * Its JSON log is parsed as it arrives, so tests can wait for and time
 * reloads; per-request decision lines are only counted, to keep memory flat.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rssBytes } from './probe.js';
import { serverEntry } from './server-entry.js';
const START_TIMEOUT_MS = 30_000;

export interface LogRecord {
  readonly msg: string;
  /** Milliseconds since the epoch, from the record's ISO time. */
  readonly at: number;
  readonly [field: string]: unknown;
}

export interface ServeFiles {
  readonly config: string;
  readonly cert: string;
  readonly key: string;
}

export interface ServeProcessOptions {
  readonly files: ServeFiles;
  readonly shutdownDelaySeconds?: number;
  readonly reloadIntervalSeconds?: number;
  readonly nodeOptions?: readonly string[];
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Date.now() when the exit was seen. */
  readonly at: number;
}

export class ServeProcess {
  readonly #child: ChildProcess;
  readonly #records: LogRecord[] = [];
  readonly #waiters = new Set<() => void>();
  #decisions = 0;
  #stderr = '';
  #exit: Exit | undefined;
  readonly exited: Promise<Exit>;
  port = 0;
  metricsPort = 0;

  private constructor(options: ServeProcessOptions) {
    const args = [
      ...(options.nodeOptions ?? []),
      serverEntry(),
      'serve',
      '--config', options.files.config,
      '--tls-cert', options.files.cert,
      '--tls-key', options.files.key,
      '--host', '127.0.0.1',
      '--port', '0',
      '--metrics-port', '0',
      '--shutdown-delay', String(options.shutdownDelaySeconds ?? 0),
      '--reload-interval', String(options.reloadIntervalSeconds ?? 1),
    ];
    this.#child = spawn(process.execPath, args, { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.#take(line);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      if (this.#stderr.length < 64 * 1024) this.#stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal, at: Date.now() };
        this.#wake();
        resolve(this.#exit);
      });
    });
  }

  static async start(options: ServeProcessOptions): Promise<ServeProcess> {
    const server = new ServeProcess(options);
    try {
      const serving = await server.waitForLog((record) => record.msg === 'mountgate is serving', START_TIMEOUT_MS);
      server.port = Number(serving.port);
      server.metricsPort = Number(serving.metricsPort);
      return server;
    } catch (error) {
      await server.kill();
      throw error;
    }
  }

  get pid(): number {
    const pid = this.#child.pid;
    if (pid === undefined) throw new Error('mountgate serve did not start');
    return pid;
  }

  /** Log records other than per-request decisions, in order. */
  get records(): readonly LogRecord[] {
    return this.#records;
  }

  get decisionsLogged(): number {
    return this.#decisions;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resident set size now, from /proc. */
  rssBytes(): number {
    return rssBytes(this.pid);
  }

  /** Resolves with the first record, already seen or still to come, that matches. */
  waitForLog(match: (record: LogRecord) => boolean, timeoutMs: number): Promise<LogRecord> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.#records.find(match);
        if (found !== undefined) {
          finish();
          resolve(found);
          return true;
        }
        if (this.#exit !== undefined) {
          finish();
          reject(new Error(`mountgate exited (code ${this.#exit.code}, signal ${this.#exit.signal}) before the expected log line:\n${this.#stderr}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching log line within ${timeoutMs} ms; last lines: ${JSON.stringify(this.#records.slice(-5))}\n${this.#stderr}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter = (): void => {
        check();
      };
      if (!check()) this.#waiters.add(waiter);
    });
  }

  signal(signal: NodeJS.Signals): number {
    const at = Date.now();
    this.#child.kill(signal);
    return at;
  }

  /** Cleanup for finally blocks: SIGKILL unless it has exited already. */
  async kill(): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }

  #take(line: string): void {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = { msg: line, time: new Date().toISOString() };
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const fields = parsed as Record<string, unknown>;
    if (fields.msg === 'admission decision') {
      this.#decisions++;
      return;
    }
    this.#records.push({ ...fields, msg: String(fields.msg), at: Date.parse(String(fields.time)) });
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** User + system CPU seconds a process has used, from /proc (clock ticks of 1/100 s on Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
