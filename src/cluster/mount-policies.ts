/**
 * --mount-policies as a whole: the MountPolicy cache and its list and watch, the
 * per-namespace policies Pods are judged by, and the Lease whose holder writes
 * MountPolicy status. Started by the server only when the flag is on. All of it goes
 * through the lean KubeConfig (src/cluster/kubeconfig.ts) and node:https, never the
 * generated client and its models.
 */
import type { Logger } from 'pino';
import { MOUNT_POLICY_GROUP, MOUNT_POLICY_RESOURCE, MOUNT_POLICY_VERSION } from '../policy/mount-policy.js';
import type { MountPolicyContext } from '../server/app.js';
import type { MountPolicyOptions } from '../server/index.js';
import type { LiveState } from '../server/live-state.js';
import type { Metrics } from '../server/metrics.js';
import { kubeRequest, type KubeRequestConfig } from './kube-request.js';
import { loadKubeConfig } from './kubeconfig.js';
import { LayeredPolicies } from './layered-policies.js';
import { LeaseElector } from './lease.js';
import { kubernetesLeaseStore } from './lease-store.js';
import { MountPolicyTable } from './mount-policy-cache.js';
import { watchMountPolicies } from './mount-policy-watch.js';
import { StatusWriter, type WriteStatus } from './status-writer.js';

export interface MountPolicyEnforcement extends MountPolicyContext {
  readonly table: MountPolicyTable;
  stop(): Promise<void>;
}

/** Connects (a KubeconfigError when the cluster cannot be loaded) and starts syncing in the background. */
export async function startMountPolicies(options: MountPolicyOptions, state: LiveState, metrics: Metrics, logger: Logger): Promise<MountPolicyEnforcement> {
  const config = await loadKubeConfig(options.kubeconfigPath, '--mount-policies');
  const table = new MountPolicyTable();
  table.onChange(() => {
    metrics.mountPolicyCacheSynced.set(table.synced ? 1 : 0);
    metrics.mountPolicies.set(table.size);
  });
  const layered = new LayeredPolicies(state, table);
  const writer = new StatusWriter({ table, cluster: state, write: statusWriter(config), metrics, logger });
  state.onPolicyChange(() => writer.refreshAll());

  const { namespace, name, identity } = options.lease;
  const elector = new LeaseElector(kubernetesLeaseStore(config, namespace, name), identity, {
    onHoldingChange: (holding) => {
      metrics.leaseHeld.set(holding ? 1 : 0);
      logger.info({ lease: `${namespace}/${name}`, identity }, holding ? 'holding the Lease: writing MountPolicy status' : 'no longer holding the Lease');
      writer.setHolding(holding);
    },
    onError: (error) => logger.warn({ lease: `${namespace}/${name}`, err: String(error) }, 'Lease not acquired, renewed or handed back'),
  });
  const watch = watchMountPolicies(config, table, logger);
  elector.start();

  return {
    table,
    policyFor: (podNamespace) => layered.policyFor(podNamespace),
    get everSynced() {
      return table.everSynced;
    },
    async stop() {
      // No more writes, then the Lease back (another replica takes over at once), then the watch.
      await writer.stop();
      await elector.stop();
      await watch.stop();
    },
  };
}

function statusWriter(config: KubeRequestConfig): WriteStatus {
  return async (object, status, signal) => {
    const namespace = encodeURIComponent(object.metadata?.namespace ?? '');
    const name = encodeURIComponent(object.metadata?.name ?? '');
    // The cached object's resourceVersion makes the write conditional: a 409 if it changed meanwhile.
    const path = `/apis/${MOUNT_POLICY_GROUP}/${MOUNT_POLICY_VERSION}/namespaces/${namespace}/${MOUNT_POLICY_RESOURCE}/${name}/status`;
    await kubeRequest(config, 'PUT', path, { ...object, status }, undefined, signal);
  };
}
