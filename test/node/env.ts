/**
 * What every node test shares: the cluster (cluster.ts) with the suite's images imported, the
 * host directories sandbox Pods may mount, and the release the admin installs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { stringify as stringifyYaml } from 'yaml';
import { REPO_ROOT } from '../e2e/controlplane.js';
import { ANNOTATION } from '../e2e/env.js';
import { Cleanups } from '../e2e/processes.js';
import { run } from './commands.js';
import { startNodeCluster, type NodeCluster } from './cluster.js';
import { unmountUnder } from './leftovers.js';

export const RELEASE = 'mountgate';
export const RELEASE_NAMESPACE = 'mountgate-system';
export const FULLNAME = 'mountgate';
export const SANDBOX_NAMESPACE = 'sandboxes';
export const MOUNTGATE_IMAGE = { repository: 'localhost/mountgate', tag: 'node-test' };
export const SANDBOX_IMAGE = 'localhost/busybox:node-test';
const IMAGES_SCRIPT = path.join(REPO_ROOT, 'test', 'node', 'tools', 'images.sh');

export interface NodeEnv {
  readonly cluster: NodeCluster;
  /** Host directories: `sandbox` (read-write prefix), `models` (read-only prefix), `outside`. */
  readonly hostRoot: string;
  /** The chart values the admin installs with (policy over hostRoot). */
  readonly valuesFile: string;
}

/**
 * Builds the images (tools/images.sh) into a temporary folder, starts the node with them
 * imported, and lays out the host directories.
 */
export async function setUpNode(): Promise<NodeEnv> {
  if (process.getuid?.() !== 0) {
    throw new Error('the node suite needs root: it runs containerd, a kubelet and kube-proxy, and makes a bridge and iptables rules');
  }
  const images = await mkdtemp(path.join(tmpdir(), 'mg-images-'));
  let cluster: NodeCluster;
  try {
    const started = Date.now();
    await run('bash', [IMAGES_SCRIPT, path.join(images, 'work'), path.join(images, 'out')], 30 * 60_000);
    console.log(`      node: images built from the Dockerfile in ${Math.round((Date.now() - started) / 1000)} s`);
    cluster = await startNodeCluster(['mountgate', 'busybox', 'pause'].map((name) => path.join(images, 'out', `${name}.tar`)));
  } finally {
    await unmountUnder(images);
    await rm(images, { recursive: true, force: true });
  }
  try {
    const hostRoot = path.join(cluster.dir, 'host');
    for (const sub of ['sandbox', 'models', 'outside']) await mkdir(path.join(hostRoot, sub), { recursive: true });
    const valuesFile = path.join(cluster.dir, 'values.yaml');
    await writeFile(
      valuesFile,
      stringifyYaml({
        image: MOUNTGATE_IMAGE,
        replicaCount: 2,
        policy: {
          allowedHostPaths: [{ pathPrefix: path.join(hostRoot, 'sandbox') }, { pathPrefix: path.join(hostRoot, 'models'), readOnly: true }],
          reservedMountPaths: ['/etc'],
        },
      }),
    );
    return { cluster, hostRoot, valuesFile };
  } catch (error) {
    const cleanups = new Cleanups('stopping the node');
    cleanups.push(() => cluster.stop());
    return await cleanups.abandon('laying out the node', error);
  }
}

export interface SandboxPodOptions {
  readonly namespace?: string;
  /** The annotation value (mount requests); none when undefined. */
  readonly mounts?: readonly Record<string, unknown>[];
  /** Run once (Never) or keep running (Always: the script should not end). */
  readonly restartPolicy?: 'Never' | 'Always';
}

/** A busybox sandbox Pod that runs `script` with /bin/sh and asks for `mounts`. */
export function sandboxPod(name: string, script: string, options: SandboxPodOptions = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: options.namespace ?? SANDBOX_NAMESPACE,
      labels: { app: 'sandbox' },
      ...(options.mounts === undefined ? {} : { annotations: { [ANNOTATION]: JSON.stringify(options.mounts) } }),
    },
    spec: {
      restartPolicy: options.restartPolicy ?? 'Never',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'sandbox', image: SANDBOX_IMAGE, imagePullPolicy: 'Never', command: ['/bin/sh', '-c', script] }],
    },
  };
}
