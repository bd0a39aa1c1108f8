/**
 * Mount points inside a read-only host mount (rule host-path-volume-creates, section 8): the container
 * runtime makes a missing mount point in the host path it lies in, as root. runc makes each read-only
 * mount read-only at once, and then fails; crun makes them read-only only after the last mount, so the
 * directory or file is made on the node. Mount points are the container's other mounts, its termination
 * message file and what the node mounts into every container; crun makes a missing working
 * directory there too, and the device node of each block device the container takes (volumeDevices).
 *
 * Most Pods nest nothing inside a hostPath mount, so each container is first asked, from its spec alone,
 * whether anything lies below such a mount; only then are host paths worked out and judged.
 */
import type { V1VolumeMount } from '@kubernetes/client-node';
import type { CompiledPolicy } from '../policy/compile.js';
import type { ReadOnlyReason } from '../policy/allowance.js';
import type { Fillings } from '../policy/match.js';
import { PathIndex, SCANNED_PATHS } from '../policy/path-index.js';
import { canonicalPath, escaped, mountPoint, quoted } from '../policy/paths.js';
import { isRecord } from '../policy/json-object.js';
import { CONTAINER_LISTS, mountField, volumesOf, type AnyContainer, type CheckedPod, type ContainerList } from './pod.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';
import { hostPathVolumeAllowance } from './volume-allowance.js';

/**
 * What the node mounts into every container: the kubelet /etc/hosts, the container runtime /etc/hostname,
 * /etc/resolv.conf and the Pod's shared memory at /dev/shm (containerd mounts it after the container's own mounts,
 * so inside a hostPath mounted at /dev, where it leaves out its other mounts below /dev).
 */
export const NODE_MOUNT_POINTS: readonly string[] = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev/shm'];

/** Where the kubelet mounts a container's termination message file when terminationMessagePath is not set (the API server sets it). */
const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

const SLASH = 0x2f;

/**
 * Read-only host mounts stacked at one place that are judged one by one for each mount point inside them: a
 * hostile Pod could stack thousands (as "/m", "/m/", "//m", each with a subPath of its own) around thousands of
 * mount points. A mount point inside more than these is refused as it is.
 */
export const JUDGED_STACK = 8;

/** A hostPath volume that is read-only or holds a read-only entry below its path; `path` is its canonical host path. */
export type ReadOnlyVolume = ReadOnlyReason & { readonly path: string };

/**
 * Why a host path the container runtime would make inside the volume `volumeName` is read-only (the entry over
 * it, as for a DirectoryOrCreate volume of that path written as that volume is), or undefined where it may be made.
 */
export function madeReadOnly(policy: CompiledPolicy, fillings: Fillings): (made: string, volumeName: string) => ReadOnlyReason | undefined {
  return (made, volumeName) => {
    const canonical = canonicalPath(made);
    // Not a path the lists can judge: refused. The reason is shown in quotes, so escaped as every path of a message is.
    if (!canonical.ok) return { pathPrefix: escaped(made), of: '', below: false };
    const allowance = hostPathVolumeAllowance(policy, volumeName, canonical.path, fillings);
    return allowance.allowed ? allowance.readOnlyOver : { pathPrefix: escaped(canonical.path), of: allowance.of, below: false };
  };
}

/**
 * For /mutate, on the Pod it would answer with: the mount points of every container that the container
 * runtime would make inside a read-only host mount, as /validate finds them at creation. Nested requests
 * (a read-write one inside a read-only one) are refused there, not answered with a patch /validate refuses.
 */
export function mountPointsAtCreation(pod: CheckedPod, policy: CompiledPolicy, fillings: Fillings): Violation[] {
  const hostPathVolumes = new Set<string>();
  for (const volume of volumesOf(pod)) {
    if (volume.hostPath !== undefined && volume.hostPath !== null) hostPathVolumes.add(volume.name);
  }
  if (hostPathVolumes.size === 0 || !anyContainerNests(pod, hostPathVolumes)) return [];
  const readOnlyVolumes = new Map<string, ReadOnlyVolume>();
  for (const volume of volumesOf(pod)) {
    if (volume.hostPath === undefined || volume.hostPath === null) continue;
    const path = canonicalPath(volume.hostPath.path);
    if (!path.ok) continue;
    const allowance = hostPathVolumeAllowance(policy, volume.name, path.path, fillings);
    const readOnly = allowance.allowed ? allowance.readOnly : undefined;
    if (readOnly !== undefined) readOnlyVolumes.set(volume.name, { path: path.path, pathPrefix: readOnly.pathPrefix, of: readOnly.of, below: readOnly.below });
  }
  return readOnlyVolumes.size === 0 ? [] : mountPointsInReadOnlyMounts(pod, readOnlyVolumes, () => true, madeReadOnly(policy, fillings));
}

