/**
 * The two request bodies of the HTTP benchmark, checked against a running
 * mountgate before anything is timed: /mutate must allow the Pod with a patch,
 * and /validate must allow the Pod that patch produces (as the API server
 * would send it). A benchmark of denials or errors would measure the wrong thing.
 */
import { applyPatch, type Operation } from '../src/admission/json-patch.js';
import { httpsCall } from '../test/helpers/tls.js';
import { createReview, sandboxPod, THREE_MOUNTS, type PodShape } from './fixtures.js';
import type { RequestSpec } from './load/jobs.js';

export interface Bodies {
  readonly mutate: RequestSpec;
  readonly validate: RequestSpec;
  /** mountgate's patch for the Pod, base64 as in the AdmissionReview: what the ceiling answers. */
  readonly patchBase64: string;
  readonly mutateBytes: number;
  readonly validateBytes: number;
}

interface ReviewAnswer {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patch: string | undefined;
  readonly message: string | undefined;
}

function readAnswer(text: string): ReviewAnswer {
  const parsed: unknown = JSON.parse(text);
  const response = typeof parsed === 'object' && parsed !== null && 'response' in parsed ? parsed.response : undefined;
  if (typeof response !== 'object' || response === null) throw new Error(`not an AdmissionReview answer: ${text}`);
  const field = (key: string): unknown => (key in response ? (response as Record<string, unknown>)[key] : undefined);
  const status = field('status');
  const message = typeof status === 'object' && status !== null && 'message' in status ? String(status.message) : undefined;
  const patch = field('patch');
  return { uid: String(field('uid')), allowed: field('allowed') === true, patch: typeof patch === 'string' ? patch : undefined, message };
}

async function post(port: number, ca: string, path: string, body: string): Promise<ReviewAnswer> {
  const answer = await httpsCall({ port, path, ca, body });
  if (answer.status !== 200) throw new Error(`POST ${path} answered ${answer.status}: ${answer.text}`);
  return readAnswer(answer.text);
}

export async function prepareBodies(mountgatePort: number, ca: string, shape: PodShape = 'full'): Promise<Bodies> {
  const pod = sandboxPod(THREE_MOUNTS, 1, shape);
  const review = createReview(pod);
  const mutateBody = JSON.stringify(review);
  const mutated = await post(mountgatePort, ca, '/mutate', mutateBody);
  if (!mutated.allowed || mutated.patch === undefined) {
    throw new Error(`the benchmark Pod is not allowed with a patch: ${mutated.message ?? 'no patch'}`);
  }
  const operations = JSON.parse(Buffer.from(mutated.patch, 'base64').toString('utf8')) as Operation[];
  const patchedPod = applyPatch(structuredClone(pod), operations, true, false).newDocument;
  const validateBody = JSON.stringify(createReview(patchedPod));
  const validated = await post(mountgatePort, ca, '/validate', validateBody);
  if (!validated.allowed || validated.patch !== undefined) {
    throw new Error(`the mutated benchmark Pod does not pass /validate: ${validated.message ?? 'it has a patch'}`);
  }
  return {
    mutate: { path: '/mutate', body: mutateBody, expect: '"patchType":"JSONPatch"' },
    validate: { path: '/validate', body: validateBody, expect: '"allowed":true' },
    patchBase64: mutated.patch,
    mutateBytes: Buffer.byteLength(mutateBody),
    validateBytes: Buffer.byteLength(validateBody),
  };
}

/** The ceiling must answer the same patch to the same request. */
export async function checkCeiling(port: number, ca: string, bodies: Bodies): Promise<void> {
  const answer = await post(port, ca, '/mutate', bodies.mutate.body);
  if (!answer.allowed || answer.patch !== bodies.patchBase64) throw new Error('the ceiling server does not answer the fixed patch');
}
