import { expect } from 'chai';
import { decide, type Stage } from '../../src/admission/decide.js';
import type { ClusterFacts } from '../../src/admission/pod-security.js';
import { judgeMountPolicyWrite } from '../../src/admission/mount-policy-write.js';
import { errored, fromVerdict, MAX_AUDIT_VIOLATION_LENGTH, toReview } from '../../src/admission/response.js';
import { denialMessage, MAX_VIOLATION_TEXT } from '../../src/admission/verdict.js';
import { MAX_NAMED_VIOLATIONS, RULES, violation, type Rule } from '../../src/admission/violation.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { policyOf } from '../helpers/policies.js';
import { expectedVolumeName, FIELD, requestFor, sandboxPod, type RequestOptions } from '../helpers/pods.js';

const UID = '3f1c2f2e-1111-4a4a-9b9b-000000000001';
const POLICY = policyOf();
const MOUNT_POLICY_WRITE: RequestOptions = { group: 'mountgate.io', resource: 'mountpolicies', namespace: 'team-a' };

interface Row {
  readonly name: string;
  readonly stage: Stage;
  readonly pod: unknown;
  readonly policy?: CompiledPolicy;
  readonly request?: RequestOptions;
  readonly facts?: ClusterFacts;
  /** A MountPolicy being written (/validate-mountpolicy) instead of a Pod. */
  readonly mountPolicyWrite?: true;
}

function verdictOf(row: Row) {
  const request = requestFor(row.pod, row.request);
  const policy = row.policy ?? POLICY;
  return row.mountPolicyWrite ? judgeMountPolicyWrite(request, policy) : decide(row.stage, request, policy, row.facts);
}

function answer(row: Row): unknown {
  return toReview(UID, fromVerdict(verdictOf(row))).response;
}

const base64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');
const mounts = (count: number) => Array.from({ length: count }, (_, i) => ({ hostPath: `/srv/sandbox/${i}`, mountPath: `/mnt/${i}` }));

