/**
 * The AdmissionReview envelope (admission.k8s.io/v1). Bodies are checked
 * against this schema before anything reads them; the types follow from it.
 */
import { array, boolean, mixed, object, string, type InferType } from 'yup';
import { firstProblems } from '../policy/problem-list.js';
import { strictValidator } from './schema-guard.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const text = () => string().strict().typeError('${path} must be a string');

const groupVersionResource = object({
  group: text().defined('${path} is required'),
  version: text().defined('${path} is required'),
  resource: text().defined('${path} is required'),
})
  .strict()
  .typeError('${path} must be an object');

const groupVersionKind = object({
  group: text().defined('${path} is required'),
  version: text().defined('${path} is required'),
  kind: text().defined('${path} is required'),
})
  .strict()
  .typeError('${path} must be an object');

const userInfoSchema = object({
  username: text().optional(),
  uid: text().optional(),
  groups: array(text().defined()).strict().typeError('${path} must be a list').optional(),
})
  .strict()
  .typeError('${path} must be an object');

const requestSchema = object({
  uid: text().required('${path} is required'),
  kind: groupVersionKind.required('${path} is required'),
  resource: groupVersionResource.required('${path} is required'),
  subResource: text().optional(),
  operation: text().required('${path} is required'),
  name: text().optional(),
  namespace: text().optional(),
  userInfo: userInfoSchema.optional(),
  // null for DELETE (object) and CREATE (oldObject).
  object: mixed().nullable().optional(),
  oldObject: mixed().nullable().optional(),
  dryRun: boolean().strict().typeError('${path} must be a boolean').optional(),
})
  .strict()
  .typeError('${path} must be an object');

export const admissionReviewSchema = object({
  apiVersion: text()
    .required('${path} is required')
    .oneOf([ADMISSION_API_VERSION], `\${path} must be ${ADMISSION_API_VERSION}`),
  kind: text().required('${path} is required').oneOf(['AdmissionReview'], '${path} must be AdmissionReview'),
  request: requestSchema.required('${path} is required'),
})
  .strict()
  .typeError('the body must be a JSON object');

export type AdmissionReview = InferType<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview['request'];
export type UserInfo = NonNullable<AdmissionRequest['userInfo']>;

export type ReadReview =
  | { readonly ok: true; readonly request: AdmissionRequest }
  | { readonly ok: false; readonly problems: readonly string[] };

/** The guard says yes in a fraction of the time, only where yup would; yup answers (and explains) everything else. */
const validateReview = strictValidator(admissionReviewSchema);

/** Checks a parsed body; never trusts its shape before that. */
export function readAdmissionReview(body: unknown): ReadReview {
  const checked = validateReview(body);
  return checked.ok ? { ok: true, request: checked.value.request } : { ok: false, problems: firstProblems(checked.error.errors) };
}
