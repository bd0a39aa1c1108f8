/**
 * containerd (Debian's package) with its CRI plugin, as the node's container runtime: its own
 * root, state and socket under the suite's folder, runc with cgroupfs, the bridge CNI network, and
 * images imported from archives (no registry is reachable, and none is ever contacted).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startProc, waitFor, type Proc } from '../e2e/processes.js';
import { run, runQuietly, type Output } from './commands.js';
import { cniConfig } from './network.js';

const PAUSE_IMAGE = 'localhost/pause:node-test';

export interface Containerd {
  readonly proc: Proc;
  /** unix:// endpoint for the kubelet. */
  readonly endpoint: string;
  importImage(archive: string): Promise<void>;
  /** The ids of the tasks (running containers and sandboxes). */
  tasks(): Promise<string[]>;
  /** Kills and removes whatever the kubelet left behind, then stops containerd. */
  stop(): Promise<void>;
}

function config(dir: string, cniConfDir: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  disable_apparmor = true
  # Without CAP_SYS_RESOURCE (CI machines lack it) runc cannot give the sandbox oom_score_adj -998
  # and fails with "can't get final child's PID from pipe"; this clamps the value instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
`;
}

export async function startContainerd(parent: string): Promise<Containerd> {
  const dir = path.join(parent, 'containerd');
  const cniConfDir = path.join(parent, 'cni', 'net.d');
  await mkdir(cniConfDir, { recursive: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(cniConfDir, '10-mountgate-node.conflist'), cniConfig(path.join(parent, 'cni', 'ipam')));
  const configFile = path.join(dir, 'config.toml');
  await writeFile(configFile, config(dir, cniConfDir));
  const socket = path.join(dir, 'containerd.sock');
  const proc = await startProc(parent, 'containerd', 'containerd', ['--config', configFile]);
  await waitFor('the containerd socket', [proc], 30_000, async () => existsSync(socket));
  const ctrArgs = (args: readonly string[]): string[] => ['--address', socket, '--namespace', 'k8s.io', ...args];
  const ctr = (args: readonly string[], timeoutMs?: number): Promise<Output> => run('ctr', ctrArgs(args), timeoutMs);
  const ids = async (what: 'tasks' | 'containers'): Promise<string[]> =>
    (await ctr([what, 'ls', '--quiet'])).stdout.split('\n').filter((id) => id !== '');
  await waitFor('containerd to answer', [proc], 30_000, async () => {
    await ctr(['version']);
    return true;
  });

  return {
    proc,
    endpoint: `unix://${socket}`,
    tasks: () => ids('tasks'),
    importImage: async (archive) => {
      await ctr(['images', 'import', archive], 300_000);
    },
    stop: async () => {
      if (proc.exited === undefined) {
        for (const id of await ids('tasks')) await runQuietly('ctr', ctrArgs(['tasks', 'kill', '--signal', 'SIGKILL', id]));
        for (const id of await ids('tasks')) await runQuietly('ctr', ctrArgs(['tasks', 'delete', '--force', id]));
        for (const id of await ids('containers')) await runQuietly('ctr', ctrArgs(['containers', 'delete', id]));
      }
      await proc.stop();
    },
  };
}
