/**
 * The informer behind MountPolicyTable: lists MountPolicies in every namespace,
 * then watches them. A failed list or a broken watch marks the table unsynced
 * (no host path is admitted meanwhile) and is retried after a pause, with a
 * new list before the table is synced again.
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

export function watchMountPolicies({ k8s, config }: Cluster, table: MountPolicyTable, logger: Logger, restartDelayMs = RESTART_DELAY_MS): MountPolicyWatch {
  const api = config.makeApiClient(k8s.CustomObjectsApi);
  const path = `/apis/${MOUNT_POLICY_GROUP}/${MOUNT_POLICY_VERSION}/${MOUNT_POLICY_RESOURCE}`;
  const list = async (): Promise<KubernetesListObject<MountPolicyObject>> => {
    const answer: unknown = await api.listClusterCustomObject({ group: MOUNT_POLICY_GROUP, version: MOUNT_POLICY_VERSION, plural: MOUNT_POLICY_RESOURCE });
    const listed = asList(answer);
    // A new informer starts empty and reports no deletions: what the table holds that the list lacks was deleted meanwhile.
    const present = new Set(listed.items.map(keyOf));
    for (const entry of table.list()) if (!present.has(keyOf(entry.object))) table.remove(entry.object);
    return listed;
  };

  let stopped = false;
  let restart: NodeJS.Timeout | undefined;
  let informer: Informer<MountPolicyObject> | undefined;
  // start() resolves once the watch request is made, even when that request failed and reported an
  // error first: an attempt that saw an error must not mark the table synced.
  let attempt = 0;
  let failedAttempt = -1;
  // Each attempt is a new informer, so that it lists before it watches: resuming the old watch would
  // mark the table synced before the events missed meanwhile had arrived (or, after 410 Gone, before
  // the list that replaces them), judging Pods by MountPolicies that may no longer be the ones in force.
  const begin = (): void => {
    const current = ++attempt;
    const next: Informer<MountPolicyObject> = k8s.makeInformer(config, path, list);
    const each = (handle: (object: MountPolicyObject) => void) => (object: unknown) => {
      if (current === attempt && isMountPolicyObject(object)) handle(object);
    };
    next.on('add', each((object) => table.upsert(object)));
    next.on('update', each((object) => table.upsert(object)));
    next.on('delete', each((object) => table.remove(object)));
    next.on('error', (error: unknown) => {
      if (current === attempt) onError(error);
    });
    informer = next;
    next.start().then(
      () => {
        if (stopped || failedAttempt === current || current !== attempt) return;
        table.markSynced(true);
        logger.info({ mountPolicies: table.size }, 'MountPolicy cache synced');
      },
      (error: unknown) => {
        if (current === attempt) onError(error);
      },
    );
  };
  const onError = (error: unknown): void => {
    failedAttempt = attempt;
    table.markSynced(false);
    void informer?.stop();
    if (stopped) return;
    logger.warn({ err: String(error) }, 'MountPolicy list or watch failed; Pods get no host path until it recovers');
    clearTimeout(restart);
    restart = setTimeout(begin, restartDelayMs);
  };
  begin();

  return {
    async stop() {
      stopped = true;
      clearTimeout(restart);
      await informer?.stop();
    },
  };
}

function keyOf(object: MountPolicyObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
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
