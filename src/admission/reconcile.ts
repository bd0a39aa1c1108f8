/**
 * Brings a Pod in line with a mount plan ("apply", for /mutate) or reports
 * where it is not ("verify", for /validate). One walk serves both, so
 * validate checks exactly what mutate establishes.
 */
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { escaped, quoted } from '../policy/paths.js';
import { isInjectedName, sameVolume, sameVolumeMount, VOLUME_PREFIX } from './injection.js';
import type { MountPlan } from './plan.js';
import { allMounts, mountField, type CheckedPod } from './pod.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';

export type ReconcileMode = 'apply' | 'verify';

/** In "apply" mode `pod` is changed in place; pass copyForApply(original, plan). */
export function reconcile(pod: CheckedPod, plan: MountPlan, mode: ReconcileMode): Violation[] {
  const violations: Violation[] = [];
  const volumes: V1Volume[] = pod.spec.volumes ?? [];
  // Matching is by name first (sameVolume and sameVolumeMount require equal names), so
  // grouping by name keeps each lookup to its few candidates: linear, not volumes × plan.
  // Grouped when first needed: a Pod as it reaches /mutate has no `mountgate-` names to match.
  let plannedVolumes: Map<string, V1Volume[]> | undefined;
  let plannedMounts: Map<string, V1VolumeMount[]> | undefined;

  volumes.forEach((volume, index) => {
    if (isInjectedName(volume.name) && !candidates((plannedVolumes ??= groupByName(plan.volumes)), volume.name).some((planned) => sameVolume(volume, planned))) {
      // A volume of another kind was named by someone else (a claim template, say): say whose names these are.
      const whose = volume.hostPath === undefined ? ` (it is not a hostPath volume: names that begin with "${VOLUME_PREFIX}" are mountgate's, so rename it)` : '';
      violations.push(violation('injection-mismatch', `spec.volumes[${index}]`, `volume "${volume.name}" does not match what this request adds${whose}`));
    }
  });
  const volumeNames = new Set(volumes.map((volume) => volume.name));
  const missingVolumes = plan.volumes.filter((planned) => !volumeNames.has(planned.name));
  if (missingVolumes.length > 0) {
    if (mode === 'apply') pod.spec.volumes = [...volumes, ...missingVolumes.map(copyVolume)];
    else for (const planned of missingVolumes) violations.push(missing('spec.volumes', `volume "${planned.name}" for ${escaped(planned.hostPath?.path ?? '')}`));
  }

  for (const index of plan.targets) {
    const container = pod.spec.containers[index];
    if (container === undefined) continue;
    const field = `spec.containers[${index}]`;
    const mounts: V1VolumeMount[] = container.volumeMounts ?? [];
    mounts.forEach((mount, mountIndex) => {
      if (isInjectedName(mount.name) && !candidates((plannedMounts ??= groupByName(plan.mounts)), mount.name).some((planned) => sameVolumeMount(mount, planned))) {
        violations.push(
          violation('injection-mismatch', `${field}.volumeMounts[${mountIndex}]`, `mount of "${mount.name}" at ${quoted(mount.mountPath)} does not match what this request adds`),
        );
      }
    });
    const mountsByName = groupByName(mounts);
    const missingMounts = plan.mounts.filter((planned) => !candidates(mountsByName, planned.name).some((mount) => sameVolumeMount(mount, planned)));
    if (missingMounts.length === 0) continue;
    if (mode === 'apply') container.volumeMounts = [...mounts, ...missingMounts.map(copyMount)];
    else for (const planned of missingMounts) violations.push(missing(`${field}.volumeMounts`, `${quoted(planned.mountPath)} in container "${container.name}"`));
  }
  return violations;
}

/**
 * Mounts of `mountgate-` volumes outside the plan's target containers: in an
 * init container, a container the annotation does not mount into, or an
 * ephemeral one. mountgate never puts them there; under handWrittenHostPaths:
 * builtin (the caller's choice) they are refused, or a Pod could mount what the
 * annotation brought in where the annotation may not (a reserved target,
 * another container, read-write against its readOnly).
 */
export function injectedMountsOutsideTargets(pod: CheckedPod, plan: Pick<MountPlan, 'targets'>): Violation[] {
  const targets = new Set(plan.targets);
  const violations: Violation[] = [];
  const outside = new NamedThenCounted(violations);
  for (const visit of allMounts(pod)) {
    if (!isInjectedName(visit.mount.name) || (visit.list === 'containers' && targets.has(visit.containerIndex))) continue;
    outside.add(() =>
      violation(
        'injection-mismatch',
        mountField(visit),
        `mount of "${visit.mount.name}" at ${quoted(visit.mount.mountPath)} is in container "${visit.container.name}", which the annotation does not mount into (with handWrittenHostPaths: builtin, its volumes go only into the target containers)`,
      ),
    );
  }
  outside.close((count) => violation('injection-mismatch', 'spec', `${count} more mounts of mountgate volumes outside the target containers`));
  return violations;
}

function groupByName<T extends { readonly name: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.name);
    if (group === undefined) groups.set(item.name, [item]);
    else group.push(item);
  }
  return groups;
}

function candidates<T>(groups: ReadonlyMap<string, readonly T[]>, name: string): readonly T[] {
  return groups.get(name) ?? [];
}

function missing(field: string, what: string): Violation {
  return violation('injection-missing', field, `requested mount is missing: ${what} (mutation skipped or altered)`);
}

/**
 * Copies of planned volumes and mounts, so that no object appears twice in a
 * Pod (the same planned mount goes into every target container). They have
 * the shapes injection.ts gives them: flat, but for a volume's hostPath.
 */
function copyVolume(volume: V1Volume): V1Volume {
  return volume.hostPath === undefined ? { ...volume } : { ...volume, hostPath: { ...volume.hostPath } };
}

function copyMount(mount: V1VolumeMount): V1VolumeMount {
  return { ...mount };
}

/**
 * What "apply" needs to change the Pod without touching `pod`: new objects on
 * the way to the arrays it replaces (spec.volumes and each target container's
 * volumeMounts; it never changes an array in place), everything else shared.
 * Unlike a deep clone, the copy costs nothing for the parts that stay the same,
 * and a diff against `pod` skips them at once (the same object on both sides).
 */
export function copyForApply(pod: CheckedPod, plan: MountPlan): CheckedPod {
  const targets = new Set(plan.targets);
  const containers = pod.spec.containers.map((container, index) => (targets.has(index) ? { ...container } : container));
  return { ...pod, spec: { ...pod.spec, containers } };
}
