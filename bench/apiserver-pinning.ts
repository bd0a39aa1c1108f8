/**
 * Where the processes of the API-server section run. In a cluster the webhook
 * Pod has a node (or at least cores) of its own, apart from the control plane
 * and the client; on this 2-core machine the nearest layout is mountgate and
 * the do-nothing webhook on SERVER_CORE, and etcd, kube-apiserver and the
 * client creating Pods (this process) on LOAD_CORE. Every thread of each
 * process is moved (`taskset -a`): Go's and V8's helper threads included;
 * threads started later inherit the affinity of the thread that starts them.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { LOAD_CORE, SERVER_CORE } from './config.js';

const execFileAsync = promisify(execFile);

/** The control-plane binaries test/e2e/controlplane.ts starts as children of this process. */
const CONTROL_PLANE = ['etcd', 'kube-apiserver'] as const;

/** Children of this process whose command name is etcd or kube-apiserver. */
export function controlPlanePids(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === process.pid && (CONTROL_PLANE as readonly string[]).includes(name)) found.push(pid);
    } catch {
      // Gone between listing and reading.
    }
  }
  if (found.length !== CONTROL_PLANE.length) throw new Error(`expected etcd and kube-apiserver among this process's children, found ${found.length} of them`);
  return found;
}

export type Layout = 'pinned' | 'shared';

export interface Placement {
  /** mountgate and the do-nothing webhook server. */
  readonly webhooks: readonly number[];
  /** etcd and kube-apiserver; this process (the client) goes with them. */
  readonly controlPlane: readonly number[];
}

async function setAffinity(pid: number, cores: string): Promise<void> {
  await execFileAsync('taskset', ['-a', '-p', '-c', cores, String(pid)], { timeout: 10_000 });
}

/** 'pinned': webhooks on SERVER_CORE, the rest on LOAD_CORE; 'shared': every process may run on both cores. */
export async function place(placement: Placement, layout: Layout): Promise<void> {
  const both = `${SERVER_CORE},${LOAD_CORE}`;
  for (const pid of placement.webhooks) await setAffinity(pid, layout === 'pinned' ? SERVER_CORE : both);
  for (const pid of [...placement.controlPlane, process.pid]) await setAffinity(pid, layout === 'pinned' ? LOAD_CORE : both);
}
