/**
 * CPU time and memory of another process, read from /proc (Linux only). CPU
 * covers every thread of the process (GC helpers, libuv pool), which taskset
 * keeps on the same core as the main thread.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

export const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces; fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) throw new Error(`unreadable /proc/${pid}/stat`);
  return (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND;
}

export interface Memory {
  /** Resident set size now, MiB. */
  readonly rssMiB: number;
  /** Peak resident set size since start or the last resetPeakRss, MiB. */
  readonly peakRssMiB: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMiB: statusKiB(status, 'VmRSS') / 1024, peakRssMiB: statusKiB(status, 'VmHWM') / 1024 };
}

function statusKiB(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  if (match?.[1] === undefined) throw new Error(`no ${key} in /proc status`);
  return Number(match[1]);
}

/**
 * Restarts VmHWM from the current RSS, so a peak belongs to one run
 * (writing 5 to clear_refs; needs the right to write there, which the owner has).
 * Returns false when the kernel refuses; peaks are then since process start.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
