/** What the decision core answers. */
import { cutMiddle } from './bounded-text.js';
import type { Operation } from './json-patch.js';
import { describeViolation, MAX_NAMED_VIOLATIONS, type Violation, type Violations } from './violation.js';

export type Verdict =
  | {
      readonly allowed: true;
      readonly warnings: readonly string[];
      /** Empty when nothing changes. */
      readonly patch: readonly Operation[];
      /** The Pod after the patch, when there is a patch. */
      readonly mutated?: unknown;
      /**
       * Set when the request is none of this stage's business (see concernOf),
       * or a Pod update or Binding that leaves the annotation alone: nothing was
       * judged, so there is no decision to record.
       */
      readonly skipped?: true;
    }
  | {
      readonly allowed: false;
      /** 403 for a broken rule, 400 for an object that is not a readable Pod. */
      readonly code: 400 | 403;
      /** Never empty; the first is the rule an audit record names. */
      readonly violations: Violations;
      readonly warnings: readonly string[];
      /** What was refused, as the message names it; a Pod when absent. */
      readonly subject?: Subject;
    };

/** A Pod, or a MountPolicy being written. */
export type Subject = 'the Pod' | 'the MountPolicy';

/** One shared answer for every request mountgate does not judge: most of the API server's traffic costs no allocation. */
export const SKIPPED: Verdict = Object.freeze({ allowed: true, warnings: Object.freeze([]), patch: Object.freeze([]), skipped: true });

export function allow(warnings: readonly string[] = [], patch: readonly Operation[] = [], mutated?: unknown): Verdict {
  return mutated === undefined ? { allowed: true, warnings, patch } : { allowed: true, warnings, patch, mutated };
}

export function deny(violations: Violations, warnings: readonly string[] = [], code: 400 | 403 = 403, subject: Subject = 'the Pod'): Verdict {
  return subject === 'the Pod' ? { allowed: false, code, violations, warnings } : { allowed: false, code, violations, warnings, subject };
}

/**
 * The longest violation in a denial message; a longer one is cut in the middle.
 * A path in a violation can be as long as the annotation (256 KiB), and
 * controllers copy the whole message into status conditions, whose message the
 * API server refuses beyond 32,768 characters: 20 cut violations and the rest
 * of the sentence stay under 21,000.
 */
export const MAX_VIOLATION_TEXT = 1024;

/** The one sentence a denied client reads: the first MAX_NAMED_VIOLATIONS violations, and how many more there are. */
export function denialMessage(violations: readonly Violation[], subject: Subject = 'the Pod'): string {
  const named = violations
    .slice(0, MAX_NAMED_VIOLATIONS)
    .map((v) => cutMiddle(describeViolation(v), MAX_VIOLATION_TEXT))
    .join('; ');
  const more = violations.length - MAX_NAMED_VIOLATIONS;
  return `mountgate ${subject === 'the Pod' ? 'denied' : 'refused'} ${subject}: ${named}${more > 0 ? `; and ${more} more` : ''}`;
}
