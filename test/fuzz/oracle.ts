/**
 * What "admitted against the policy" means, written independently of the
 * code under test: split on "/", compare whole segments, longest prefix
 * decides (a read-only entry wins a tie). Returns the problems found; an
 * empty list means the admitted Pod is safe.
 */
import type { Operation } from '../../src/admission/json-patch.js';

export interface PrefixEntry {
  readonly pathPrefix: string;
  readonly readOnly?: boolean;
}

export interface OraclePolicy {
  readonly allowedHostPaths: readonly PrefixEntry[];
  readonly builtinHostPaths?: readonly PrefixEntry[];
  readonly reservedMountPaths?: readonly string[];
}

interface Mount {
  readonly name?: unknown;
  readonly mountPath?: unknown;
  readonly readOnly?: unknown;
}
interface Container {
  readonly volumeMounts?: readonly Mount[];
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

/** Every hostPath volume canonical and inside the lists, read-only entries mounted read-only everywhere. */
export function validatedPodProblems(pod: unknown, policy: OraclePolicy): string[] {
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
    if (entry.readOnly !== true) continue;
    for (const container of allContainers(view)) {
      for (const mount of container.volumeMounts ?? []) {
        if (mount.name === volume.name && mount.readOnly !== true) problems.push(`read-only ${path} is mounted read-write`);
      }
    }
  }
  return problems;
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
        const forbidden = [...SYSTEM_TARGETS, ...(policy.reservedMountPaths ?? [])].find((reserved) => covers(reserved, target));
        if (forbidden !== undefined) problems.push(`mount target ${target} is inside ${forbidden}`);
      }
    }
  }
  return problems;
}