export function parentOf(path: string): string | undefined {
  if (path === '/') return undefined;
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function terminationPathOf(container: AnyContainer): string {
  return typeof container.terminationMessagePath === 'string' ? container.terminationMessagePath : DEFAULT_TERMINATION_MESSAGE_PATH;
}

/**
 * The devicePath of each block device the container takes from a claim (volumeDevices), read defensively: the
 * container runtime makes a device node there, with its parents (crun before the read-only mounts are read-only).
 */
function devicePathsOf(container: AnyContainer): { readonly index: number; readonly name: string; readonly path: string }[] {
  const devices: unknown = (container as { volumeDevices?: unknown }).volumeDevices;
  if (!Array.isArray(devices)) return [];
  const paths: { index: number; name: string; path: string }[] = [];
  devices.forEach((device: unknown, index) => {
    if (isRecord(device) && typeof device.devicePath === 'string') paths.push({ index, name: typeof device.name === 'string' ? device.name : '', path: device.devicePath });
  });
  return paths;
}

function workingDirOf(container: AnyContainer): string | undefined {
  return typeof container.workingDir === 'string' && container.workingDir !== '' ? container.workingDir : undefined;
}

/** Whether some container mounts one of `outerVolumes` with a mount point, its termination file, a node file or its working directory below. */
function anyContainerNests(pod: CheckedPod, outerVolumes: ReadonlySet<string>): boolean {
  for (const list of CONTAINER_LISTS) {
    for (const container of pod.spec[list] ?? []) {
      const mounts: readonly V1VolumeMount[] = container.volumeMounts ?? [];
      if (!mounts.some((mount) => outerVolumes.has(mount.name))) continue;
      if (nests(container, mounts.map((mount) => mountPoint(mount.mountPath)), outerVolumes)) return true;
    }
  }
  return false;
}

/**
 * Whether anything the runtime places in `container` lies strictly below one of its mounts of `outerVolumes`
 * (`points` are its mounts' mount points, in order). A necessary condition for a violation: the closest
 * mount around such a place is then a mount, and for a violation it must be one of a read-only volume.
 */
function nests(container: AnyContainer, points: readonly string[], outerVolumes: ReadonlySet<string> | ReadonlyMap<string, unknown>): boolean {
  const mounts: readonly V1VolumeMount[] = container.volumeMounts ?? [];
  const outers: string[] = [];
  mounts.forEach((mount, mountIndex) => {
    if (outerVolumes.has(mount.name)) outers.push(points[mountIndex] ?? '/');
  });
  if (outers.length === 0) return false;
  const below = belowAny(outers);
  const workingDir = workingDirOf(container);
  return (
    points.some(below) ||
    devicePathsOf(container).some((device) => below(mountPoint(device.path))) ||
    below(mountPoint(terminationPathOf(container))) ||
    (workingDir !== undefined && below(mountPoint(workingDir))) ||
    NODE_MOUNT_POINTS.some(below)
  );
}

/** Whether a path lies strictly below one of `outers` (canonical): compared one by one when they are few, else indexed. */
export function belowAny(outers: readonly string[]): (path: string) => boolean {
  if (outers.length > SCANNED_PATHS) {
    const index = new PathIndex<undefined>();
    for (const outer of outers) index.add(outer, undefined);
    return (path) => {
      const parent = parentOf(path);
      return parent !== undefined && index.covering(parent) !== undefined;
    };
  }
  return (path) => outers.some((outer) => strictlyBelow(path, outer));
}

function strictlyBelow(path: string, outer: string): boolean {
  if (outer === '/') return path !== '/';
  return path.length > outer.length && path.charCodeAt(outer.length) === SLASH && path.startsWith(outer);
}

/**
 * Mount points the container runtime would make inside a read-only host mount of the same container: where
 * the closest mount around a mount point is one of a read-only volume (or one holding a read-only entry),
 * and the host path it would make is read-only (`madeReadOnly`: the entry over it; a read-write entry's own
 * directory inside a read-only one may be made, as a DirectoryOrCreate volume of it may). Judged for the
 * containers `judged` picks. Indexed per container, as a hostile Pod can nest tens of thousands of mounts.
 */
export function mountPointsInReadOnlyMounts(
  pod: CheckedPod,
  readOnlyVolumes: ReadonlyMap<string, ReadOnlyVolume>,
  judged: (list: ContainerList, container: AnyContainer) => boolean,
  madeReadOnly: (made: string, volumeName: string) => ReadOnlyReason | undefined,
): Violation[] {
  const violations: Violation[] = [];
  const named = new NamedThenCounted(violations);
  for (const list of CONTAINER_LISTS) {
    const containers: readonly AnyContainer[] = pod.spec[list] ?? [];
    containers.forEach((container, containerIndex) => {
      const mounts: readonly V1VolumeMount[] = container.volumeMounts ?? [];
      if (!judged(list, container) || !mounts.some((mount) => readOnlyVolumes.has(mount.name))) return;
      const points = mounts.map((mount) => mountPoint(mount.mountPath));
      if (!nests(container, points, readOnlyVolumes)) return;
      const index = new PathIndex<number>();
      // Mounts at one place ("/m" and "/m/") are stacked in an order no runtime promises (they sort mounts by depth
      // alone, not always stably), so each mount of a read-only volume there may be the one around a mount point.
      const readOnlyAt = new Map<string, number[]>();
      mounts.forEach((mount, mountIndex) => {
        const point = points[mountIndex] ?? '/';
        index.add(point, mountIndex);
        if (!readOnlyVolumes.has(mount.name)) return;
        const stacked = readOnlyAt.get(point);
        if (stacked === undefined) readOnlyAt.set(point, [mountIndex]);
        else stacked.push(mountIndex);
      });
      const field = (mountIndex: number): string => mountField({ list, containerIndex, mountIndex });
      /** The words after "container "C" ", when a closest mount around `point` is a read-only host mount. */
      const inside = (point: string, what: () => string, thing = 'the mount point'): { at: number; words: () => string } | undefined => {
        const parent = parentOf(point);
        const around = parent === undefined ? undefined : index.closest(parent);
        if (around === undefined) return undefined;
        const stacked = readOnlyAt.get(around.path) ?? [];
        if (stacked.length > JUDGED_STACK) {
          return {
            at: stacked[0] ?? around.value,
            words: () =>
              `${what()}, inside ${stacked.length} mounts of read-only host paths stacked at ${quoted(around.path)}, more than are judged one by one ` +
              `(the container runtime makes ${thing} in whichever is on top); keep mount points out of read-only host paths`,
          };
        }
        for (const at of stacked) {
          const outer = mounts[at];
          const volume = outer === undefined ? undefined : readOnlyVolumes.get(outer.name);
          if (outer === undefined || volume === undefined) continue;
          const below = outer.subPathExpr || outer.subPath;
          const made = `${volume.path}${below ? `/${below}` : ''}${around.path === '/' ? point : point.slice(around.path.length)}`;
          const over = madeReadOnly(made, outer.name);
          if (over === undefined) continue;
          return {
            at,
            words: () =>
              `${what()}, inside its mount of ${quoted(volume.path)} at ${quoted(outer.mountPath)}, so the container runtime makes ${thing} ${quoted(made)} ` +
              `when it is missing (crun makes it before it makes the mount read-only), but "${over.pathPrefix}"${over.of} is read-only; keep mount points out of read-only host paths`,
          };
        }
        return undefined;
      };
      const add = (at: string, found: { words: () => string } | undefined): void => {
        if (found !== undefined) named.add(() => violation('host-path-volume-creates', at, `container "${container.name}" ${found.words()}`));
      };
      mounts.forEach((mount, mountIndex) =>
        add(`${field(mountIndex)}.mountPath`, inside(points[mountIndex] ?? '/', () => `mounts volume "${mount.name}" at ${quoted(mount.mountPath)}`)),
      );
      for (const device of devicePathsOf(container)) {
        add(
          `spec.${list}[${containerIndex}].volumeDevices[${device.index}].devicePath`,
          inside(mountPoint(device.path), () => `has the block device of volume "${device.name}" at ${quoted(device.path)}`, 'the device node'),
        );
      }
      const termination = terminationPathOf(container);
      add(`spec.${list}[${containerIndex}].terminationMessagePath`, inside(mountPoint(termination), () => `has its termination message file mounted at ${quoted(termination)}`));
      // The runtime makes a missing working directory too, with its parents (crun before the mounts are read-only).
      const workingDir = workingDirOf(container);
      if (workingDir !== undefined) {
        const directory = mountPoint(workingDir);
        if (index.closest(directory)?.path !== directory) {
          add(`spec.${list}[${containerIndex}].workingDir`, inside(directory, () => `has its working directory at ${quoted(workingDir)}`, 'the directory'));
        }
      }
      for (const file of NODE_MOUNT_POINTS) {
        // The kubelet and the runtime leave out a file the container mounts itself.
        if (index.closest(file)?.path === file) continue;
        const found = inside(file, () => `has ${quoted(file)} mounted by the node, as every container has`);
        if (found !== undefined) add(`${field(found.at)}.mountPath`, found);
      }
    });
  }
  named.close((count) => violation('host-path-volume-creates', 'spec', `${count} more mount points inside read-only host mounts`));
  return violations;
}
