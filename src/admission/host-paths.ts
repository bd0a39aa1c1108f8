/**
 * The last rule of section 8: every hostPath volume of a Pod, however it got
 * there, must lie inside allowedHostPaths or builtinHostPaths (with
 * handWrittenHostPaths: builtin, one not named `mountgate-` inside
 * builtinHostPaths), and must not be mounted read-write by any container
 * where the deciding entry is read-only or a read-only entry lies below it
 * (a subPath could reach it). A `mountgate-` volume is tied to the
 * annotation by the injection rules (see reconcile and annotation-update).
 *
 * Read-only is also about what the node itself writes, as root, before it
 * mounts anything, whatever the mount's readOnly says: the kubelet creates a
 * missing DirectoryOrCreate or FileOrCreate path and a missing subPath
 * (subPathExpr included) inside the volume, and the container runtime a
 * missing path without a type. None of it is allowed in a read-only host
 * path; a subdirectory can be mounted as a volume of its own instead.
 * Mount points inside a read-only host mount are judged in mount-points.ts.
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { clusterLayerName, type ReadOnlyReason } from '../policy/allowance.js';
import type { Fillings } from '../policy/match.js';
import { canonicalPath, quoted } from '../policy/paths.js';
import { isInjectedName } from './injection.js';
import { madeReadOnly, mountPointsInReadOnlyMounts, type ReadOnlyVolume } from './mount-points.js';
import { allMounts, mountField, volumesOf, type AnyContainer, type CheckedPod, type ContainerList } from './pod.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';
import { hostPathVolumeAllowance } from './volume-allowance.js';

/**
 * The hostPath types under which nothing creates a missing path: with any other the kubelet creates it
 * (DirectoryOrCreate, FileOrCreate), and with none at all the container runtime does (containerd and
 * CRI-O make a missing bind-mount source a directory).
 */
export const NON_CREATING_TYPES: readonly string[] = ['Directory', 'File', 'Socket', 'CharDevice', 'BlockDevice'];

/** Written only for a violation: most volumes break no rule. */
function pathField(index: number): string {
  return `spec.volumes[${index}].hostPath.path`;
}

/** Why a mount of a read-only volume breaks a rule, for its violation. */
function insideReadOnly(readOnly: ReadOnlyReason): string {
  return `"${readOnly.pathPrefix}"${readOnly.of}${readOnly.below ? ' inside it' : ''} is read-only`;
}

/**
 * `fillings` are requestFillings of the Pod and its request. `atCreation`: the Pod is being created; what
 * the kubelet would create is judged only then, as no later update can add a volume or a subPath.
 * `earlierEphemeral`, on an update of ephemeral containers: the names of those the Pod had before; the
 * mount points of the others, which the update adds, are judged (at creation, every container's are).
 * Violations come in the backstop's order (src/backstop/policy.ts): volumes outside the lists, read-write
 * mounts, volume types, subPaths; each kind in spec order; then mount points, which the backstop does not judge.
 */
