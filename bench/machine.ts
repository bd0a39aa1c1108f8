/**
 * What else the machine was doing. Other jobs share this host; a run during
 * which they burned CPU is not worth quoting, so every run records how much
 * CPU went to processes other than the server and the load generator.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { CLOCK_TICKS_PER_SECOND } from './proc-stats.js';

/**
 * CPU seconds every process on the machine but `exclude` has used, children
 * that have already exited included (their time moves to the parent when it
 * reaps them). Read per process from /proc/<pid>/stat: in this VM the per-CPU
 * totals of /proc/stat lag behind when a core is kept busy without pause (as
 * the fixed-rate load generator does), and showed half a core of "other" work
 * that no process was doing.
 */
export function otherProcessesCpuSeconds(exclude: ReadonlySet<number>): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || exclude.has(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime: fields 14 to 17, here 11 to 14.
      const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0);
      seconds.set(pid, ticks / CLOCK_TICKS_PER_SECOND);
    } catch {
      // Gone between listing and reading: its time is in its parent's children's time.
    }
  }
  return seconds;
}

function otherCpuSince(before: ReadonlyMap<number, number>, exclude: ReadonlySet<number>): number {
  let total = 0;
  for (const [pid, seconds] of otherProcessesCpuSeconds(exclude)) total += seconds - (before.get(pid) ?? 0);
  return Math.max(0, total);
}

export interface Interference {
  /** CPU of every process but ours, in % of one core, averaged over the window. */
  readonly otherCpuPercent: number;
}

/** Starts a window; the returned function closes it. This process counts as ours too. */
export function watchInterference(ours: readonly number[]): () => Interference {
  const exclude = new Set([process.pid, ...ours]);
  const before = otherProcessesCpuSeconds(exclude);
  const started = performance.now();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    return { otherCpuPercent: (otherCpuSince(before, exclude) / seconds) * 100 };
  };
}

export interface MachineState {
  readonly at: string;
  readonly loadAverage1m: number;
  readonly cores: number;
  readonly cpuModel: string;
}

export function machineState(): MachineState {
  const info = cpus();
  return { at: new Date().toISOString(), loadAverage1m: loadavg()[0] ?? 0, cores: info.length, cpuModel: info[0]?.model ?? 'unknown' };
}

/** Below this much CPU (all processes, % of one core) over a sampling window, the machine counts as quiet. */
const QUIET_PERCENT = 10;
const QUIET_WINDOW_MS = 5_000;

/**
 * Waits until two windows in a row were quiet, or `maxSeconds` have passed.
 * Returns whether it got quiet. Other jobs share this machine; numbers taken
 * while they run are not worth quoting.
 */
export async function waitForQuiet(maxSeconds: number, log: (line: string) => void): Promise<boolean> {
  const deadline = Date.now() + maxSeconds * 1000;
  let quietWindows = 0;
  for (let window = 0; Date.now() < deadline && window < 100_000; window++) {
    const interference = watchInterference([]);
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
    const percent = interference().otherCpuPercent;
    quietWindows = percent < QUIET_PERCENT ? quietWindows + 1 : 0;
    if (quietWindows >= 2) return true;
    if (window % 12 === 0) log(`waiting for a quiet machine: ${percent.toFixed(0)}% CPU in use by others`);
  }
  return false;
}