describe('admission/response: every answer, whole', () => {
  const rows: ReadonlyArray<Row & { readonly expected: unknown }> = [
    {
      name: 'a review that is not a Pod CREATE: allowed, and no decision to record',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/etc', mountPath: '/x' }] }),
      request: { operation: 'UPDATE' },
      expected: { uid: UID, allowed: true },
    },
    {
      name: 'an ephemeral containers update at /mutate: allowed, and no decision to record (/validate judges it)',
      stage: 'mutate',
      pod: sandboxPod(),
      request: { operation: 'UPDATE', subResource: 'ephemeralcontainers' },
      expected: { uid: UID, allowed: true },
    },
    {
      name: 'an ephemeral containers update at /validate: a decision, recorded',
      stage: 'validate',
      pod: sandboxPod(),
      request: { operation: 'UPDATE', subResource: 'ephemeralcontainers' },
      expected: { uid: UID, allowed: true, auditAnnotations: { verdict: 'allowed' } },
    },
    {
      name: 'a Pod with nothing to add: allowed without a patch, recorded as allowed',
      stage: 'mutate',
      pod: sandboxPod(),
      expected: { uid: UID, allowed: true, auditAnnotations: { verdict: 'allowed' } },
    },
    {
      name: 'a Pod with a repeated request: the patch, the warning and the verdict',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/a' }, { hostPath: '/srv/sandbox/a', mountPath: '/mnt/a' }] }),
      expected: {
        uid: UID,
        allowed: true,
        patchType: 'JSONPatch',
        patch: base64([
          {
            op: 'add',
            path: '/spec/volumes/1',
            value: { name: expectedVolumeName('/srv/sandbox/a'), hostPath: { path: '/srv/sandbox/a', type: 'DirectoryOrCreate' } },
          },
          { op: 'add', path: '/spec/containers/0/volumeMounts/1', value: { name: expectedVolumeName('/srv/sandbox/a'), mountPath: '/mnt/a' } },
        ]),
        auditAnnotations: { verdict: 'allowed' },
        warnings: [`${FIELD}[1] repeats entry [0] (/srv/sandbox/a at /mnt/a); merged into one mount`],
      },
    },
    {
      name: 'a broken rule: 403 Forbidden, every violation in the message, the first in the audit annotations',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/etc', mountPath: '/mnt/etc' }, { hostPath: '/srv/sandbox/a', mountPath: '/proc/a' }] }),
      expected: {
        uid: UID,
        allowed: false,
        status: {
          code: 403,
          reason: 'Forbidden',
          message: `mountgate denied the Pod: ${FIELD}[0].hostPath: "/etc" is not under any allowed host path; ${FIELD}[1].mountPath: "/proc/a" is inside the reserved path "/proc"`,
        },
        auditAnnotations: { verdict: 'denied', rule: 'host-path-not-allowed', violation: `${FIELD}[0].hostPath: "/etc" is not under any allowed host path` },
      },
    },
    {
      name: 'a broken rule with a warning: the warning stays',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [...mounts(3), { hostPath: '/srv/sandbox/3', mountPath: '/mnt/3' }, { hostPath: '/srv/sandbox/3', mountPath: '/mnt/3' }] }),
      expected: {
        uid: UID,
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: `mountgate denied the Pod: ${FIELD}: asks for 4 mounts, more than maxMounts (3)` },
        auditAnnotations: { verdict: 'denied', rule: 'max-mounts', violation: `${FIELD}: asks for 4 mounts, more than maxMounts (3)` },
        warnings: [`${FIELD}[4] repeats entry [3] (/srv/sandbox/3 at /mnt/3); merged into one mount`],
      },
    },
    {
      name: 'an object that is not a readable Pod: 400 BadRequest',
      stage: 'validate',
      pod: { metadata: {}, spec: { containers: 'sandbox' } },
      expected: {
        uid: UID,
        allowed: false,
        status: { code: 400, reason: 'BadRequest', message: 'mountgate denied the Pod: request.object: is not a readable Pod: spec.containers must be a list' },
        auditAnnotations: { verdict: 'denied', rule: 'unreadable-pod', violation: 'request.object: is not a readable Pod: spec.containers must be a list' },
      },
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(answer(row)).to.deep.equal(row.expected);
    });
  }

  const failures: ReadonlyArray<[string, unknown, string]> = [
    ['an Error', new Error('policy index broken'), 'mountgate could not decide: policy index broken'],
    ['anything else thrown', 'a string', 'mountgate could not decide: a string'],
    ['an object that cannot be made a string', Object.create(null), 'mountgate could not decide: a thrown value that cannot be shown'],
    [
      'an Error whose message throws',
      Object.defineProperty(new Error('x'), 'message', { get: () => { throw new Error('no'); } }),
      'mountgate could not decide: a thrown value that cannot be shown',
    ],
  ];
  for (const [name, thrown, message] of failures) {
    it(`a handler that threw ${name}: 500 InternalError, denied (fail closed), recorded as internal-error`, () => {
      expect(toReview(UID, errored(thrown))).to.deep.equal({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: UID,
          allowed: false,
          status: { code: 500, reason: 'InternalError', message },
          auditAnnotations: { verdict: 'denied', rule: 'internal-error', violation: message },
        },
      });
    });
  }

  describe('the violation annotation is bounded', () => {
    const field = `${FIELD}[0].hostPath`;
    // Room for the field, `: "`, and the path up to the cut.
    const room = MAX_AUDIT_VIOLATION_LENGTH - 1 - `${field}: "`.length;
    const cases: ReadonlyArray<[string, string, string]> = [
      ['a long path is cut, with an ellipsis', `/etc/${'a'.repeat(3000)}`, `${field}: "/etc/${'a'.repeat(room - 5)}…`],
      ['a cut never splits a surrogate pair', `/etc/${'a'.repeat(room - 6)}😀${'b'.repeat(100)}`, `${field}: "/etc/${'a'.repeat(room - 6)}…`],
    ];
    for (const [name, hostPath, violation] of cases) {
      it(name, () => {
        const response = fromVerdict(decide('mutate', requestFor(sandboxPod({ mounts: [{ hostPath, mountPath: '/mnt/x' }] })), POLICY));
        expect(response.auditAnnotations).to.deep.equal({ verdict: 'denied', rule: 'host-path-not-allowed', violation });
        expect(violation.length).to.be.at.most(MAX_AUDIT_VIOLATION_LENGTH);
      });
    }
  });
});

