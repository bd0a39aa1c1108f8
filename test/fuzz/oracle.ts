/**
 * What "admitted against the policy" means, written independently of the
 * code under test: split on "/", compare whole segments, longest prefix
 * decides (a read-only entry wins a tie). Returns the problems found; an
 * empty list means the admitted Pod is safe.
 */
import { posix } from 'node:path';
import type { Operation } from '../../src/admission/json-patch.js';

export interface PrefixEntry {
  readonly pathPrefix: string;
  readonly readOnly?: boolean;
}

export interface OraclePolicy {
  readonly allowedHostPaths: readonly PrefixEntry[];
  readonly builtinHostPaths?: readonly PrefixEntry[];
  readonly reservedMountPaths?: readonly string[];
  readonly hostPathType?: string;
}

interface Mount {
  readonly name?: unknown;
  readonly mountPath?: unknown;
  readonly readOnly?: unknown;
  readonly subPath?: unknown;
  readonly subPathExpr?: unknown;
}
interface Container {
  readonly volumeMounts?: readonly Mount[];
  readonly terminationMessagePath?: unknown;
  readonly workingDir?: unknown;
  readonly volumeDevices?: readonly { readonly devicePath?: unknown }[];
}
interface Volume {
  readonly name?: unknown;
  readonly hostPath?: { readonly path?: unknown; readonly type?: unknown } | null;
}
interface PodView {
  readonly spec?: {
    readonly volumes?: readonly Volume[];
    readonly containers?: readonly Container[];
    readonly initContainers?: readonly Container[];
    readonly ephemeralContainers?: readonly Container[];
  };
}

const SYSTEM_TARGETS = ['/proc', '/sys', '/dev'];
/** Mounted into every container by the kubelet (/etc/hosts) and the container runtime (the rest; /dev/shm after the container's own mounts). */
const NODE_FILES = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev/shm'];

export function isCanonical(path: unknown): path is string {
  if (typeof path !== 'string' || path.length === 0 || path.length > 4096 || !path.startsWith('/')) return false;
  if ([...path].some((char) => { const code = char.codePointAt(0) ?? 0; return code < 0x20 || code === 0x7f; })) return false;
  if (path === '/') return true;
  return path.slice(1).split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function segments(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function covers(prefix: string, path: string): boolean {
  const outer = segments(prefix);
  const inner = segments(path);
  return outer.length <= inner.length && outer.every((segment, index) => inner[index] === segment);
}

export function decidingEntry(entries: readonly PrefixEntry[], path: string): PrefixEntry | undefined {
  let best: PrefixEntry | undefined;
  for (const entry of entries) {
    if (!covers(entry.pathPrefix.replace(/\/$/, ''), path)) continue;
    const depth = segments(entry.pathPrefix.replace(/\/$/, '')).length;
    const bestDepth = best === undefined ? -1 : segments(best.pathPrefix.replace(/\/$/, '')).length;
    if (depth > bestDepth || (depth === bestDepth && entry.readOnly === true)) best = entry;
  }
  return best;
}

function allContainers(pod: PodView): Container[] {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])];
}

/**
 * Every hostPath volume canonical and inside the lists, read-only entries mounted read-only everywhere, nothing
 * made on the node in a read-only host path (`atCreation`: the Pod is being created, when the node makes it).
 */
export function validatedPodProblems(pod: unknown, policy: OraclePolicy, atCreation = true): string[] {
  const view = pod as PodView;
  const problems: string[] = [];
  const carriable = [...policy.allowedHostPaths, ...(policy.builtinHostPaths ?? [])];
  for (const volume of view.spec?.volumes ?? []) {
    if (volume.hostPath === undefined || volume.hostPath === null) continue;
    const written = volume.hostPath.path;
    // The contract trims one trailing "/" from a path as written; the kubelet mounts the same directory.
    const path = typeof written === 'string' && written.length > 1 && written.endsWith('/') ? written.slice(0, -1) : written;
    if (!isCanonical(path)) {
      problems.push(`hostPath ${JSON.stringify(path)} is not canonical`);
      continue;
    }
    const entry = decidingEntry(carriable, path);
    if (entry === undefined) {
      problems.push(`hostPath ${path} is outside the lists`);
      continue;
    }
    if (atCreation) problems.push(...madeOnTheNode(view, volume, path, entry, carriable, policy));
    if (entry.readOnly !== true) continue;
    for (const container of allContainers(view)) {
      for (const mount of container.volumeMounts ?? []) {
        if (mount.name === volume.name && mount.readOnly !== true) problems.push(`read-only ${path} is mounted read-write`);
      }
    }
  }
  return [...problems, ...mountPointProblems(pod, policy)];
}

