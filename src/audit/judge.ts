/**
 * Judges a Pod that already exists the way /validate would judge its
 * creation today. Who created it is not known any more, so the requesters
 * rule and, where anyone is trusted, the sandbox-user annotation's trust are
 * left out, and entries with {user} or {sandboxUser} (filled from the
 * requester) cannot be filled: a Pod refused only for want of them cannot be
 * judged offline, and is told apart from one that breaks the policy.
 */
import { decide } from '../admission/decide.js';
import { isCheckedPod, volumesOf } from '../admission/pod.js';
import { manifestNamespace, podCreateRequest } from '../admission/synthetic-request.js';
import type { UserInfo } from '../admission/review.js';
import type { Violation } from '../admission/violation.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import { layeredPolicy } from '../policy/layers.js';
import type { CompiledMountPolicy } from '../policy/mount-policy.js';
import { candidateRequesters, requesterPlaceholders } from './unknown-requester.js';

export interface Finding {
  readonly namespace: string;
  readonly pod: string;
  readonly violations: readonly Violation[];
}

/** The policy audit judges by: the same, without requesters. */
export function auditPolicy(policy: CompiledPolicy): CompiledPolicy {
  return compilePolicy({ ...policy.spec, requesters: [] });
}

/** The policy of each namespace: the audit policy narrowed by that namespace's MountPolicies, as the server layers them. */
export function policiesByNamespace(policy: CompiledPolicy, mountPolicies: readonly CompiledMountPolicy[]): (namespace: string) => CompiledPolicy {
  const byNamespace = new Map<string, CompiledMountPolicy[]>();
  for (const mountPolicy of mountPolicies) {
    const list = byNamespace.get(mountPolicy.ref.namespace) ?? [];
    list.push(mountPolicy);
    byNamespace.set(mountPolicy.ref.namespace, list);
  }
  const layered = new Map([...byNamespace].map(([namespace, policies]) => [namespace, layeredPolicy(policy, { known: true, policies })]));
  return (namespace) => layered.get(namespace) ?? policy;
}

/** A Pod the policy refuses without a requester but admits for some: audit cannot say which it was created by. */
export interface Unjudged {
  readonly namespace: string;
  readonly pod: string;
  /** The placeholders that would decide, as written in the policy: "{user}", "{sandboxUser}". */
  readonly needs: readonly string[];
  /** Set when more requesters could decide than audit judges a Pod as (MAX_CANDIDATE_REQUESTERS): not judged at all. */
  readonly tooManyRequesters?: true;
}

export type Judgement =
  | { readonly outcome: 'admitted' }
  | { readonly outcome: 'breaks'; readonly finding: Finding }
  | { readonly outcome: 'cannot-judge-offline'; readonly unjudged: Unjudged };

/** The decision judged by; replaceable so that tests can count the decisions a Pod costs. */
export type Decide = typeof decide;

export function judgeExistingPod(pod: unknown, policy: CompiledPolicy, decideBy: Decide = decide): Judgement {
  const refusal = refused(pod, policy, {}, decideBy);
  if (refusal === undefined) return { outcome: 'admitted' };
  const { namespace, name } = identify(pod);
  const needs = requesterPlaceholders(policy);
  if (needs.length === 0) return { outcome: 'breaks', finding: { namespace, pod: name, violations: refusal } };
  const candidates = candidateRequesters(hostPathsOf(pod), manifestNamespace(pod), policy);
  if (candidates.outcome === 'too-many') return { outcome: 'cannot-judge-offline', unjudged: { namespace, pod: name, needs, tooManyRequesters: true } };
  const refusals: Array<readonly Violation[]> = [];
  for (const requester of candidates.requesters) {
    const asThem = refused(pod, policy, requester, decideBy);
    if (asThem === undefined) return { outcome: 'cannot-judge-offline', unjudged: { namespace, pod: name, needs } };
    refusals.push(asThem);
  }
  // Listed: what every requester breaks; when each breaks something else, what the requester who comes
  // closest breaks: the fewest paths outside every entry, then the fewest violations.
  const everyone = refusal.filter((violation) => refusals.every((other) => other.some((v) => v.rule === violation.rule && v.field === violation.field)));
  if (everyone.length > 0) return { outcome: 'breaks', finding: { namespace, pod: name, violations: everyone } };
  const closest = refusals.reduce((best, other) => (distance(other) < distance(best) ? other : best), refusal);
  return { outcome: 'breaks', finding: { namespace, pod: name, violations: closest } };
}

const OUTSIDE_EVERY_ENTRY: ReadonlySet<string> = new Set(['host-path-not-allowed', 'host-path-volume-not-allowed']);

/** How far a refusal is from an admission: paths no entry covers weigh more than anything else. */
function distance(violations: readonly Violation[]): number {
  return violations.filter((v) => OUTSIDE_EVERY_ENTRY.has(v.rule)).length * 10_000 + violations.length;
}

/**
 * Whether a violation judges who created the Pod, which audit cannot know: such a rule is left out, as the
 * requesters rule is. The sandbox user's is kept where nobody is trusted, since then no creator passes it.
 */
function judgesCreator(violation: Violation, policy: CompiledPolicy): boolean {
  return violation.rule === 'sandbox-user-not-trusted' && policy.trustedProvisioners.size > 0;
}

function refused(pod: unknown, policy: CompiledPolicy, requester: UserInfo, decideBy: Decide): readonly Violation[] | undefined {
  const verdict = decideBy('validate', podCreateRequest(pod, requester, 'mountgate-audit'), policy);
  if (verdict.allowed) return undefined;
  const violations = verdict.violations.filter((violation) => !judgesCreator(violation, policy));
  return violations.length > 0 ? violations : undefined;
}

/** The hostPath volumes' paths as written; none for a Pod the decision cannot read (refused whoever asks). */
function hostPathsOf(pod: unknown): string[] {
  if (!isCheckedPod(pod)) return [];
  return volumesOf(pod).flatMap((volume) => (volume.hostPath ? [volume.hostPath.path] : []));
}

function identify(pod: unknown): { namespace: string; name: string } {
  const metadata = typeof pod === 'object' && pod !== null && 'metadata' in pod ? pod.metadata : undefined;
  const read = (key: string): string => {
    const value: unknown = typeof metadata === 'object' && metadata !== null ? Object.getOwnPropertyDescriptor(metadata, key)?.value : undefined;
    return typeof value === 'string' ? value : '';
  };
  return { namespace: read('namespace'), name: read('name') };
}
