/**
 * A real single-node Kubernetes on this machine, started and stopped by the suite: etcd,
 * kube-apiserver (test/e2e/controlplane.ts), kube-controller-manager, kube-scheduler, kube-proxy,
 * containerd + runc, the bridge CNI network and a kubelet, node name `localhost`. Everything lives
 * in one temporary folder; everything listens on 127.0.0.1, except the API server and the DNS
 * responder, which listen on the Pod network's gateway (an address of this machine, on a bridge
 * nothing else is attached to). Needs root.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { controlPlaneBinaries, startLocalControlPlane, type LocalControlPlane } from '../e2e/controlplane.js';
import { Cleanups, sleep, waitFor, type Proc } from '../e2e/processes.js';
import { runQuietly } from './commands.js';
import { removeLeftovers, snapshotHost } from './leftovers.js';
import {
  IDENTITIES,
  NODE_NAME,
  kubeProxyCleanupArgs,
  startControllerManager,
  startKubeProxy,
  startKubelet,
  startScheduler,
} from './components.js';
import { startContainerd } from './containerd.js';
import { startClusterDns } from './dns.js';
import { GATEWAY, createBridge } from './network.js';

export interface NodeCluster {
  readonly cp: LocalControlPlane;
  readonly core: CoreV1Api;
  /** The suite's temporary folder (also the parent of the host directories Pods mount). */
  readonly dir: string;
  stop(): Promise<void>;
}

const NODE_READY_TIMEOUT_MS = 180_000;
const PODS_GONE_TIMEOUT_MS = 90_000;

function nodeReady(node: V1Node): boolean {
  const readyCondition = node.status?.conditions?.find((c) => c.type === 'Ready');
  // The node lifecycle controller lifts the not-ready taint; until then nothing is scheduled.
  return readyCondition?.status === 'True' && (node.spec?.taints ?? []).length === 0;
}

export async function startNodeCluster(imageArchives: readonly string[]): Promise<NodeCluster> {
  const binDir = await controlPlaneBinaries(true);
  // Short: containerd's socket path must stay under 108 bytes.
  const dir = await mkdtemp(path.join(tmpdir(), 'mg-node-'));
  const hostBefore = await snapshotHost();
  const cleanups = new Cleanups(`stopping the node (logs in ${dir})`);
  const procs: Proc[] = [];
  const stop = (): Promise<void> => cleanups.run();
  cleanups.push(async () => {
    await removeLeftovers(dir, hostBefore);
    if (process.env.MOUNTGATE_NODE_KEEP !== '1') await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  try {
    cleanups.push(await createBridge());

    const containerd = await startContainerd(dir);
    procs.push(containerd.proc);
    cleanups.push(() => containerd.stop());
    for (const archive of imageArchives) await containerd.importImage(archive);

    const cp = await startLocalControlPlane({
      address: GATEWAY,
      authorizationModes: ['Node', 'RBAC'],
      identities: Object.values(IDENTITIES),
      disabledAdmissionPlugins: [],
      binDir,
    });
    cleanups.push(() => cp.stop());
    const core = cp.admin.makeApiClient(CoreV1Api);

    const proxy = await startKubeProxy(cp, binDir, dir);
    procs.push(proxy);
    cleanups.push(async () => {
      await proxy.stop();
      const [command, args] = kubeProxyCleanupArgs(binDir);
      await runQuietly(command, args);
    });
    const controllerManager = await startControllerManager(cp, binDir, dir);
    const scheduler = await startScheduler(cp, binDir, dir);
    procs.push(controllerManager, scheduler);
    cleanups.push(async () => {
      await scheduler.stop();
      await controllerManager.stop();
    });

    const dns = await startClusterDns(core, GATEWAY);
    cleanups.push(() => dns.stop());

    const kubelet = await startKubelet(cp, binDir, dir, { runtimeEndpoint: containerd.endpoint, dnsServer: dns.address });
    procs.push(kubelet);
    cleanups.push(async () => {
      // Pods first, so that the kubelet stops their containers and tears down their networks;
      // without the controllers and the scheduler, nothing replaces them.
      await scheduler.stop();
      await controllerManager.stop();
      if (kubelet.exited === undefined) {
        for (const namespace of (await core.listNamespace()).items) {
          const name = namespace.metadata?.name;
          if (name !== undefined) await core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 });
        }
        const deadline = Date.now() + PODS_GONE_TIMEOUT_MS;
        while (Date.now() < deadline && (await containerd.tasks()).length > 0) await sleep(500);
      }
      await kubelet.stop();
    });

    await waitFor(`node ${NODE_NAME} Ready and untainted`, procs, NODE_READY_TIMEOUT_MS, async () =>
      nodeReady(await core.readNode({ name: NODE_NAME })),
    );
    return { cp, core, dir, stop };
  } catch (error) {
    return await cleanups.abandon('starting the node', error);
  }
}
