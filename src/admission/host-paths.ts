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
 *
 * So is a mount point inside a read-only host mount of the same container: the container runtime makes a
 * missing one in the host path. runc makes each read-only mount read-only at once, and then fails; crun makes
 * them read-only only after the last mount, so the directory or file is made on the node. Mount points are
 * the container's other mounts, its termination message file and the files the node mounts into every
 * container; crun makes a missing working directory there too.
 */
import { posix } from 'node:path';
import type { V1VolumeMount } from '@kubernetes/client-node';
import type { CompiledPolicy } from '../policy/compile.js';
import { clusterLayerName, handWrittenAllowance, hostPathAllowance, type ReadOnlyReason } from '../policy/allowance.js';
import type { Fillings } from '../policy/match.js';
import { PathIndex } from '../policy/path-index.js';
import { canonicalPath, quoted } from '../policy/paths.js';
import { isInjectedName } from './injection.js';
import { allMounts, CONTAINER_LISTS, mountField, volumesOf, type AnyContainer, type CheckedPod, type ContainerList } from './pod.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';

/**
 * The hostPath types under which nothing creates a missing path: with any other the kubelet creates it
 * (DirectoryOrCreate, FileOrCreate), and with none at all the container runtime does (containerd and
 * CRI-O make a missing bind-mount source a directory).
 */
export const NON_CREATING_TYPES: readonly string[] = ['Directory', 'File', 'Socket', 'CharDevice', 'BlockDevice'];

/** The files the node mounts into every container: the kubelet /etc/hosts, the container runtime /etc/hostname and /etc/resolv.conf. */
export const NODE_MOUNT_POINTS: readonly string[] = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

/** Where the kubelet mounts a container's termination message file when terminationMessagePath is not set (the API server sets it). */
const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

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
  const readOnlyVolumes = new Map<string, ReadOnlyReason & { path: string }>();
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
    const allowance =
      handWritten === undefined ? hostPathAllowance(policy, 'carriable', path.path, fillings) : handWrittenAllowance(policy, handWritten, path.path, fillings);
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

/** Why a host path the container runtime would make is read-only (the entry over it), or undefined where it may be made. */
function madeReadOnly(policy: CompiledPolicy, fillings: Fillings): (made: string) => ReadOnlyReason | undefined {
  return (made) => {
    const canonical = canonicalPath(made);
    if (!canonical.ok) return { pathPrefix: made, of: '', below: false };
    const allowance = hostPathAllowance(policy, 'carriable', canonical.path, fillings);
    return allowance.allowed ? allowance.readOnlyOver : { pathPrefix: canonical.path, of: allowance.of, below: false };
  };
}

/**
 * For /mutate, on the Pod it would answer with: the mount points of every container that the container
 * runtime would make inside a read-only host mount, as /validate finds them at creation. Nested requests
 * (a read-write one inside a read-only one) are refused there, not answered with a patch /validate refuses.
 */
export function mountPointsAtCreation(pod: CheckedPod, policy: CompiledPolicy, fillings: Fillings): Violation[] {
  const readOnlyVolumes = new Map<string, ReadOnlyReason & { path: string }>();
  for (const volume of volumesOf(pod)) {
    if (volume.hostPath === undefined || volume.hostPath === null) continue;
    const path = canonicalPath(volume.hostPath.path);
    if (!path.ok) continue;
    const handWritten = isInjectedName(volume.name) ? undefined : policy.handWritten;
    const allowance =
      handWritten === undefined ? hostPathAllowance(policy, 'carriable', path.path, fillings) : handWrittenAllowance(policy, handWritten, path.path, fillings);
    const readOnly = allowance.allowed ? allowance.readOnly : undefined;
    if (readOnly !== undefined) readOnlyVolumes.set(volume.name, { path: path.path, pathPrefix: readOnly.pathPrefix, of: readOnly.of, below: readOnly.below });
  }
  return readOnlyVolumes.size === 0 ? [] : mountPointsInReadOnlyMounts(pod, readOnlyVolumes, () => true, madeReadOnly(policy, fillings));
}

/** Where the runtime mounts at `mountPath`: "/mnt//x" and "/mnt/a/../x" at "/mnt/x", a relative "mnt/x" at "/mnt/x" (as plan.ts reads them). */
function mountPoint(mountPath: string): string {
  const canonical = canonicalPath(mountPath);
  return canonical.ok ? canonical.path : posix.resolve('/', mountPath);
}

