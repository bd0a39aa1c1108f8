/**
 * What else the machine was doing. Other jobs share this host; a run during
 * which they burned CPU is not worth quoting, so every run records how much
 * CPU went to processes other than the server and the load generator.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { CLOCK_TICKS_PER_SECOND, cpuSeconds } from './proc-stats.js';

/** Busy CPU seconds of the whole machine (all cores) since boot. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // Fields: user nice system idle iowait irq softirq steal; idle and iowait were free for anything.
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

export interface Interference {
  /** CPU of everything but `ours`, in % of one core, averaged over the window. */
  readonly otherCpuPercent: number;
}

/** Starts a window; the returned function closes it. */
export function watchInterference(ours: readonly number[]): () => Interference {
  const busyBefore = machineBusySeconds();
  const oursBefore = ours.map(cpuSeconds);
  const started = performance.now();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const busy = machineBusySeconds() - busyBefore;
    const mine = ours.map(cpuSeconds).reduce((sum, value, index) => sum + value - (oursBefore[index] ?? 0), 0);
    return { otherCpuPercent: Math.max(0, ((busy - mine) / seconds) * 100) };
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
    const before = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
    const percent = ((machineBusySeconds() - before) / (QUIET_WINDOW_MS / 1000)) * 100;
    quietWindows = percent < QUIET_PERCENT ? quietWindows + 1 : 0;
    if (quietWindows >= 2) return true;
    if (window % 12 === 0) log(`waiting for a quiet machine: ${percent.toFixed(0)}% CPU in use by others`);
  }
  return false;
}
