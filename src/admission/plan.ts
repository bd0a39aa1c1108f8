/**
 * Section 6 of docs/reference.md: judges the mounts a Pod's annotation asks for
 * and plans what mountgate would add. Pure; shared by mutate and validate.
 */
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { SYSTEM_MOUNT_PATHS, type CompiledPolicy } from '../policy/compile.js';
import { hostPathAllowance } from '../policy/allowance.js';
import { describeRequester, listsRequester, type Fillings } from '../policy/match.js';
import { canonicalPath, escaped, isWithin, mountPoint, quoted } from '../policy/paths.js';
import { PathIndex } from '../policy/path-index.js';
import { parseAnnotation, type LocatedRequest } from './annotation.js';
import { isInjectedName, plannedInjection, type PlannedMount } from './injection.js';
import { annotationValue, type CheckedPod } from './pod.js';
import type { RequestContext } from './placeholders.js';
import type { UserInfo } from './review.js';
import { writableRoot } from './volume-root.js';
import { hasViolations, violation, type Violation, type Violations } from './violation.js';

/**
 * The most volume mounts one patch may add (requests x target containers). A
 * Pod of 3 MiB can list 200 000 containers; mounting three paths into each
 * would answer a 3 MiB review with a 57 MiB patch, seconds of CPU and hundreds
 * of MiB of memory, for a Pod no API server would store anyway.
 */
export const MAX_INJECTED_MOUNTS = 10_000;

export interface MountPlan {
  /** Indices into spec.containers of the containers that receive the mounts. */
  readonly targets: readonly number[];
  readonly volumes: readonly V1Volume[];
  readonly mounts: readonly V1VolumeMount[];
}

export type PlanResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'denied'; readonly violations: Violations; readonly warnings: readonly string[] }
  | { readonly kind: 'planned'; readonly plan: MountPlan; readonly warnings: readonly string[] };

export function annotationField(policy: CompiledPolicy): string {
  return `metadata.annotations[${policy.annotation}]`;
}

/** `fillings` are requestFillings of the same Pod and request, made once by the caller, which judges host path volumes with them too. */
export function planMounts(pod: CheckedPod, policy: CompiledPolicy, request: RequestContext, fillings: Fillings): PlanResult {
  const value = annotationValue(pod, policy.annotation);
  if (value === undefined) return { kind: 'none' };

  const field = annotationField(policy);
  const parsed = parseAnnotation(value, field);
  const violations: Violation[] = [...parsed.violations];
  const warnings: string[] = [];

  const requesterProblem = checkRequester(policy, request.userInfo);
  if (requesterProblem) violations.push(requesterProblem);

  const targets = targetContainers(pod, policy);
  if (targets.length === 0 && parsed.requests.length > 0) {
    violations.push(
      violation(
        'no-target-container',
        'spec.containers',
        policy.targetContainers === undefined
          ? 'the Pod has no containers to mount into'
          : `the Pod has no container named ${[...policy.targetContainers].map((name) => `"${name}"`).join(' or ')} to mount into`,
      ),
    );
  }

  // With nothing requestable, one violation says so instead of one per entry.
  const disabled = parsed.requests.length > 0 && policy.spec.allowedHostPaths.length === 0;
  if (disabled) violations.push(violation('host-mounts-disabled', field, 'host mounts are disabled by policy (allowedHostPaths is empty)'));

  const occupied = occupiedMountPaths(pod, targets);
  const accepted: LocatedMount[] = [];
  for (const located of disabled ? [] : parsed.requests) {
    const mount = judgeRequest(located, field, policy, fillings, occupied, violations);
    // Spelled out: V8 copies `{ ...mount, entry }` (a spread, then a new key) on a slow path, ~1 µs each.
    // Each volume is the requested path until volumeRoot roots it (below).
    if (mount) accepted.push({ hostPath: mount.hostPath, mountPath: mount.mountPath, readOnly: mount.readOnly, root: mount.hostPath, entry: located });
  }

  const merged = new Map<string, (typeof accepted)[number]>();
  for (const mount of accepted) {
    const earlier = merged.get(mount.mountPath);
    if (earlier === undefined) {
      merged.set(mount.mountPath, mount);
    } else if (earlier.hostPath === mount.hostPath && earlier.readOnly === mount.readOnly) {
      warnings.push(
        `${field}[${mount.entry.index}] repeats entry [${earlier.entry.index}] (${escaped(mount.hostPath)} at ${escaped(mount.mountPath)}); merged into one mount`,
      );
    } else {
      violations.push(
        violation(
          'mount-path-conflict',
          `${field}[${mount.entry.index}].${mount.entry.keys.mountPath}`,
          `${quoted(mount.mountPath)} is also requested by entry [${earlier.entry.index}] with a different hostPath or readOnly`,
        ),
      );
    }
  }

  if (merged.size > policy.maxMounts) {
    const of = policy.maxMountsLayer === undefined ? '' : ` of ${policy.maxMountsLayer}`;
    violations.push(violation('max-mounts', field, `asks for ${merged.size} mounts, more than maxMounts (${policy.maxMounts})${of}`));
  } else if (merged.size * targets.length > MAX_INJECTED_MOUNTS) {
    violations.push(
      violation(
        'too-many-injected-mounts',
        'spec.containers',
        `${merged.size} mounts into each of ${targets.length} containers is more than the ${MAX_INJECTED_MOUNTS} mounts mountgate adds to one Pod`,
      ),
    );
  }

  if (hasViolations(violations)) return { kind: 'denied', violations, warnings };
  const requested = [...merged.values()];
  const planned = policy.rootAtWritableAncestor ? rooted(requested, policy, fillings) : requested;
  const injection = plannedInjection(planned, policy.hostPathType);
  const collisions = volumeNameCollisions(injection.volumes, planned, field);
  if (hasViolations(collisions)) return { kind: 'denied', violations: collisions, warnings };
  return { kind: 'planned', plan: { targets, ...injection }, warnings };
}

