/**
 * Builds every AdmissionReview this webhook sends. The uid is stamped in one
 * place, toReview, and every refusal's status (code and reason) in another,
 * refused, whatever path produced the response.
 */
import { cutEnd } from './bounded-text.js';
import type { Operation } from './json-patch.js';
import { ADMISSION_API_VERSION } from './review.js';
import { denialMessage, type Verdict } from './verdict.js';
import { describeViolation, type Rule } from './violation.js';

/**
 * The reason the API server passes on to its client with each code: kubectl
 * prints it ("Error from server (Forbidden)") and API clients branch on it.
 */
export const STATUS_REASONS = { 400: 'BadRequest', 403: 'Forbidden', 500: 'InternalError' } as const;
export type RefusalCode = keyof typeof STATUS_REASONS;
export type StatusReason = (typeof STATUS_REASONS)[RefusalCode];

/** The audit rule of a review mountgate could not decide (it fails closed). */
export const INTERNAL_ERROR_RULE = 'internal-error';

/**
 * The longest `violation` audit annotation: the first violation can quote a
 * 4096-character path, and each audit event of the API server carries it.
 */
export const MAX_AUDIT_VIOLATION_LENGTH = 512;

/**
 * What the API server writes into its audit event, each key prefixed with the
 * webhook's name (e.g. `pods.validate.mountgate.io/verdict`).
 */
export type AuditAnnotations =
  | { readonly verdict: 'allowed' }
  | {
      readonly verdict: 'denied';
      /** The first rule broken. */
      readonly rule: Rule | typeof INTERNAL_ERROR_RULE;
      /** The first violation as "field: message", at most MAX_AUDIT_VIOLATION_LENGTH characters. */
      readonly violation: string;
    };

export interface AdmissionResponse {
  readonly allowed: boolean;
  readonly status?: { readonly code: RefusalCode; readonly reason: StatusReason; readonly message: string };
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
  readonly warnings?: readonly string[];
  readonly auditAnnotations?: AuditAnnotations;
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse & { readonly uid: string };
}

/** Shared by every allowed decision, so recording one costs no allocation. */
const ALLOWED_AUDIT: AuditAnnotations = Object.freeze({ verdict: 'allowed' });
/** For requests mountgate does not judge: allowed, and nothing to record. */
const UNJUDGED: AdmissionResponse = Object.freeze({ allowed: true });

function refused(code: RefusalCode, message: string, audit: AuditAnnotations): AdmissionResponse {
  return { allowed: false, status: { code, reason: STATUS_REASONS[code], message }, auditAnnotations: audit };
}

function deniedAudit(rule: Rule | typeof INTERNAL_ERROR_RULE, violation: string): AuditAnnotations {
  return { verdict: 'denied', rule, violation: cutEnd(violation, MAX_AUDIT_VIOLATION_LENGTH) };
}

/** No patch at all when there are no operations. */
function patched(operations: readonly Operation[]): AdmissionResponse {
  if (operations.length === 0) return { allowed: true, auditAnnotations: ALLOWED_AUDIT };
  return {
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(operations)).toString('base64'),
    auditAnnotations: ALLOWED_AUDIT,
  };
}

/** An internal failure: fail closed with a 500 status. */
export function errored(error: unknown): AdmissionResponse {
  const message = `mountgate could not decide: ${describeThrown(error)}`;
  return refused(500, message, deniedAudit(INTERNAL_ERROR_RULE, message));
}

/** What was thrown, in words; never a throw itself, so that the answer is still a denial with the uid. */
export function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return 'a thrown value that cannot be shown';
  }
}

function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  return warnings.length === 0 ? response : { ...response, warnings };
}

export function fromVerdict(verdict: Verdict): AdmissionResponse {
  if (verdict.allowed && verdict.skipped === true) return UNJUDGED;
  if (verdict.allowed) return withWarnings(patched(verdict.patch), verdict.warnings);
  const [first] = verdict.violations;
  const response = refused(verdict.code, denialMessage(verdict.violations, verdict.subject), deniedAudit(first.rule, describeViolation(first)));
  return withWarnings(response, verdict.warnings);
}

export function toReview(uid: string, response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid, ...response } };
}
