/**
 * The parts of a Pod that mountgate reads, checked before they are trusted,
 * and one visitor over every container and volume mount.
 */
import type { V1Container, V1EphemeralContainer, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { isRecord, type JsonObject } from '../policy/json-object.js';

export const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;
export type ContainerList = (typeof CONTAINER_LISTS)[number];
export type AnyContainer = V1Container | V1EphemeralContainer;

/** A Pod whose spec, containers, mounts and volumes have the shapes mountgate reads. */
export interface CheckedPod extends V1Pod {
  spec: NonNullable<V1Pod['spec']>;
}

function optional(value: unknown, type: 'string' | 'boolean'): boolean {
  return value === undefined || value === null || typeof value === type;
}

function checkMounts(mounts: unknown, field: string): string | undefined {
  if (mounts === undefined || mounts === null) return undefined;
  if (!Array.isArray(mounts)) return `${field} must be a list`;
  for (let i = 0; i < mounts.length; i++) {
    const mount: unknown = mounts[i];
    if (!isRecord(mount) || typeof mount.name !== 'string' || typeof mount.mountPath !== 'string' || !optional(mount.readOnly, 'boolean')) {
      return `${field}[${i}] must have a string name and mountPath`;
    }
  }
  return undefined;
}

function checkContainers(containers: unknown, field: string, required: boolean): string | undefined {
  if (containers === undefined || containers === null) return required ? `${field} is required` : undefined;
  if (!Array.isArray(containers)) return `${field} must be a list`;
  for (let i = 0; i < containers.length; i++) {
    const container: unknown = containers[i];
    if (!isRecord(container) || typeof container.name !== 'string') return `${field}[${i}] must have a string name`;
    const problem = checkMounts(container.volumeMounts, `${field}[${i}].volumeMounts`);
    if (problem) return problem;
  }
  return undefined;
}

function checkVolumes(volumes: unknown): string | undefined {
  if (volumes === undefined || volumes === null) return undefined;
  if (!Array.isArray(volumes)) return 'spec.volumes must be a list';
  for (let i = 0; i < volumes.length; i++) {
    const volume: unknown = volumes[i];
    if (!isRecord(volume) || typeof volume.name !== 'string') return `spec.volumes[${i}] must have a string name`;
    const hostPath = volume.hostPath;
    if (hostPath === undefined || hostPath === null) continue;
    if (!isRecord(hostPath) || typeof hostPath.path !== 'string' || !optional(hostPath.type, 'string')) {
      return `spec.volumes[${i}].hostPath must have a string path`;
    }
  }
  return undefined;
}

/** Anything with object metadata (a Pod, a Binding) whose annotations, if any, are strings. */
export interface Annotated {
  readonly metadata?: { readonly annotations?: { readonly [key: string]: string } | null } | null;
}

/** Why the metadata of `object` cannot be read, or undefined when it can. */
function metadataProblem(object: JsonObject): string | undefined {
  const metadata = object.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (!isRecord(metadata)) return 'metadata must be an object';
    const annotations = metadata.annotations;
    if (annotations !== undefined && annotations !== null) {
      if (!isRecord(annotations)) return 'metadata.annotations must be an object';
      for (const [key, value] of Object.entries(annotations)) {
        if (typeof value !== 'string') return `metadata.annotations[${key}] must be a string`;
      }
    }
  }
  return undefined;
}

export function isAnnotated(object: unknown): object is Annotated {
  return isRecord(object) && metadataProblem(object) === undefined;
}

/** The value of one annotation; own keys only, so a key named like an Object.prototype member ("constructor") reads nothing inherited. */
export function annotationValue(object: Annotated, key: string): string | undefined {
  const annotations = object.metadata?.annotations;
  return annotations !== undefined && annotations !== null && Object.hasOwn(annotations, key) ? annotations[key] : undefined;
}

/** Why `object` cannot be read as a Pod, or undefined when it can. */
export function podProblem(object: unknown): string | undefined {
  if (!isRecord(object)) return 'is not an object';
  const metadataIssue = metadataProblem(object);
  if (metadataIssue) return metadataIssue;
  const spec = object.spec;
  if (!isRecord(spec)) return 'spec must be an object';
  for (const list of CONTAINER_LISTS) {
    const problem = checkContainers(spec[list], `spec.${list}`, list === 'containers');
    if (problem) return problem;
  }
  return checkVolumes(spec.volumes);
}

export function isCheckedPod(object: unknown): object is CheckedPod {
  return podProblem(object) === undefined;
}

export interface MountVisit {
  readonly list: ContainerList;
  readonly containerIndex: number;
  readonly container: AnyContainer;
  readonly mountIndex: number;
  readonly mount: V1VolumeMount;
}

/** Every volume mount of every container, init and ephemeral included, in spec order. */
export function* allMounts(pod: CheckedPod): Generator<MountVisit> {
  for (const list of CONTAINER_LISTS) {
    const containers: readonly AnyContainer[] = pod.spec[list] ?? [];
    for (let containerIndex = 0; containerIndex < containers.length; containerIndex++) {
      const container = containers[containerIndex];
      if (container === undefined) continue;
      const mounts = container.volumeMounts ?? [];
      for (let mountIndex = 0; mountIndex < mounts.length; mountIndex++) {
        const mount = mounts[mountIndex];
        if (mount !== undefined) yield { list, containerIndex, container, mountIndex, mount };
      }
    }
  }
}

export function mountField(visit: Pick<MountVisit, 'list' | 'containerIndex' | 'mountIndex'>): string {
  return `spec.${visit.list}[${visit.containerIndex}].volumeMounts[${visit.mountIndex}]`;
}

export function volumesOf(pod: CheckedPod): readonly V1Volume[] {
  return pod.spec.volumes ?? [];
}

/** Whether any volume of the Pod is a hostPath volume, mountgate's or written by hand. */
export function hasHostPathVolume(pod: CheckedPod): boolean {
  return volumesOf(pod).some((volume) => volume.hostPath !== undefined && volume.hostPath !== null);
}
