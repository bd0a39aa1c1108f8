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
