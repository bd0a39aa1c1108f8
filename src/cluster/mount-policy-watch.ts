/**
 * Keeps MountPolicyTable in step with the MountPolicies of every namespace, on the
 * list and watch loop of src/cluster/list-watch.ts. The table is synced only once a
 * list has been applied; any failure (a list or watch refused, a connection cut, a
 * watch gone silent, a request past its deadline) marks it unsynced, so no host path is
 * admitted until the next list has replaced what it held, or, after a watch answered 429
 * Too Many Requests, until the watch sent again from its last resourceVersion is answered.
 */
import type { Logger } from 'pino';
import { MOUNT_POLICY_GROUP, MOUNT_POLICY_RESOURCE, MOUNT_POLICY_VERSION } from '../policy/mount-policy.js';
import { startListWatch, type ListWatchOptions } from './list-watch.js';
import { isMountPolicyObject, keptOf, type MountPolicyObject, type MountPolicyTable } from './mount-policy-cache.js';

export interface MountPolicyWatchOptions {
  readonly retryDelayMs?: number;
  readonly watchTimeoutSeconds?: number;
  readonly watchGraceMs?: number;
  /** A list page, or a watch until its headers, not done in this (credential lookup and connection included) has failed. */
  readonly requestTimeoutMs?: number;
}

/**
 * A watch that went silent (a connection dropped without a reset, as behind some NATs and
 * load balancers) is noticed after timeout + grace: 110 s. Pods asking for host paths are
 * refused from then until the re-list, so it is kept short; resuming a watch each 50 s costs
 * one request.
 */
const DEFAULTS = { retryDelayMs: 2_000, watchTimeoutSeconds: 50, watchGraceMs: 60_000 };

/**
 * Objects per list page. The admission webhook bounds a spec (MAX_SPEC_BYTES), but not metadata (annotations up to
 * 256 KiB) nor what was stored past it, and a page over the 64 MiB list-watch reads fails every list for good. etcd
 * stores no object over 1.5 MiB by default, so 32 of them (48 MiB) always fit; at the spec bound a page is some 2 MiB.
 */
export const MOUNT_POLICY_PAGE_SIZE = 32;

export interface MountPolicyWatch {
  stop(): Promise<void>;
}

export function watchMountPolicies(config: ListWatchOptions<MountPolicyObject>['config'], table: MountPolicyTable, logger: Logger, options: MountPolicyWatchOptions = {}): MountPolicyWatch {
  const watch = startListWatch<MountPolicyObject>({
    config,
    path: `/apis/${MOUNT_POLICY_GROUP}/${MOUNT_POLICY_VERSION}/${MOUNT_POLICY_RESOURCE}`,
    decode: (value) => (isMountPolicyObject(value) ? keptOf(value) : undefined),
    table,
    retryDelayMs: options.retryDelayMs ?? DEFAULTS.retryDelayMs,
    watchTimeoutSeconds: options.watchTimeoutSeconds ?? DEFAULTS.watchTimeoutSeconds,
    watchGraceMs: options.watchGraceMs ?? DEFAULTS.watchGraceMs,
    pageSize: MOUNT_POLICY_PAGE_SIZE,
    requestTimeoutMs: options.requestTimeoutMs,
    onSyncChange: (synced) => {
      table.markSynced(synced);
      if (synced) logger.info({ mountPolicies: table.size }, 'MountPolicy cache synced');
    },
    onError: (error) => logger.warn({ err: error.message }, 'MountPolicy list or watch failed; Pods get no host path until it recovers'),
  });
  return { stop: () => watch.stop() };
}
