/**
 * The node's Kubernetes components, as processes: kube-controller-manager, kube-scheduler,
 * kube-proxy and the kubelet. Every one serves (if at all) on 127.0.0.1 only and authenticates to
 * the API server with a static token of the identity kubeadm would give it, so the API server's
 * built-in RBAC roles (and, for the kubelet, the Node authorizer) apply as on a real cluster.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LocalControlPlane, TestUser } from '../e2e/controlplane.js';
import { freePort, startProc, type Proc } from '../e2e/processes.js';
import { GATEWAY, POD_CIDR } from './network.js';

/** The node's name: the API server reaches the kubelet by it (a loopback node IP is refused). */
export const NODE_NAME = 'localhost';

export const IDENTITIES = {
  node: { name: `system:node:${NODE_NAME}`, groups: ['system:nodes'] },
  controllerManager: { name: 'system:kube-controller-manager', groups: [] },
  scheduler: { name: 'system:kube-scheduler', groups: [] },
  proxy: { name: 'system:kube-proxy', groups: [] },
} as const satisfies Record<string, TestUser>;

/** The controller manager and the scheduler: one identity, loopback serving, a single instance. */
async function controllerArgs(kubeconfig: string): Promise<string[]> {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${await freePort()}`,
    '--leader-elect=false',
  ];
}

export async function startControllerManager(cp: LocalControlPlane, binDir: string, dir: string): Promise<Proc> {
  return startProc(dir, 'kube-controller-manager', path.join(binDir, 'kube-controller-manager'), [
    ...(await controllerArgs(await cp.kubeconfigFor(IDENTITIES.controllerManager))),
    // Each controller acts as its own ServiceAccount (as kubeadm runs it), with bound tokens.
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${cp.serviceAccountKeyFile}`,
    // Published as the kube-root-ca.crt ConfigMap that Pods' service-account volumes carry.
    `--root-ca-file=${cp.caFile}`,
    `--cluster-cidr=${POD_CIDR}`,
    '--allocate-node-cidrs=false',
    '--v=1',
  ]);
}

export async function startScheduler(cp: LocalControlPlane, binDir: string, dir: string): Promise<Proc> {
  return startProc(dir, 'kube-scheduler', path.join(binDir, 'kube-scheduler'), [
    ...(await controllerArgs(await cp.kubeconfigFor(IDENTITIES.scheduler))),
    '--v=1',
  ]);
}

/**
 * kube-proxy in iptables mode: the API server and the Pods reach Services through it. Every
 * Service connection is masqueraded, so a Pod calling a Service whose endpoint is another Pod on
 * the same bridge gets its answer back through the host, with or without br_netfilter. It leaves
 * the host's conntrack settings and route_localnet alone.
 */
export async function startKubeProxy(cp: LocalControlPlane, binDir: string, dir: string): Promise<Proc> {
  const kubeconfig = await cp.kubeconfigFor(IDENTITIES.proxy);
  return startProc(dir, 'kube-proxy', path.join(binDir, 'kube-proxy'), [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${NODE_NAME}`,
    '--proxy-mode=iptables',
    `--cluster-cidr=${POD_CIDR}`,
    '--masquerade-all',
    `--bind-address=${GATEWAY}`,
    `--nodeport-addresses=${POD_CIDR}`,
    '--iptables-localhost-nodeports=false',
    `--healthz-bind-address=127.0.0.1:${await freePort()}`,
    `--metrics-bind-address=127.0.0.1:${await freePort()}`,
    '--conntrack-max-per-core=0',
    '--conntrack-tcp-timeout-established=0',
    '--conntrack-tcp-timeout-close-wait=0',
    '--v=1',
  ]);
}

/** Removes kube-proxy's iptables rules (run after it has stopped). */
export function kubeProxyCleanupArgs(binDir: string): [string, string[]] {
  return [path.join(binDir, 'kube-proxy'), ['--cleanup', '--proxy-mode=iptables']];
}

export interface KubeletOptions {
  readonly runtimeEndpoint: string;
  /** The cluster DNS server Pods get in resolv.conf. */
  readonly dnsServer: string;
}

export async function startKubelet(cp: LocalControlPlane, binDir: string, dir: string, options: KubeletOptions): Promise<Proc> {
  const kubeconfig = await cp.kubeconfigFor(IDENTITIES.node);
  const rootDir = path.join(dir, 'kubelet');
  const podLogs = path.join(dir, 'pod-logs');
  await mkdir(rootDir, { recursive: true });
  await mkdir(podLogs, { recursive: true });
  const configFile = path.join(dir, 'kubelet-config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // The API server (logs, exec, port-forward) calls the kubelet on loopback. It has no kubelet
      // client certificate, and it does not check the kubelet's self-signed one.
      address: '127.0.0.1',
      port: await freePort(),
      readOnlyPort: 0,
      healthzPort: 0,
      authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
      authorization: { mode: 'AlwaysAllow' },
      cgroupDriver: 'cgroupfs',
      containerRuntimeEndpoint: options.runtimeEndpoint,
      failSwapOn: false,
      podLogsDir: podLogs,
      resolvConf: '',
      clusterDNS: [options.dnsServer],
      clusterDomain: 'cluster.local',
      // The imported images cannot be pulled again: never garbage-collect them, never evict.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: {},
    }),
  );
  return startProc(dir, 'kubelet', path.join(binDir, 'kubelet'), [
    `--config=${configFile}`,
    `--kubeconfig=${kubeconfig}`,
    `--root-dir=${rootDir}`,
    `--hostname-override=${NODE_NAME}`,
    '--v=2',
  ]);
}
