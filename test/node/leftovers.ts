/**
 * What a node leaves on the machine after its processes have stopped, and its removal: mounts
 * under the suite's folder (the kubelet bind-mounts its root dir onto itself), the kubelet's and
 * kube-proxy's iptables chains, network namespaces of sandboxes that were killed rather than
 * stopped, and the kubepods cgroups. Only what was not there before the node started is removed.
 */
import { readFile, readdir } from 'node:fs/promises';
import { run, runQuietly } from './commands.js';

const NETNS_DIR = '/run/netns';
const IPTABLES = ['iptables', 'ip6tables'] as const;

interface HostState {
  readonly cgroups: ReadonlySet<string>;
  readonly netns: ReadonlySet<string>;
  /** "<tool> <table> <chain>" for every chain whose name starts with KUBE-. */
  readonly kubeChains: ReadonlySet<string>;
}

async function kubepodsCgroups(): Promise<string[]> {
  const { stdout } = await run('find', ['/sys/fs/cgroup', '-maxdepth', '2', '-name', 'kubepods', '-type', 'd']);
  return stdout.split('\n').filter((d) => d !== '');
}

async function netns(): Promise<string[]> {
  try {
    return await readdir(NETNS_DIR);
  } catch {
    return [];
  }
}

/** iptables-save output per table: the chain names and the rules. */
async function iptablesTables(tool: (typeof IPTABLES)[number]): Promise<Map<string, string[]>> {
  const tables = new Map<string, string[]>();
  let dump: string;
  try {
    dump = (await run(`${tool}-save`, [])).stdout;
  } catch {
    return tables; // no such tool (e.g. no IPv6): nothing of ours there either
  }
  let lines: string[] = [];
  for (const line of dump.split('\n')) {
    if (line.startsWith('*')) {
      lines = [];
      tables.set(line.slice(1), lines);
    } else if (line.startsWith(':') || line.startsWith('-A ')) {
      lines.push(line);
    }
  }
  return tables;
}

async function kubeChains(): Promise<Set<string>> {
  const chains = new Set<string>();
  for (const tool of IPTABLES) {
    for (const [table, lines] of await iptablesTables(tool)) {
      for (const line of lines) {
        const chain = /^:(KUBE-\S+)/.exec(line)?.[1];
        if (chain !== undefined) chains.add(`${tool} ${table} ${chain}`);
      }
    }
  }
  return chains;
}

export async function snapshotHost(): Promise<HostState> {
  return { cgroups: new Set(await kubepodsCgroups()), netns: new Set(await netns()), kubeChains: await kubeChains() };
}

export async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort()
    .reverse();
  for (const point of mounts) await runQuietly('umount', ['-l', point]);
}

/** An iptables-save rule split into arguments (double-quoted comments stay one argument). */
function ruleArgs(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

async function removeNewChains(before: HostState): Promise<void> {
  for (const tool of IPTABLES) {
    for (const [table, lines] of await iptablesTables(tool)) {
      const ours = new Set(
        lines
          .map((line) => /^:(KUBE-\S+)/.exec(line)?.[1])
          .filter((chain): chain is string => chain !== undefined && !before.kubeChains.has(`${tool} ${table} ${chain}`)),
      );
      if (ours.size === 0) continue;
      // Rules in other chains that jump to ours go first, then our chains' rules, then the chains.
      for (const line of lines) {
        const parts = ruleArgs(line);
        const target = parts[parts.indexOf('-j') + 1];
        const chain = parts[1];
        if (line.startsWith('-A ') && chain !== undefined && !ours.has(chain) && target !== undefined && ours.has(target)) {
          await runQuietly(tool, ['-t', table, '-D', ...parts.slice(1)]);
        }
      }
      for (const chain of ours) await runQuietly(tool, ['-t', table, '-F', chain]);
      for (const chain of ours) await runQuietly(tool, ['-t', table, '-X', chain]);
    }
  }
}

/** Removes what the node left behind; run after its processes have stopped. */
export async function removeLeftovers(dir: string, before: HostState): Promise<void> {
  await unmountUnder(dir);
  for (const name of await netns()) {
    if (!before.netns.has(name)) await runQuietly('ip', ['netns', 'delete', name]);
  }
  await removeNewChains(before);
  for (const cgroup of await kubepodsCgroups()) {
    if (!before.cgroups.has(cgroup)) await runQuietly('find', [cgroup, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', '+']);
  }
}
