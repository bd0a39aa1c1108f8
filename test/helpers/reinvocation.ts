/**
 * Runs /mutate, applies its patch, and runs /mutate again on the result, the
 * way the API server reinvokes webhooks. Fails if the second pass changes
 * anything or disagrees with the first.
 */
import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { applyPatch, type Operation } from '../../src/admission/json-patch.js';
import type { Verdict } from '../../src/admission/verdict.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { requestFor, type RequestOptions } from './pods.js';

export interface Mutation {
  readonly verdict: Verdict;
  /** The Pod after applying the patch to the original, if allowed. */
  readonly pod: unknown;
  readonly patch: readonly Operation[];
}

export function mutateTwice(pod: unknown, policy: CompiledPolicy, options: RequestOptions = {}): Mutation {
  const first = decide('mutate', requestFor(pod, options), policy);
  if (!first.allowed) return { verdict: first, pod: undefined, patch: [] };

  const patched = applyPatch(structuredClone(pod), structuredClone([...first.patch]), true, false).newDocument;
  if (first.mutated !== undefined) expect(patched, 'the patch must produce the mutated Pod').to.deep.equal(first.mutated);

  const second = decide('mutate', requestFor(patched, options), policy);
  expect(second.allowed, 'reinvocation must still be allowed').to.equal(true);
  if (second.allowed) expect(second.patch, 'reinvocation must change nothing').to.deep.equal([]);
  return { verdict: first, pod: patched, patch: first.patch };
}
