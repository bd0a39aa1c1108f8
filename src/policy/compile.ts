/**
 * A validated policy turned into the lookup structures the decision needs, so
 * that nothing is sorted or rebuilt per request.
 */
import type { HostPathType, PathPrefixEntry, Policy } from './schema.js';
import { sortLongestFirst } from './paths.js';

/** Targets no request may mount over, whatever the policy says. */
export const SYSTEM_MOUNT_PATHS: readonly string[] = ['/proc', '/sys', '/dev'];

export interface CompiledPolicy {
  readonly spec: Policy;
  readonly annotation: string;
  /** allowedHostPaths, longest prefix first: what the annotation may request. */
  readonly requestable: readonly PathPrefixEntry[];
  /** allowedHostPaths and builtinHostPaths, longest prefix first: what a Pod may carry. */
  readonly carriable: readonly PathPrefixEntry[];
  /** System and reserved targets. */
  readonly forbiddenTargets: readonly string[];
  readonly maxMounts: number;
  readonly hostPathType: HostPathType;
  /** Names of the containers that receive mounts; undefined means every container. */
  readonly targetContainers: ReadonlySet<string> | undefined;
  /** Who may ask; undefined means anyone. */
  readonly requesters: ReadonlySet<string> | undefined;
}

export function compilePolicy(spec: Policy): CompiledPolicy {
  return {
    spec,
    annotation: spec.annotation,
    requestable: sortLongestFirst(spec.allowedHostPaths),
    carriable: sortLongestFirst([...spec.allowedHostPaths, ...spec.builtinHostPaths]),
    forbiddenTargets: [...SYSTEM_MOUNT_PATHS, ...spec.reservedMountPaths],
    maxMounts: spec.maxMounts,
    hostPathType: spec.hostPathType,
    targetContainers: spec.containers.length > 0 ? new Set(spec.containers) : undefined,
    requesters: spec.requesters.length > 0 ? new Set(spec.requesters) : undefined,
  };
}
