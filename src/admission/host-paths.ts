/**
 * The last rule of section 8: every hostPath volume of a Pod, however it got
 * there, must lie inside allowedHostPaths or builtinHostPaths (with
 * handWrittenHostPaths: builtin, one not named `mountgate-` inside
 * builtinHostPaths), and must not be mounted read-write by any container
 * where the deciding entry is read-only or a read-only entry lies below it
 * (a subPath could reach it). A `mountgate-` volume is tied to the
 * annotation by the injection rules (see reconcile and annotation-update).
 *
 * Read-only is also about what the kubelet itself writes, as root, before it
 * mounts anything: it creates a missing DirectoryOrCreate or FileOrCreate
 * path, and a missing subPath (subPathExpr included) inside the volume,
 * whatever the mount's readOnly says. Neither is allowed in a read-only host
 * path; a subdirectory can be mounted as a volume of its own instead.
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { clusterLayerName, handWrittenAllowance, hostPathAllowance, type ReadOnlyReason } from '../policy/allowance.js';
import type { Fillings } from '../policy/match.js';
import { canonicalPath } from '../policy/paths.js';
import { isInjectedName } from './injection.js';
import { allMounts, mountField, volumesOf, type CheckedPod } from './pod.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';

/** The hostPath types whose path the kubelet creates when missing, and the type that does not. */
const CREATED_BY_TYPE: ReadonlyMap<string, string> = new Map([
  ['DirectoryOrCreate', 'Directory'],
  ['FileOrCreate', 'File'],
]);

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
      // A mountgate- volume has the policy's hostPathType, and the injection rules hold it to what the annotation asks for.
      const type = volume.hostPath.type ?? '';
      const instead = CREATED_BY_TYPE.get(type);
      if (instead !== undefined && !allowance.readOnly.below && !isInjectedName(volume.name)) {
        const { pathPrefix, of } = allowance.readOnly;
        violations.push(
          violation(
            'host-path-volume-creates',
            `spec.volumes[${index}].hostPath.type`,
            `"${type}" has the kubelet create "${path.path}" when it is missing, but "${pathPrefix}"${of} is read-only; use ${instead}`,
          ),
        );
      }
    }
  });

  if (readOnlyVolumes.size === 0) return violations;
  // A hostile Pod can mount a read-only volume read-write tens of thousands of times.
  const readWrite = new NamedThenCounted(violations);
  const subPaths = new NamedThenCounted(violations);
  for (const visit of allMounts(pod)) {
    const readOnly = readOnlyVolumes.get(visit.mount.name);
    if (readOnly === undefined) continue;
    const subPathKey = visit.mount.subPathExpr ? 'subPathExpr' : visit.mount.subPath ? 'subPath' : undefined;
    if (subPathKey !== undefined) {
      subPaths.add(() =>
        violation(
          'host-path-volume-creates',
          `${mountField(visit)}.${subPathKey}`,
          `container "${visit.container.name}" mounts "${readOnly.path}" with ${subPathKey} ${JSON.stringify(visit.mount[subPathKey])}, which the kubelet creates when it is missing, ` +
            `but "${readOnly.pathPrefix}"${readOnly.of}${readOnly.below ? ' inside it' : ''} is read-only; mount the subdirectory as a hostPath volume of its own`,
        ),
      );
    }
    if (visit.mount.readOnly === true) continue;
    readWrite.add(() =>
      violation(
        'host-path-volume-read-write',
        mountField(visit),
        `container "${visit.container.name}" mounts "${readOnly.path}" read-write, but "${readOnly.pathPrefix}"${readOnly.of}${readOnly.below ? ' inside it' : ''} is read-only`,
      ),
    );
  }
  readWrite.close((count) => violation('host-path-volume-read-write', 'spec', `${count} more mounts of read-only host paths are read-write`));
  subPaths.close((count) => violation('host-path-volume-creates', 'spec', `${count} more mounts of read-only host paths have a subPath`));
  return violations;
}