function parentOf(path: string): string | undefined {
  if (path === '/') return undefined;
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/**
 * Mount points the container runtime would make inside a read-only host mount of the same container: where
 * the closest mount around a mount point is one of a read-only volume (or one holding a read-only entry),
 * and the host path it would make is read-only (`madeReadOnly`: the entry over it; a read-write entry's own
 * directory inside a read-only one may be made, as a DirectoryOrCreate volume of it may). Judged for the
 * containers `judged` picks. Indexed per container, as a hostile Pod can nest tens of thousands of mounts.
 */
function mountPointsInReadOnlyMounts(
  pod: CheckedPod,
  readOnlyVolumes: ReadonlyMap<string, ReadOnlyReason & { path: string }>,
  judged: (list: ContainerList, container: AnyContainer) => boolean,
  madeReadOnly: (made: string) => ReadOnlyReason | undefined,
): Violation[] {
  const violations: Violation[] = [];
  const named = new NamedThenCounted(violations);
  for (const list of CONTAINER_LISTS) {
    const containers: readonly AnyContainer[] = pod.spec[list] ?? [];
    containers.forEach((container, containerIndex) => {
      const mounts: readonly V1VolumeMount[] = container.volumeMounts ?? [];
      if (!judged(list, container) || !mounts.some((mount) => readOnlyVolumes.has(mount.name))) return;
      const points = mounts.map((mount) => mountPoint(mount.mountPath));
      const index = new PathIndex<number>();
      points.forEach((point, mountIndex) => index.add(point, mountIndex));
      const field = (mountIndex: number): string => mountField({ list, containerIndex, mountIndex });
      /** The words after "container "C" ", when the closest mount around `point` is a read-only host mount. */
      const inside = (point: string, what: string, thing = 'the mount point'): { at: number; words: () => string } | undefined => {
        const parent = parentOf(point);
        const around = parent === undefined ? undefined : index.closest(parent);
        const outer = around === undefined ? undefined : mounts[around.value];
        const volume = outer === undefined ? undefined : readOnlyVolumes.get(outer.name);
        if (around === undefined || outer === undefined || volume === undefined) return undefined;
        const below = outer.subPathExpr || outer.subPath;
        const made = `${volume.path}${below ? `/${below}` : ''}${around.path === '/' ? point : point.slice(around.path.length)}`;
        const over = madeReadOnly(made);
        if (over === undefined) return undefined;
        return {
          at: around.value,
          words: () =>
            `${what}, inside its mount of ${quoted(volume.path)} at ${quoted(outer.mountPath)}, so the container runtime makes ${thing} ${quoted(made)} ` +
            `when it is missing (crun makes it before it makes the mount read-only), but "${over.pathPrefix}"${over.of} is read-only; keep mount points out of read-only host paths`,
        };
      };
      const add = (at: string, found: { words: () => string } | undefined): void => {
        if (found !== undefined) named.add(() => violation('host-path-volume-creates', at, `container "${container.name}" ${found.words()}`));
      };
      mounts.forEach((mount, mountIndex) =>
        add(`${field(mountIndex)}.mountPath`, inside(points[mountIndex] ?? '/', `mounts volume "${mount.name}" at ${quoted(mount.mountPath)}`)),
      );
      const termination = typeof container.terminationMessagePath === 'string' ? container.terminationMessagePath : DEFAULT_TERMINATION_MESSAGE_PATH;
      add(`spec.${list}[${containerIndex}].terminationMessagePath`, inside(mountPoint(termination), `has its termination message file mounted at ${quoted(termination)}`));
      // The runtime makes a missing working directory too, with its parents (crun before the mounts are read-only).
      if (typeof container.workingDir === 'string' && container.workingDir !== '') {
        const directory = mountPoint(container.workingDir);
        if (index.closest(directory)?.path !== directory) {
          add(`spec.${list}[${containerIndex}].workingDir`, inside(directory, `has its working directory at ${quoted(container.workingDir)}`, 'the directory'));
        }
      }
      for (const file of NODE_MOUNT_POINTS) {
        // The kubelet and the runtime leave out a file the container mounts itself.
        if (index.closest(file)?.path === file) continue;
        const found = inside(file, `has ${quoted(file)} mounted by the node, as every container has`);
        if (found !== undefined) add(`${field(found.at)}.mountPath`, found);
      }
    });
  }
  named.close((count) => violation('host-path-volume-creates', 'spec', `${count} more mount points inside read-only host mounts`));
  return violations;
}