type LocatedMount = PlannedMount & { readonly entry: LocatedRequest };

/**
 * A volume name keeps 48 bits of its path's hash, so two paths can share one, though only a search for
 * such a pair finds it. The Pod could not carry both volumes, and one volume found in it would stand for
 * both requests: refused, naming each later root whose name an earlier one has.
 */
function volumeNameCollisions(volumes: readonly V1Volume[], planned: readonly LocatedMount[], field: string): Violation[] {
  if (new Set(volumes.map((volume) => volume.name)).size === volumes.length) return [];
  const nameOfRoot = new Map(volumes.map((volume) => [volume.hostPath?.path ?? '', volume.name]));
  const firstOfName = new Map<string, LocatedMount>();
  const reported = new Set<string>();
  const violations: Violation[] = [];
  for (const mount of planned) {
    const name = nameOfRoot.get(mount.root) ?? '';
    const first = firstOfName.get(name);
    if (first === undefined) {
      firstOfName.set(name, mount);
      continue;
    }
    if (first.root === mount.root || reported.has(mount.root)) continue;
    reported.add(mount.root);
    violations.push(
      violation(
        'volume-name-collision',
        `${field}[${mount.entry.index}].${mount.entry.keys.hostPath}`,
        `${rootedPath(mount)} would have the volume name "${name}", which ${rootedPath(first)} of entry [${first.entry.index}] has: one Pod cannot carry both, so ask for one of them`,
      ),
    );
  }
  return violations;
}

function rootedPath(mount: Pick<PlannedMount, 'hostPath' | 'root'>): string {
  return mount.root === mount.hostPath ? quoted(mount.hostPath) : `${quoted(mount.hostPath)} (mounted from ${quoted(mount.root)})`;
}

/** The mounts with their volumes rooted at writable ancestors (volume-root.ts), each distinct path looked up once. */
function rooted(mounts: readonly LocatedMount[], policy: CompiledPolicy, fillings: Fillings): LocatedMount[] {
  const roots = new Map<string, string>();
  return mounts.map((mount) => {
    let root = roots.get(mount.hostPath);
    if (root === undefined) {
      root = writableRoot(mount.hostPath, policy, fillings);
      roots.set(mount.hostPath, root);
    }
    return { hostPath: mount.hostPath, mountPath: mount.mountPath, readOnly: mount.readOnly, root, entry: mount.entry };
  });
}

function checkRequester(policy: CompiledPolicy, user: UserInfo | undefined): Violation | undefined {
  if (policy.requesters === undefined || listsRequester(policy.requesters, user)) return undefined;
  return violation('requester-not-allowed', 'request.userInfo', `${describeRequester(user)} may not request host mounts (not in requesters)`);
}

