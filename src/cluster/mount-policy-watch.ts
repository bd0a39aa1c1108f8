/**
 * The informer behind MountPolicyTable: lists MountPolicies in every namespace,
 * then watches them. A failed list or a broken watch marks the table unsynced
 * (no host path is admitted meanwhile) and is retried after a pause.
 */
import type { Informer, KubernetesListObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { MOUNT_POLICY_GROUP, MOUNT_POLICY_RESOURCE, MOUNT_POLICY_VERSION } from '../policy/mount-policy.js';
import type { Cluster } from './kube-client.js';
import { isMountPolicyObject, type MountPolicyObject, type MountPolicyTable } from './mount-policy-cache.js';

const RESTART_DELAY_MS = 2_000;

export interface MountPolicyWatch {
  stop(): Promise<void>;
}

export function watchMountPolicies({ k8s, config }: Cluster, table: MountPolicyTable, logger: Logger): MountPolicyWatch {
  const api = config.makeApiClient(k8s.CustomObjectsApi);
  const path = `/apis/${MOUNT_POLICY_GROUP}/${MOUNT_POLICY_VERSION}/${MOUNT_POLICY_RESOURCE}`;
  const list = async (): Promise<KubernetesListObject<MountPolicyObject>> => {
    const answer: unknown = await api.listClusterCustomObject({ group: MOUNT_POLICY_GROUP, version: MOUNT_POLICY_VERSION, plural: MOUNT_POLICY_RESOURCE });
    return asList(answer);
  };
  const informer: Informer<MountPolicyObject> = k8s.makeInformer(config, path, list);
  const each = (handle: (object: MountPolicyObject) => void) => (object: unknown) => {
    if (isMountPolicyObject(object)) handle(object);
  };
  informer.on('add', each((object) => table.upsert(object)));
  informer.on('update', each((object) => table.upsert(object)));
  informer.on('delete', each((object) => table.remove(object)));

  let stopped = false;
  let restart: NodeJS.Timeout | undefined;
  // start() resolves once the watch request is made, even when that request failed and reported an
  // error first: an attempt that saw an error must not mark the table synced.
  let attempt = 0;
  let failedAttempt = -1;
  const begin = (): void => {
    const current = ++attempt;
    informer.start().then(
      () => {
        if (stopped || failedAttempt === current) return;
        table.markSynced(true);
        logger.info({ mountPolicies: table.size }, 'MountPolicy cache synced');
      },
      (error: unknown) => onError(error),
    );
  };
  const onError = (error: unknown): void => {
    failedAttempt = attempt;
    table.markSynced(false);
    if (stopped) return;
    logger.warn({ err: String(error) }, 'MountPolicy list or watch failed; Pods get no host path until it recovers');
    clearTimeout(restart);
    restart = setTimeout(begin, RESTART_DELAY_MS);
  };
  informer.on('error', onError);
  begin();

  return {
    async stop() {
      stopped = true;
      clearTimeout(restart);
      await informer.stop();
    },
  };
}

/** The list the API server answers, checked: the informer needs items and the list's resourceVersion. */
function asList(answer: unknown): KubernetesListObject<MountPolicyObject> {
  if (typeof answer !== 'object' || answer === null || !('items' in answer) || !Array.isArray(answer.items)) {
    throw new Error('the MountPolicy list has no items (is the MountPolicy CRD installed?)');
  }
  const items: unknown[] = answer.items;
  const metadata: unknown = 'metadata' in answer ? answer.metadata : undefined;
  const resourceVersion = typeof metadata === 'object' && metadata !== null && 'resourceVersion' in metadata && typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : undefined;
  return { items: items.filter(isMountPolicyObject), metadata: resourceVersion === undefined ? {} : { resourceVersion } };
}
