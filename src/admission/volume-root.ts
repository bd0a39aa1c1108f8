/**
 * With volumeRoot: writableAncestor, where a request's hostPath volume is rooted.
 *
 * The kubelet follows symbolic links in a hostPath when it mounts it, so a link planted at any
 * directory of the requested path leads the mount wherever it points, the node's root included.
 * Whoever may write a directory can plant links below it; within the policy that is whoever may
 * mount it read-write. So the volume is rooted at the shortest directory above the requested path
 * that a read-write request could name, and the rest of the path becomes the mount's subPath: the
 * kubelet opens a subPath one component at a time and refuses one that leaves the volume. A link
 * below the root can then lead the mount only to another place inside it, which the same request
 * could have mounted read-write itself. Where no directory above the path could be mounted
 * read-write, nothing above it can be planted from a sandbox, and the volume is the path itself.
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { hostPathAllowance } from '../policy/allowance.js';
import type { Fillings } from '../policy/match.js';
import { quoted } from '../policy/paths.js';
import { isInjectedName } from './injection.js';
import { allMounts, isCheckedPod, mountField, volumesOf, type CheckedPod, type MountVisit } from './pod.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';

/**
 * The volume's path for a request of canonical `hostPath`: its shortest proper ancestor that the
 * annotation could request read-write (allowed, read-write, no read-only entry below it), or
 * `hostPath` itself. Such a root passes /validate as a read-write volume, so a subPath below it is
 * not a path the kubelet may not create. Ancestors with as many segments as the deepest entry of
 * any layer or more all get the answer the first of them gets (the same entries cover them, none
 * lies below), so a deep path costs no more than a shallow one.
 */
export function writableRoot(hostPath: string, policy: CompiledPolicy, fillings: Fillings): string {
  const deepest = policy.narrowing.reduce((most, layer) => Math.max(most, layer.deepestEntry), policy.deepestEntry);
  let segments = 0;
  for (let end = hostPath.indexOf('/', 1); end !== -1 && segments < deepest; end = hostPath.indexOf('/', end + 1)) {
    segments++;
    const ancestor = hostPath.slice(0, end);
    const allowance = hostPathAllowance(policy, 'requestable', ancestor, fillings);
    if (allowance.allowed && allowance.readOnly === undefined) return ancestor;
  }
  return hostPath;
}

/**
 * A mountgate volume rooted above the requested paths is mounted by the Pod's containers with a subPath, and
 * an ephemeral container cannot have one (the API server refuses it): mounting the volume would hand it the
 * whole root. So an ephemeral container added by this update may mount a mountgate volume only where a
 * container of the Pod mounts it whole. Judged by the Pod's shape, whatever volumeRoot says now (a Pod rooted
 * before a change keeps its roots); a Pod of the default shape mounts every mountgate volume whole.
 * `before` is the Pod before the update: its ephemeral containers were judged when they were added.
 */
export function ephemeralRootMounts(pod: CheckedPod, before: unknown): Violation[] {
  const earlier = earlierEphemeralNames(before);
  const whole = new Set<string>();
  const added: MountVisit[] = [];
  for (const visit of allMounts(pod)) {
    const { mount } = visit;
    if (!isInjectedName(mount.name)) continue;
    if (visit.list !== 'ephemeralContainers') {
      if (!mount.subPath && !mount.subPathExpr) whole.add(mount.name);
    } else if (!earlier.has(visit.container.name)) {
      added.push(visit);
    }
  }
  const violations: Violation[] = [];
  const named = new NamedThenCounted(violations);
  for (const visit of added) {
    const { name } = visit.mount;
    if (whole.has(name)) continue;
    const path = volumesOf(pod).find((volume) => volume.name === name)?.hostPath?.path;
    const volume = `volume "${name}"${path === undefined ? '' : ` (${quoted(path)})`}`;
    named.add(() =>
      violation(
        'injection-mismatch',
        mountField(visit),
        `ephemeral container "${visit.container.name}" mounts ${volume} whole, but the Pod's containers mount only paths below it (its volume is rooted above the requested paths, and an ephemeral container cannot have a subPath)`,
      ),
    );
  }
  named.close((count) => violation('injection-mismatch', 'spec.ephemeralContainers', `${count} more mounts of mountgate volumes by ephemeral containers`));
  return violations;
}

/** The names of the ephemeral containers the Pod had before the update; none when that Pod cannot be read (all are judged). */
export function earlierEphemeralNames(before: unknown): ReadonlySet<string> {
  if (!isCheckedPod(before)) return new Set();
  return new Set((before.spec.ephemeralContainers ?? []).map((container) => container.name));
}