/** The hostPath types under which nothing makes a missing path on the node. */
const NON_CREATING_TYPES = ['Directory', 'File', 'Socket', 'CharDevice', 'BlockDevice'];

function written(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}

/**
 * What the node would make, as root, in a read-only host path when the Pod is created: the volume's path
 * itself, under a type that creates a missing one (the kubelet for DirectoryOrCreate and FileOrCreate, the
 * container runtime for none), where the deciding entry is read-only; a subPath (or subPathExpr) of the
 * volume, which the kubelet makes inside it, where that entry or one below the path is read-only. mountgate's
 * own volumes are made DirectoryOrCreate when the admin asks for that (hostPathType: DirectoryOrCreate).
 * Entries with a placeholder are left out of "below": whether they apply depends on the request.
 */
function madeOnTheNode(view: PodView, volume: Volume, path: string, entry: PrefixEntry, carriable: readonly PrefixEntry[], policy: OraclePolicy): string[] {
  const problems: string[] = [];
  const type = typeof volume.hostPath?.type === 'string' ? volume.hostPath.type : '';
  const ownVolume = typeof volume.name === 'string' && volume.name.startsWith('mountgate-');
  const madeAsAsked = ownVolume && policy.hostPathType === 'DirectoryOrCreate' && type === 'DirectoryOrCreate';
  if (entry.readOnly === true && !NON_CREATING_TYPES.includes(type) && !madeAsAsked) problems.push(`read-only ${path} is made when missing (type ${JSON.stringify(type)})`);
  const readOnlyBelow = carriable.some((other) => {
    const prefix = other.pathPrefix.replace(/\/$/, '');
    return other.readOnly === true && !prefix.includes('{') && prefix !== path && covers(path, prefix);
  });
  if (entry.readOnly !== true && !readOnlyBelow) return problems;
  for (const container of allContainers(view)) {
    for (const mount of container.volumeMounts ?? []) {
      if (mount.name === volume.name && (written(mount.subPath) || written(mount.subPathExpr))) problems.push(`a subPath of read-only ${path} is made when missing`);
    }
  }
  return problems;
}

/** The host path as the contract reads it (one trailing "/" trimmed), when it is canonical. */
function hostPathOf(volume: Volume): string | undefined {
  const written = volume.hostPath?.path;
  const path = typeof written === 'string' && written.length > 1 && written.endsWith('/') ? written.slice(0, -1) : written;
  return isCanonical(path) ? path : undefined;
}

/** Where the kubelet mounts or makes something at `path` in the container: Clean("/" + path). */
function placeOf(path: string): string {
  return posix.resolve('/', path);
}

/**
 * The container runtime makes a missing mount point, as root, in whatever host directory it lies in, before
 * (crun) the mount around it is made read-only; so nothing it places may land, through the closest hostPath
 * mount around it, on a host path whose deciding entry is read-only. What it places: the container's mounts,
 * its termination message file, its working directory (crun makes a missing one), its block devices and the node's files. A
 * read-write entry's own directory inside a read-only one may be made, as its deciding entry says. A subPath
 * is not modelled here: no generated mount has one, and one on a read-only volume is refused for that alone
 * (validatedPodProblems).
 */