describe('admission/response: the denial message is bounded', () => {
  const field = `${FIELD}[0].hostPath`;
  const rule = '" is not under any allowed host path';
  it('a violation at the limit is named whole', () => {
    const hostPath = `/etc/${'a'.repeat(MAX_VIOLATION_TEXT - `${field}: "/etc/`.length - rule.length)}`;
    const response = fromVerdict(decide('mutate', requestFor(sandboxPod({ mounts: [{ hostPath, mountPath: '/mnt/x' }] })), POLICY));
    expect(response.status?.message).to.equal(`mountgate denied the Pod: ${field}: "${hostPath}${rule}`);
  });
  it('a longer one is cut in the middle: its field, the start of the path, the end of the path and the rule stay', () => {
    const hostPath = `/etc/${'a'.repeat(3000)}z`;
    // 1,023 characters of room beside the ellipsis: 768 from the start, 255 from the end.
    const start = `${field}: "/etc/`;
    const expected = `mountgate denied the Pod: ${start}${'a'.repeat(768 - start.length)}…${'a'.repeat(255 - 'z'.length - rule.length)}z${rule}`;
    const response = fromVerdict(decide('mutate', requestFor(sandboxPod({ mounts: [{ hostPath, mountPath: '/mnt/x' }] })), POLICY));
    expect(response.status?.message).to.equal(expected);
  });
  it('exactly twenty violations are all named, and no count follows them', () => {
    const [first, ...rest] = Array.from({ length: MAX_NAMED_VIOLATIONS }, (_, i) => violation('host-path-not-allowed', `${FIELD}[${i}].hostPath`, `"/etc/${i}" is not under any allowed host path`));
    if (first === undefined) throw new Error('no violation');
    const message = denialMessage([first, ...rest]);
    expect(message.split('; ')).to.have.length(MAX_NAMED_VIOLATIONS);
    expect(message.endsWith(`${FIELD}[19].hostPath: "/etc/19" is not under any allowed host path`)).to.equal(true);
  });
  it('twenty cut violations and the count of the rest stay under 21,000 characters', () => {
    const long = Array.from({ length: MAX_NAMED_VIOLATIONS + 5 }, (_, i) => violation('host-path-not-allowed', `${FIELD}[${i}].hostPath`, `"/etc/${'x'.repeat(250_000)}" is not under any allowed host path`));
    const [first, ...rest] = long;
    if (first === undefined) throw new Error('no violation');
    const message = denialMessage([first, ...rest]);
    expect(message.length).to.be.below(21_000);
    expect(message.split('; ')).to.have.length(MAX_NAMED_VIOLATIONS + 1);
    expect(message.endsWith('; and 5 more')).to.equal(true);
  });
});