export function checkHostPathVolumes(
  pod: CheckedPod,
  policy: CompiledPolicy,
  fillings: Fillings,
  atCreation: boolean,
  earlierEphemeral?: ReadonlySet<string>,
): Violation[] {
  const violations: Violation[] = [];
  const readOnlyVolumes = new Map<string, ReadOnlyVolume>();
  const creatingTypes: Violation[] = [];
  const createdByType = new NamedThenCounted(creatingTypes);
  // Under hostPathType: DirectoryOrCreate the admin has mountgate's own volumes created (section 7), with that type only.
  const injectedMayCreate = policy.hostPathType === 'DirectoryOrCreate';

  volumesOf(pod).forEach((volume, index) => {
    if (volume.hostPath === undefined || volume.hostPath === null) return;
    const raw = volume.hostPath.path;
    const path = canonicalPath(raw);
    if (!path.ok) {
      violations.push(violation('invalid-path', pathField(index), `${quoted(raw)} ${path.problem}`));
      return;
    }
    const injected = isInjectedName(volume.name);
    const handWritten = injected ? undefined : policy.handWritten;
    const allowance = hostPathVolumeAllowance(policy, volume.name, path.path, fillings);
    if (!allowance.allowed) {
      // The cluster layer has built-ins (only those, for a hand-written volume under builtin); a MountPolicy has only its allowedHostPaths.
      const byCluster = allowance.of === '' || allowance.of === clusterLayerName(policy);
      const what = !byCluster ? 'allowed host path' : handWritten === undefined ? 'allowed or built-in host path' : 'built-in host path';
      violations.push(violation('host-path-volume-not-allowed', pathField(index), `${quoted(path.path)} is not under any ${what}${allowance.of}${allowance.note}`));
      return;
    }
    // Spelled out: V8 copies `{ key, ...object }` on a slow path, once per read-only volume of every Pod.
    const readOnly = allowance.readOnly;
    if (readOnly !== undefined) readOnlyVolumes.set(volume.name, { path: path.path, pathPrefix: readOnly.pathPrefix, of: readOnly.of, below: readOnly.below });
    const over = allowance.readOnlyOver;
    const type = volume.hostPath.type ?? '';
    if (atCreation && over !== undefined && !NON_CREATING_TYPES.includes(type) && !(injected && injectedMayCreate && type === 'DirectoryOrCreate')) {
      const how = type === '' ? 'is not set, so the container runtime creates' : `${JSON.stringify(type)} has the kubelet create`;
      createdByType.add(() =>
        violation(
          'host-path-volume-creates',
          `spec.volumes[${index}].hostPath.type`,
          `${how} ${quoted(path.path)} when it is missing, but "${over.pathPrefix}"${over.of} is read-only; use ${type === 'FileOrCreate' ? 'File' : 'Directory'}`,
        ),
      );
    }
  });
  createdByType.close((count) => violation('host-path-volume-creates', 'spec.volumes', `${count} more hostPath volumes in read-only host paths would be created when missing`));

  // A hostile Pod can mount a read-only volume read-write tens of thousands of times.
  const subPaths: Violation[] = [];
  const readWrite = new NamedThenCounted(violations);
  const withSubPath = new NamedThenCounted(subPaths);
  for (const visit of readOnlyVolumes.size === 0 ? [] : allMounts(pod)) {
    const readOnly = readOnlyVolumes.get(visit.mount.name);
    if (readOnly === undefined) continue;
    const subPathKey = visit.mount.subPathExpr ? 'subPathExpr' : visit.mount.subPath ? 'subPath' : undefined;
    if (atCreation && subPathKey !== undefined) {
      withSubPath.add(() =>
        violation(
          'host-path-volume-creates',
          `${mountField(visit)}.${subPathKey}`,
          `container "${visit.container.name}" mounts ${quoted(readOnly.path)} with ${subPathKey} ${quoted(visit.mount[subPathKey] ?? '')}, which the kubelet creates when it is missing, ` +
            `but ${insideReadOnly(readOnly)}; mount the subdirectory as a hostPath volume of its own`,
        ),
      );
    }
    if (visit.mount.readOnly === true) continue;
    readWrite.add(() => violation('host-path-volume-read-write', mountField(visit), `container "${visit.container.name}" mounts ${quoted(readOnly.path)} read-write, but ${insideReadOnly(readOnly)}`));
  }
  readWrite.close((count) => violation('host-path-volume-read-write', 'spec', `${count} more mounts of read-only host paths are read-write`));
  withSubPath.close((count) => violation('host-path-volume-creates', 'spec', `${count} more mounts of read-only host paths have a subPath or subPathExpr`));
  const judged = (list: ContainerList, container: AnyContainer): boolean =>
    atCreation || (earlierEphemeral !== undefined && list === 'ephemeralContainers' && !earlierEphemeral.has(container.name));
  const mountPoints = readOnlyVolumes.size === 0 ? [] : mountPointsInReadOnlyMounts(pod, readOnlyVolumes, judged, madeReadOnly(policy, fillings));
  return creatingTypes.length === 0 && subPaths.length === 0 && mountPoints.length === 0 ? violations : [...violations, ...creatingTypes, ...subPaths, ...mountPoints];
}
