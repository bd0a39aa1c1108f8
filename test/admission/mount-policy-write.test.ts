/** The write webhook for MountPolicies: whole answers as the API server receives them. */
import { expect } from 'chai';
import { judgeMountPolicyWrite } from '../../src/admission/mount-policy-write.js';
import { fromVerdict } from '../../src/admission/response.js';
import { SKIPPED } from '../../src/admission/verdict.js';
import { parsePolicy } from '../../src/policy/load.js';
import { MAX_SPEC_BYTES } from '../../src/policy/mount-policy.js';
import { requestFor, type RequestOptions } from '../helpers/pods.js';
import { mountPolicy, specOfBytes } from '../helpers/policies.js';

const CLUSTER = parsePolicy(
  JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/tenants/shared', readOnly: true }], maxMounts: 4 }),
  'cluster.json',
);
const WRITE: RequestOptions = { group: 'mountgate.io', resource: 'mountpolicies', namespace: 'team-a' };

function answer(object: unknown, options: RequestOptions = {}): unknown {
  return fromVerdict(judgeMountPolicyWrite(requestFor(object, { ...WRITE, ...options }), CLUSTER));
}

const NARROW = mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }], maxMounts: 2 });
const WIDE = mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv' }], maxMounts: 9 });

/** The whole answer to WIDE, created or changed into. */
const WIDENS = {
  allowed: false,
  status: {
    code: 403,
    reason: 'Forbidden',
    message:
      'mountgate refused the MountPolicy: spec.allowedHostPaths[0].pathPrefix: "/srv" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it); ' +
      "spec.maxMounts: 9 is more than the cluster policy's maxMounts (4)",
  },
  auditAnnotations: {
    verdict: 'denied',
    rule: 'mount-policy-widens',
    violation: 'spec.allowedHostPaths[0].pathPrefix: "/srv" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)',
  },
};

/** The whole answer to a spec of 64 KiB and one byte, created or changed into. */
const TOO_LARGE = {
  allowed: false,
  status: { code: 403, reason: 'Forbidden', message: 'mountgate refused the MountPolicy: spec takes 65537 bytes as JSON, more than the 65536 (64 KiB) mountgate reads' },
  auditAnnotations: { verdict: 'denied', rule: 'mount-policy-invalid', violation: 'spec takes 65537 bytes as JSON, more than the 65536 (64 KiB) mountgate reads' },
};

const NOT_AN_OBJECT = {
  allowed: false,
  status: {
    code: 403,
    reason: 'Forbidden',
    message: 'mountgate refused the MountPolicy: metadata.namespace is missing (a MountPolicy is namespaced); metadata.name is missing; the object must be a mapping with a spec',
  },
  auditAnnotations: { verdict: 'denied', rule: 'mount-policy-invalid', violation: 'metadata.namespace is missing (a MountPolicy is namespaced)' },
};

describe('admission: MountPolicy writes', () => {
  const rows: Array<[string, unknown, RequestOptions, unknown]> = [
    ['admits a narrowing MountPolicy', NARROW, {}, { allowed: true, auditAnnotations: { verdict: 'allowed' } }],
    [
      'admits with a warning an entry the cluster keeps read-only',
      mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/shared/a' }] }),
      {},
      {
        allowed: true,
        auditAnnotations: { verdict: 'allowed' },
        warnings: [`spec.allowedHostPaths[0]: "/srv/tenants/shared/a" is under the cluster policy's read-only prefix "/srv/tenants/shared", so it is mounted read-only`],
      },
    ],
    ['refuses a widening MountPolicy, naming every field', WIDE, {}, WIDENS],
    [
      'refuses an invalid MountPolicy',
      mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/a', readOnly: 'yes' }] }),
      {},
      {
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: 'mountgate refused the MountPolicy: spec.allowedHostPaths[0].readOnly must be true or false' },
        auditAnnotations: { verdict: 'denied', rule: 'mount-policy-invalid', violation: 'spec.allowedHostPaths[0].readOnly must be true or false' },
      },
    ],
    [
      'refuses a key written without a value (null, which the CRD keeps for this), naming it: it is not read as missing',
      mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/a', readOnly: null }], maxMounts: null }),
      {},
      {
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: 'mountgate refused the MountPolicy: spec.allowedHostPaths[0].readOnly cannot be null; spec.maxMounts cannot be null' },
        auditAnnotations: { verdict: 'denied', rule: 'mount-policy-invalid', violation: 'spec.allowedHostPaths[0].readOnly cannot be null' },
      },
    ],
    ['refuses a MountPolicy whose spec is over 64 KiB as JSON, naming the limit and its size', mountPolicy(specOfBytes(MAX_SPEC_BYTES + 1, '/srv/tenants/team-a')), {}, TOO_LARGE],
    ['admits a MountPolicy whose spec is 64 KiB as JSON', mountPolicy(specOfBytes(MAX_SPEC_BYTES, '/srv/tenants/team-a')), {}, { allowed: true, auditAnnotations: { verdict: 'allowed' } }],
    ['refuses an UPDATE that grows the spec past 64 KiB', mountPolicy(specOfBytes(MAX_SPEC_BYTES + 1, '/srv/tenants/team-a')), { operation: 'UPDATE', oldObject: NARROW }, TOO_LARGE],
    ['judges an UPDATE that changes the spec', WIDE, { operation: 'UPDATE', oldObject: NARROW }, WIDENS],
    ['judges an UPDATE that makes the MountPolicy something other than an object', 'tenant', { operation: 'UPDATE', oldObject: NARROW }, NOT_AN_OBJECT],
    ['leaves alone an UPDATE that keeps the spec (a label on an older MountPolicy)', WIDE, { operation: 'UPDATE', oldObject: WIDE }, { allowed: true }],
    [
      'refuses an UPDATE that keeps the spec but adds a key beside it (a misspelt spec), which the stored MountPolicy would be invalid for',
      { ...NARROW, spce: { allowedHostPaths: [] } },
      { operation: 'UPDATE', oldObject: NARROW },
      {
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: 'mountgate refused the MountPolicy: the MountPolicy has an unknown key: spce' },
        auditAnnotations: { verdict: 'denied', rule: 'mount-policy-invalid', violation: 'the MountPolicy has an unknown key: spce' },
      },
    ],
    [
      'leaves alone an UPDATE that keeps the spec and the rest beside metadata (a label and a status on an older MountPolicy)',
      { ...WIDE, metadata: { ...(WIDE.metadata as object), labels: { team: 'a' } }, status: { observedGeneration: 2 } },
      { operation: 'UPDATE', oldObject: WIDE },
      { allowed: true },
    ],
    ['leaves alone the status subresource', WIDE, { operation: 'UPDATE', subResource: 'status', oldObject: NARROW }, { allowed: true }],
    ['leaves alone other resources of the group', WIDE, { resource: 'others' }, { allowed: true }],
    ['leaves alone other groups', WIDE, { group: 'example.com' }, { allowed: true }],
  ];
  for (const [name, object, options, expected] of rows) {
    it(name, () => {
      expect(answer(object, options)).to.deep.equal(expected);
    });
  }

  it('skips a DELETE without reading it', () => {
    expect(judgeMountPolicyWrite(requestFor(null, { ...WRITE, operation: 'DELETE' }), CLUSTER)).to.equal(SKIPPED);
  });
});