describe('admission/violation: each rule, named by the violation that breaks it', () => {
  const manyContainers = Array.from({ length: 3334 }, (_, i) => ({ name: `c${i}`, image: 'x' }));
  const annotated = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/a' }] });
  const rows: ReadonlyArray<Row & { readonly rule: Rule; readonly violation: string }> = [
    { rule: 'unreadable-pod', name: 'a Pod without a readable spec', stage: 'mutate', pod: { spec: {} }, violation: 'request.object: is not a readable Pod: spec.containers is required' },
    { rule: 'malformed-annotation', name: 'an annotation that is not an array', stage: 'mutate', pod: sandboxPod({ mounts: '{}' }), violation: `${FIELD}: must be a JSON array of mounts` },
    {
      rule: 'invalid-path',
      name: 'a hostPath with a ".." segment',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/../etc', mountPath: '/mnt/x' }] }),
      violation: `${FIELD}[0].hostPath: "/srv/sandbox/../etc" has a ".." segment`,
    },
    {
      rule: 'host-mounts-disabled',
      name: 'any request when allowedHostPaths is empty',
      stage: 'mutate',
      pod: annotated,
      policy: policyOf({ allowedHostPaths: [] }),
      violation: `${FIELD}: host mounts are disabled by policy (allowedHostPaths is empty)`,
    },
    {
      rule: 'host-path-not-allowed',
      name: 'a hostPath outside the allow-list',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/etc', mountPath: '/mnt/x' }] }),
      violation: `${FIELD}[0].hostPath: "/etc" is not under any allowed host path`,
    },
    {
      rule: 'read-only-required',
      name: 'a read-write request under a read-only prefix',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/srv/models/a', mountPath: '/mnt/x', readOnly: false }] }),
      violation: `${FIELD}[0].readOnly: "/srv/models/a" is under the read-only prefix "/srv/models" and must be mounted read-only`,
    },
    {
      rule: 'system-mount-path',
      name: 'a mountPath in /dev',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/dev/x' }] }),
      violation: `${FIELD}[0].mountPath: "/dev/x" is inside the reserved path "/dev"`,
    },
    {
      rule: 'system-mount-path',
      name: 'a mountPath of /',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/' }] }),
      violation: `${FIELD}[0].mountPath: "/" cannot be a mount target`,
    },
    {
      rule: 'reserved-mount-path',
      name: 'a mountPath in reservedMountPaths',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/user-data/x' }] }),
      violation: `${FIELD}[0].mountPath: "/mnt/user-data/x" is inside the reserved path "/mnt/user-data"`,
    },
    {
      rule: 'mount-path-in-use',
      name: 'a mountPath inside a mount the container has',
      stage: 'mutate',
      pod: sandboxPod({
        mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/data/x' }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', emptyDir: {} }],
      }),
      violation: `${FIELD}[0].mountPath: "/data/x" is inside "/data", already mounted in container "sandbox"`,
    },
    {
      rule: 'mount-path-conflict',
      name: 'two requests for one mountPath',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/x' }, { hostPath: '/srv/sandbox/b', mountPath: '/mnt/x' }] }),
      violation: `${FIELD}[1].mountPath: "/mnt/x" is also requested by entry [0] with a different hostPath or readOnly`,
    },
    { rule: 'max-mounts', name: 'more requests than maxMounts', stage: 'mutate', pod: sandboxPod({ mounts: mounts(4) }), violation: `${FIELD}: asks for 4 mounts, more than maxMounts (3)` },
    {
      rule: 'too-many-injected-mounts',
      name: 'three mounts into each of 3334 containers',
      stage: 'mutate',
      pod: sandboxPod({ mounts: mounts(3), containers: manyContainers, volumes: [] }),
      violation: 'spec.containers: 3 mounts into each of 3334 containers is more than the 10000 mounts mountgate adds to one Pod',
    },
    {
      rule: 'volume-name-collision',
      name: 'two host paths whose volume names collide',
      stage: 'mutate',
      pod: sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/c5pdhk', mountPath: '/a' }, { hostPath: '/srv/sandbox/cfqctb', mountPath: '/b' }] }),
      violation: `${FIELD}[1].hostPath: "/srv/sandbox/cfqctb" would have the volume name "mountgate-12d2343d2be3", which "/srv/sandbox/c5pdhk" of entry [0] has: one Pod cannot carry both, so ask for one of them`,
    },
    {
      rule: 'requester-not-allowed',
      name: 'a requester who is not listed',
      stage: 'mutate',
      pod: annotated,
      policy: policyOf({ requesters: ['alice'] }),
      request: { username: 'bob', groups: [] },
      violation: 'request.userInfo: user "bob" may not request host mounts (not in requesters)',
    },
    {
      rule: 'no-target-container',
      name: 'no container of the listed names',
      stage: 'mutate',
      pod: annotated,
      policy: policyOf({ containers: ['agent'] }),
      violation: 'spec.containers: the Pod has no container named "agent" to mount into',
    },
    {
      rule: 'injection-mismatch',
      name: 'a mountgate- volume the annotation does not ask for',
      stage: 'validate',
      pod: sandboxPod({
        mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/a' }],
        volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }, { name: 'mountgate-000000000000', hostPath: { path: '/srv/sandbox/a' } }],
      }),
      violation: 'spec.volumes[1]: volume "mountgate-000000000000" does not match what this request adds',
    },
    {
      rule: 'injection-missing',
      name: 'an annotated Pod that skipped /mutate',
      stage: 'validate',
      pod: annotated,
      violation: `spec.volumes: requested mount is missing: volume "${expectedVolumeName('/srv/sandbox/a')}" for /srv/sandbox/a (mutation skipped or altered)`,
    },
    {
      rule: 'host-path-volume-not-allowed',
      name: 'a hand-written hostPath volume outside both lists',
      stage: 'validate',
      pod: sandboxPod({ volumes: [{ name: 'docker', hostPath: { path: '/var/run/docker.sock' } }] }),
      violation: 'spec.volumes[0].hostPath.path: "/var/run/docker.sock" is not under any allowed or built-in host path',
    },
    {
      rule: 'host-path-volume-read-write',
      name: 'a read-only built-in mounted read-write',
      stage: 'validate',
      pod: sandboxPod({ containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills' }] }] }),
      violation: 'spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/skills" read-write, but "/skills" is read-only',
    },
    {
      rule: 'host-path-volume-creates',
      name: 'a read-only built-in mounted with a subPath',
      stage: 'validate',
      pod: sandboxPod({ containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true, subPath: 'new' }] }] }),
      violation:
        'spec.containers[0].volumeMounts[0].subPath: container "sandbox" mounts "/skills" with subPath "new", which the kubelet creates when it is missing, but "/skills" is read-only; mount the subdirectory as a hostPath volume of its own',
    },
    {
      rule: 'annotation-fixed-at-creation',
      name: 'a Pod update that adds the annotation to a Pod without its mounts',
      stage: 'validate',
      pod: annotated,
      request: { operation: 'UPDATE', oldObject: sandboxPod() },
      violation: `${FIELD}: was added by an update, but host mounts are fixed when a Pod is created: create a new Pod that carries the annotation instead`,
    },
    {
      rule: 'sandbox-user-not-trusted',
      name: 'a Pod with hostPath volumes created with the sandbox-user annotation by someone not trusted',
      stage: 'validate',
      pod: { ...sandboxPod(), metadata: { name: 'sandbox-1', namespace: 'agents', annotations: { 'mountgate.io/sandbox-user': 'u3' } } },
      policy: policyOf({ trustedProvisioners: ['group:provisioners'] }),
      violation:
        'metadata.annotations[mountgate.io/sandbox-user]: names the sandbox user of a Pod with hostPath volumes, which only trustedProvisioners may do, and user "system:serviceaccount:deer-flow:provisioner" is not in trustedProvisioners',
    },
    {
      rule: 'pod-security-baseline',
      name: 'a privileged container',
      stage: 'validate',
      pod: sandboxPod({ containers: [{ name: 'sandbox', image: 'x', securityContext: { privileged: true } }] }),
      violation:
        'spec.containers[0].securityContext.privileged: must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node (podSecurity: baseline)',
    },
    {
      rule: 'pod-security-level',
      name: 'host mounts in a namespace that enforces baseline',
      stage: 'mutate',
      pod: annotated,
      facts: { namespacePodSecurity: 'baseline' },
      violation:
        'request.namespace: namespace "agents" enforces Pod Security level "baseline", which forbids hostPath volumes; label it ' +
        'pod-security.kubernetes.io/enforce=privileged (kubectl label namespace agents pod-security.kubernetes.io/enforce=privileged --overwrite) or exempt it to use host mounts',
    },
    {
      rule: 'mount-policy-invalid',
      name: 'a MountPolicy with a relative prefix',
      stage: 'validate',
      mountPolicyWrite: true,
      pod: { metadata: { namespace: 'team-a', name: 'tenant' }, spec: { allowedHostPaths: [{ pathPrefix: 'srv' }] } },
      request: MOUNT_POLICY_WRITE,
      violation: 'spec.allowedHostPaths[0].pathPrefix is not absolute',
    },
    {
      rule: 'mount-policy-widens',
      name: 'a MountPolicy that reaches outside the cluster policy',
      stage: 'validate',
      mountPolicyWrite: true,
      pod: { metadata: { namespace: 'team-a', name: 'tenant' }, spec: { allowedHostPaths: [{ pathPrefix: '/srv' }] } },
      request: MOUNT_POLICY_WRITE,
      violation:
        'spec.allowedHostPaths[0].pathPrefix: "/srv" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)',
    },
  ];
  for (const row of rows) {
    it(`${row.rule}: ${row.name}`, () => {
      expect(fromVerdict(verdictOf(row)).auditAnnotations).to.deep.equal({
        verdict: 'denied',
        rule: row.rule,
        violation: row.violation,
      });
    });
  }

  it('every rule has a row above', () => {
    expect([...new Set(rows.map((row) => row.rule))].sort()).to.deep.equal([...RULES].sort());
  });
});
