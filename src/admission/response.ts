/**
 * Builds every AdmissionReview this webhook sends. The uid is stamped in one
 * place, toReview, whatever path produced the response.
 */
import type { Operation } from './json-patch.js';
import { ADMISSION_API_VERSION } from './review.js';
import { denialMessage, type Verdict } from './verdict.js';

export interface AdmissionResponse {
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse & { readonly uid: string };
}

export function allowed(): AdmissionResponse {
  return { allowed: true };
}

export function denied(code: number, message: string): AdmissionResponse {
  return { allowed: false, status: { code, message } };
}

/** No patch at all when there are no operations. */
export function patched(operations: readonly Operation[]): AdmissionResponse {
  if (operations.length === 0) return allowed();
  return { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(operations)).toString('base64') };
}

/** An internal failure: fail closed with a 500 status. */
export function errored(error: unknown): AdmissionResponse {
  const message = error instanceof Error ? error.message : String(error);
  return denied(500, `mountgate could not decide: ${message}`);
}

export function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  return warnings.length === 0 ? response : { ...response, warnings };
}

export function fromVerdict(verdict: Verdict): AdmissionResponse {
  const response = verdict.allowed ? patched(verdict.patch) : denied(verdict.code, denialMessage(verdict.violations));
  return withWarnings(response, verdict.warnings);
}

export function toReview(uid: string, response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid, ...response } };
}
