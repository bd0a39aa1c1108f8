/**
 * The JSON Patch from the Pod as it arrived to the one reconcile built, written
 * down directly instead of diffing the two Pods. reconcile only ever replaces
 * spec.volumes and target containers' volumeMounts with longer arrays (or
 * creates them), so those are the only places to look; a diff would walk the
 * whole Pod and deep-copy every added value through JSON, which for a Pod with
 * twenty thousand containers takes the better part of a second.
 *
 * The operations and their order are exactly what fast-json-patch's compare
 * gave (a differential test holds them to it): keys as they were, last to
 * first, then keys that are new; an array that grew gains "add" operations at
 * its new indices in ascending order; a null replaced by a list is "replace".
 */
import type { Operation } from './json-patch.js';
import type { CheckedPod } from './pod.js';

export function additionsPatch(original: CheckedPod, mutated: CheckedPod, targets: readonly number[]): Operation[] {
  const operations: Operation[] = [];
  const keys = Object.keys(original.spec);
  for (let k = keys.length - 1; k >= 0; k--) {
    if (keys[k] === 'volumes') changedList(original.spec.volumes, mutated.spec.volumes, '/spec/volumes', operations);
    if (keys[k] === 'containers') {
      for (const index of [...targets].sort((a, b) => b - a)) {
        const before = original.spec.containers[index];
        const after = mutated.spec.containers[index];
        if (before === undefined || after === undefined || before === after) continue;
        const path = `/spec/containers/${index}/volumeMounts`;
        if (Object.hasOwn(before, 'volumeMounts')) changedList(before.volumeMounts, after.volumeMounts, path, operations);
        else if (after.volumeMounts !== undefined) operations.push({ op: 'add', path, value: after.volumeMounts });
      }
    }
  }
  if (!Object.hasOwn(original.spec, 'volumes') && mutated.spec.volumes !== undefined) {
    operations.push({ op: 'add', path: '/spec/volumes', value: mutated.spec.volumes });
  }
  return operations;
}

function changedList(before: readonly unknown[] | null | undefined, after: readonly unknown[] | null | undefined, path: string, operations: Operation[]): void {
  if (before === after || after === undefined || after === null) return;
  if (!Array.isArray(before)) {
    operations.push({ op: 'replace', path, value: after });
    return;
  }
  for (let index = before.length; index < after.length; index++) operations.push({ op: 'add', path: `${path}/${index}`, value: after[index] });
}