export function mountPointProblems(pod: unknown, policy: OraclePolicy): string[] {
  const view = pod as PodView;
  const volumes = view.spec?.volumes ?? [];
  // The API server refuses repeated volume names before any validating webhook sees the Pod.
  if (new Set(volumes.map((volume) => volume.name)).size < volumes.length) return [];
  const carriable = [...policy.allowedHostPaths, ...(policy.builtinHostPaths ?? [])];
  // A volume outside the lists is refused for that alone (and /mutate leaves hand-written ones to /validate).
  const hostPaths = new Map<unknown, string>();
  for (const volume of volumes) {
    const path = hostPathOf(volume);
    if (path !== undefined && decidingEntry(carriable, path) !== undefined) hostPaths.set(volume.name, path);
  }
  const problems: string[] = [];
  for (const container of hostPaths.size === 0 ? [] : allContainers(view)) {
    const mounts = (container.volumeMounts ?? []).flatMap((mount) =>
      typeof mount.mountPath === 'string' ? [{ hostPath: hostPaths.get(mount.name), at: placeOf(mount.mountPath) }] : [],
    );
    if (mounts.every((mount) => mount.hostPath === undefined)) continue;
    const mounted = (path: string): boolean => mounts.some((mount) => mount.at === path);
    const placed = mounts.map((mount) => mount.at);
    const termination = typeof container.terminationMessagePath === 'string' ? container.terminationMessagePath : '/dev/termination-log';
    // An empty one is no file at all (the kubelet mounts none); the API server defaults it anyway.
    if (termination !== '') placed.push(placeOf(termination));
    const workingDir = typeof container.workingDir === 'string' && container.workingDir !== '' ? placeOf(container.workingDir) : undefined;
    // A working directory that is itself a mount point exists once it is mounted; a node file the container mounts itself is left out.
    if (workingDir !== undefined && !mounted(workingDir)) placed.push(workingDir);
    placed.push(...NODE_FILES.filter((file) => !mounted(file)));
    // The runtime makes a block device's node, with its parents, where the container takes it.
    for (const device of container.volumeDevices ?? []) if (typeof device.devicePath === 'string') placed.push(placeOf(device.devicePath));
    for (const point of placed) {
      if (point === '/') continue;
      const around = mounts.filter((mount) => covers(mount.at, posix.dirname(point)));
      const closest = Math.max(...around.map((mount) => segments(mount.at).length));
      // Several mounts at the closest place ("/m" and "/m/"): no runtime promises which is on top, so any may be.
      for (const outer of around.filter((mount) => segments(mount.at).length === closest)) {
        if (outer.hostPath === undefined) continue;
        const made = posix.join(outer.hostPath, posix.relative(outer.at, point));
        if (decidingEntry(carriable, made)?.readOnly === true) problems.push(`${point} is made in read-only ${made} (inside the mount of ${outer.hostPath} at ${outer.at})`);
      }
    }
  }
  return problems;
}

/** The system or reserved path a mount target lies in, if any. */
export function forbiddenTarget(target: string, policy: OraclePolicy): string | undefined {
  return [...SYSTEM_TARGETS, ...(policy.reservedMountPaths ?? [])].find((reserved) => covers(reserved, target));
}

const ADDED_PATH = /^\/spec\/(volumes(\/(\d+|-))?|containers\/\d+\/volumeMounts(\/(\d+|-))?)$/;

/** The patch only adds volumes and mounts, and everything it adds is a canonical, requestable, well-targeted mount. */
export function mutationProblems(original: unknown, patch: readonly Operation[], patched: unknown, policy: OraclePolicy): string[] {
  const problems: string[] = [];
  for (const operation of patch) {
    if (operation.op !== 'add' || !ADDED_PATH.test(operation.path)) problems.push(`patch operation ${operation.op} ${operation.path} is not an addition of volumes or mounts`);
  }
  const before = new Set(((original as PodView).spec?.volumes ?? []).map((volume) => volume.name));
  const view = patched as PodView;
  const added = (view.spec?.volumes ?? []).filter((volume) => !before.has(volume.name));
  for (const volume of added) {
    const path = volume.hostPath?.path;
    if (typeof volume.name !== 'string' || !volume.name.startsWith('mountgate-')) problems.push(`added volume ${String(volume.name)} is not a mountgate- volume`);
    if (!isCanonical(path)) {
      problems.push(`added hostPath ${JSON.stringify(path)} is not canonical`);
      continue;
    }
    const entry = decidingEntry(policy.allowedHostPaths, path);
    if (entry === undefined) problems.push(`added hostPath ${path} is not under allowedHostPaths`);
    if (!['Directory', 'DirectoryOrCreate'].includes(String(volume.hostPath?.type))) problems.push(`added hostPath ${path} has type ${String(volume.hostPath?.type)}`);
    for (const container of view.spec?.containers ?? []) {
      for (const mount of container.volumeMounts ?? []) {
        if (mount.name !== volume.name) continue;
        if (entry?.readOnly === true && mount.readOnly !== true) problems.push(`read-only ${path} is mounted read-write`);
        const target = mount.mountPath;
        if (!isCanonical(target) || target === '/') {
          problems.push(`mount target ${JSON.stringify(target)} is not canonical or is /`);
          continue;
        }
        const forbidden = forbiddenTarget(target, policy);
        if (forbidden !== undefined) problems.push(`mount target ${target} is inside ${forbidden}`);
      }
    }
  }
  return problems;
}
