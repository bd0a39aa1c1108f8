/** fast-check generators of policies with `*` and placeholders, request facts and paths that often meet. */
import fc from 'fast-check';
import { decide } from '../../src/admission/decide.js';
import type { Operation } from '../../src/admission/json-patch.js';
import type { AdmissionRequest } from '../../src/admission/review.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { ANNOTATION, requestFor } from './pods.js';

const SANDBOX_USER = 'mountgate.io/sandbox-user';

/** Segment values shared by paths, literals and placeholder values, so that they often match. */
export const VALUES = ['a', 'team-a', 'alice', 'u3'] as const;
/** Placeholder values outside ^[A-Za-z0-9_-]{1,64}$. */
export const INVALID_VALUES = ['', '.', '..', 'a/b', '../a', 'a.b', 'team a', 'ü', '*', '{user}', 'x'.repeat(65), 'system:serviceaccount:df:sa'] as const;
export const PLACEHOLDER_SEGMENTS = ['{namespace}', '{user}', '{sandboxUser}'] as const;
export const TOPS = ['srv', 'u'] as const;

export interface EntrySpec {
  readonly pathPrefix: string;
  readonly readOnly: boolean;
}

const restSegment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 2, arbitrary: fc.constant('*') },
  { weight: 3, arbitrary: fc.constantFrom(...PLACEHOLDER_SEGMENTS) },
);

export const entrySpec: fc.Arbitrary<EntrySpec> = fc
  .record({ top: fc.constantFrom(...TOPS), rest: fc.array(restSegment, { maxLength: 3 }), readOnly: fc.boolean() })
  .map(({ top, rest, readOnly }) => ({ pathPrefix: `/${[top, ...rest].join('/')}`, readOnly }));

export const policySpec = fc.record({
  allowedHostPaths: fc.array(entrySpec, { minLength: 1, maxLength: 5 }),
  builtinHostPaths: fc.array(entrySpec, { maxLength: 3 }),
  trustedProvisioners: fc.subarray(['alice', 'group:provisioners']),
});
export type PolicySpec = typeof policySpec extends fc.Arbitrary<infer T> ? T : never;

/** Paths under the policy's tops, with segments from `values` (some may make the path not canonical). */
export function hostPathWith(values: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...TOPS), fc.array(fc.constantFrom(...values), { maxLength: 4 })).map(([top, rest]) => `/${[top, ...rest].join('/')}`);
}

/** Canonical paths under the policy's tops. */
export const hostPath = hostPathWith([...VALUES, 'b']);

export interface Facts {
  readonly namespace: string;
  readonly username: string;
  readonly groups: readonly string[];
  readonly sandboxUser: string | undefined;
}

export const validFacts: fc.Arbitrary<Facts> = fc.record({
  namespace: fc.constantFrom(...VALUES),
  username: fc.constantFrom(...VALUES),
  groups: fc.subarray(['provisioners', 'others']),
  sandboxUser: fc.option(fc.constantFrom(...VALUES), { nil: undefined }),
});

/** The facts as a request that passes the sandbox-user rule carries them: the annotation only from a requester the policy trusts. */
export function annotatedOnlyIfTrusted(spec: PolicySpec, facts: Facts): Facts {
  const trusted = spec.trustedProvisioners.includes(facts.username) || facts.groups.some((group) => spec.trustedProvisioners.includes(`group:${group}`));
  return trusted ? facts : { ...facts, sandboxUser: undefined };
}

/** Every segment that is a placeholder replaced by "*": the same policy, without narrowing. */
export function widened(spec: PolicySpec): PolicySpec {
  const widen = (entry: EntrySpec): EntrySpec => ({
    pathPrefix: entry.pathPrefix.split('/').map((s) => ((PLACEHOLDER_SEGMENTS as readonly string[]).includes(s) ? '*' : s)).join('/'),
    readOnly: entry.readOnly,
  });
  return { ...spec, allowedHostPaths: spec.allowedHostPaths.map(widen), builtinHostPaths: spec.builtinHostPaths.map(widen) };
}

export interface Asked {
  /** Annotation requests, mounted at /m0, /m1, ... */
  readonly requests: readonly string[];
  /** hostPath volumes the Pod carries itself, mounted by its container. */
  readonly volumes: readonly string[];
  readonly readOnly: boolean;
}

export function askedOf(path: fc.Arbitrary<string>): fc.Arbitrary<Asked> {
  return fc.record({ requests: fc.array(path, { minLength: 1, maxLength: 3 }), volumes: fc.array(path, { maxLength: 2 }), readOnly: fc.boolean() });
}


export function podOf(ask: Asked, facts: Facts): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      annotations: {
        [ANNOTATION]: JSON.stringify(ask.requests.map((path, i) => ({ hostPath: path, mountPath: `/m${i}`, readOnly: ask.readOnly }))),
        ...(facts.sandboxUser === undefined ? {} : { [SANDBOX_USER]: facts.sandboxUser }),
      },
    },
    spec: {
      containers: [{ name: 'sandbox', image: 'x', volumeMounts: ask.volumes.map((_, i) => ({ name: `v${i}`, mountPath: `/v${i}`, readOnly: ask.readOnly })) }],
      volumes: ask.volumes.map((path, i) => ({ name: `v${i}`, hostPath: { path, type: 'Directory' } })),
    },
  };
}

export function requestOf(pod: unknown, facts: Facts): AdmissionRequest {
  return requestFor(pod, { namespace: facts.namespace, username: facts.username, groups: [...facts.groups] });
}

export const asked = askedOf(hostPath);

export interface Admission {
  readonly allowed: boolean;
  readonly patch: readonly Operation[];
}

/** /mutate, then /validate on the mutated Pod, as the API server runs them. */
export function admitsUnder(policy: CompiledPolicy, ask: Asked, facts: Facts): Admission {
  const pod = podOf(ask, facts);
  const mutation = decide('mutate', requestOf(pod, facts), policy);
  if (!mutation.allowed) return { allowed: false, patch: [] };
  const validation = decide('validate', requestOf(mutation.mutated ?? pod, facts), policy);
  return { allowed: validation.allowed, patch: mutation.patch };
}