function targetContainers(pod: CheckedPod, policy: CompiledPolicy): number[] {
  const targets: number[] = [];
  pod.spec.containers.forEach((container, index) => {
    if (policy.targetContainers === undefined || policy.targetContainers.has(container.name)) targets.push(index);
  });
  return targets;
}

/**
 * Mounts already in the target containers (path to container name), mountgate's
 * own set aside so a re-review does not trip on them; a path that is not
 * canonical is filed where the runtime mounts it, lexically resolved. Indexed, because a
 * hostile Pod can pair tens of thousands of mounts with a thousand requests.
 */
function occupiedMountPaths(pod: CheckedPod, targets: readonly number[]): PathIndex<string> {
  const occupied = new PathIndex<string>();
  for (const index of targets) {
    const container = pod.spec.containers[index];
    for (const mount of container?.volumeMounts ?? []) {
      if (container === undefined || isInjectedName(mount.name)) continue;
      // Filed where it is mounted, not as written: a request inside "/mnt//x" would go unseen.
      occupied.add(mountPoint(mount.mountPath), container.name);
    }
  }
  return occupied;
}

/** One entry against every per-entry rule; its violations are appended in a fixed order. */
function judgeRequest(
  located: LocatedRequest,
  field: string,
  policy: CompiledPolicy,
  fillings: Fillings,
  occupied: PathIndex<string>,
  violations: Violation[],
): Omit<PlannedMount, 'root'> | undefined {
  const { request, keys, index } = located;
  const entryField = `${field}[${index}]`;
  const before = violations.length;

  const host = canonicalPath(request.hostPath);
  let readOnly = request.readOnly;
  let hostPath: string | undefined;
  if (!host.ok) {
    violations.push(violation('invalid-path', `${entryField}.${keys.hostPath}`, `${quoted(request.hostPath)} ${host.problem}`));
  } else {
    hostPath = host.path;
    const allowance = hostPathAllowance(policy, 'requestable', host.path, fillings);
    if (!allowance.allowed) {
      violations.push(
        violation('host-path-not-allowed', `${entryField}.${keys.hostPath}`, `${quoted(host.path)} is not under any allowed host path${allowance.of}${allowance.note}`),
      );
    } else if (allowance.readOnly !== undefined && request.readOnly === false) {
      const { pathPrefix, of, below } = allowance.readOnly;
      violations.push(
        violation(
          'read-only-required',
          `${entryField}.${keys.readOnly}`,
          below
            ? `${quoted(host.path)} holds the read-only prefix "${pathPrefix}"${of} and must be mounted read-only`
            : `${quoted(host.path)} is under the read-only prefix "${pathPrefix}"${of} and must be mounted read-only`,
        ),
      );
    } else {
      readOnly ??= allowance.readOnly !== undefined;
    }
  }

  const target = canonicalPath(request.mountPath);
  const mountField = `${entryField}.${keys.mountPath}`;
  if (!target.ok) {
    violations.push(violation('invalid-path', mountField, `${quoted(request.mountPath)} ${target.problem}`));
  } else {
    const problem = targetProblem(target.path, mountField, policy, occupied);
    if (problem) violations.push(problem);
  }

  if (violations.length > before || hostPath === undefined || !target.ok) return undefined;
  return { hostPath, mountPath: target.path, readOnly: readOnly ?? false };
}

function targetProblem(mountPath: string, field: string, policy: CompiledPolicy, occupied: PathIndex<string>): Violation | undefined {
  if (mountPath === '/') return violation('system-mount-path', field, '"/" cannot be a mount target');
  const forbidden = policy.forbiddenTargets.find((reserved) => isWithin(mountPath, reserved));
  if (forbidden !== undefined) {
    // The same words for both; the rule says whether the policy or the system reserved the path.
    const rule = SYSTEM_MOUNT_PATHS.includes(forbidden) ? 'system-mount-path' : 'reserved-mount-path';
    const layer = policy.reservedBy.get(forbidden);
    return violation(rule, field, `${quoted(mountPath)} is inside the reserved path "${forbidden}"${layer === undefined ? '' : ` of ${layer}`}`);
  }
  const taken = occupied.covering(mountPath);
  if (taken !== undefined) {
    return violation('mount-path-in-use', field, `${quoted(mountPath)} is inside ${quoted(taken.path)}, already mounted in container "${taken.value}"`);
  }
  return undefined;
}
