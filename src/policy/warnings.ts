/**
 * What a policy lets through that it may not mean to: symbolic links planted under a read-write entry.
 * `check` prints these before its verdict; `serve` logs them when it loads or reloads the policy.
 */
import type { CompiledPolicy } from './compile.js';
import { describeLinkHazards, linkHazards, type Narrowed } from './link-hazards.js';
import { requestedRootWarning } from './requested-root.js';

/** One line per warning: the requested-root line first, then one per link hazard. */
export function policyWarnings(cluster: CompiledPolicy, narrowed?: Narrowed): string[] {
  const requestedRoot = requestedRootWarning(cluster);
  return [...(requestedRoot === undefined ? [] : [requestedRoot]), ...describeLinkHazards(linkHazards(cluster, narrowed))];
}
