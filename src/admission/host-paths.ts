/**
 * The last rule of section 8: every hostPath volume of a Pod, however it got
 * there, must lie inside allowedHostPaths or builtinHostPaths (with
 * handWrittenHostPaths: builtin, one not named `mountgate-` inside
 * builtinHostPaths), and must not be mounted read-write by any container
 * where the deciding entry is read-only or a read-only entry lies below it
 * (a subPath could reach it). A `mountgate-` volume is tied to the
 * annotation by the injection rules (see reconcile and annotation-update).
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { clusterLayerName, handWrittenAllowance, hostPathAllowance, type ReadOnlyReason } from '../policy/allowance.js';
import type { Fillings } from '../policy/match.js';
import { canonicalPath } from '../policy/paths.js';
import { isInjectedName } from './injection.js';
import { allMounts, mountField, volumesOf, type CheckedPod } from './pod.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';

/** `fillings` are requestFillings of the Pod and its request. */
export function checkHostPathVolumes(pod: CheckedPod, policy: CompiledPolicy, fillings: Fillings): Violation[] {
  const violations: Violation[] = [];
  const readOnlyVolumes = new Map<string, ReadOnlyReason & { path: string }>();

  volumesOf(pod).forEach((volume, index) => {
    if (volume.hostPath === undefined || volume.hostPath === null) return;
    const field = `spec.volumes[${index}].hostPath.path`;
    const raw = volume.hostPath.path;
    const path = canonicalPath(raw);
    if (!path.ok) {
      violations.push(violation('invalid-path', field, `${JSON.stringify(raw)} ${path.problem}`));
      return;
    }
    const handWritten = isInjectedName(volume.name) ? undefined : policy.handWritten;
    const allowance =
      handWritten === undefined ? hostPathAllowance(policy, 'carriable', path.path, fillings) : handWrittenAllowance(policy, handWritten, path.path, fillings);
    if (!allowance.allowed) {
      // The cluster layer has built-ins (only those, for a hand-written volume under builtin); a MountPolicy has only its allowedHostPaths.
      const byCluster = allowance.of === '' || allowance.of === clusterLayerName(policy);
      const what = !byCluster ? 'allowed host path' : handWritten === undefined ? 'allowed or built-in host path' : 'built-in host path';
      violations.push(violation('host-path-volume-not-allowed', field, `"${path.path}" is not under any ${what}${allowance.of}${allowance.note}`));
    } else if (allowance.readOnly !== undefined) {
      readOnlyVolumes.set(volume.name, { path: path.path, ...allowance.readOnly });
    }
  });

  if (readOnlyVolumes.size === 0) return violations;
  // A hostile Pod can mount a read-only volume read-write tens of thousands of times.
  const readWrite = new NamedThenCounted(violations);
  for (const visit of allMounts(pod)) {
    const readOnly = readOnlyVolumes.get(visit.mount.name);
    if (readOnly === undefined || visit.mount.readOnly === true) continue;
    readWrite.add(() =>
      violation(
        'host-path-volume-read-write',
        mountField(visit),
        `container "${visit.container.name}" mounts "${readOnly.path}" read-write, but "${readOnly.pathPrefix}"${readOnly.of}${readOnly.below ? ' inside it' : ''} is read-only`,
      ),
    );
  }
  readWrite.close((count) => violation('host-path-volume-read-write', 'spec', `${count} more mounts of read-only host paths are read-write`));
  return violations;
}
