/**
 * A read-only entry below a read-write one protects its directory: a mount of a
 * path that holds an applicable read-only entry is read-only, since the
 * container would otherwise write there (through the parent, or a subPath).
 * And a requested path is read-only wherever /validate, which sees both lists,
 * will demand it. Whole messages; every allowed Pod is then re-checked by /validate.
 */
import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { denialMessage } from '../../src/admission/verdict.js';
import { describeViolation } from '../../src/admission/violation.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { layeredPolicy } from '../../src/policy/layers.js';
import { parsePolicy } from '../../src/policy/load.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { mountPolicy } from '../helpers/policies.js';
import { expectedVolumeName, FIELD, requestFor, sandboxPod, type RequestOptions } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';

const CLUSTER = parsePolicy(
  JSON.stringify({
    allowedHostPaths: [
      { pathPrefix: '/srv/sandbox' },
      { pathPrefix: '/srv/sandbox/shared', readOnly: true },
      { pathPrefix: '/srv/tenants' },
      { pathPrefix: '/home' },
      { pathPrefix: '/home/*/secrets', readOnly: true },
      { pathPrefix: '/data' },
      { pathPrefix: '/data/{sandboxUser}/keys', readOnly: true },
      { pathPrefix: '/srv/overlap' },
      // Read-only for every namespace but team-a, whose literal entry outranks the pattern at the same paths.
      { pathPrefix: '/v' },
      { pathPrefix: '/v/{namespace}/x', readOnly: true },
      { pathPrefix: '/v/team-a/x' },
    ],
    // The same directory read-only in the other list: /validate demands read-only there.
    // A read-write built-in directory inside a read-only allowed one: for the annotation, the allowed entry decides.
    builtinHostPaths: [
      { pathPrefix: '/skills', readOnly: true },
      { pathPrefix: '/srv/overlap', readOnly: true },
      { pathPrefix: '/.deer-flow/threads' },
      { pathPrefix: '/.deer-flow/threads/frozen', readOnly: true },
      { pathPrefix: '/srv/sandbox/shared/cache' },
    ],
    maxMounts: 10,
    trustedProvisioners: ['provisioner'],
  }),
  'policy.json',
);

// A team's read-write tree with a read-only reference inside it.
const TEAM_A = layeredPolicy(CLUSTER, {
  known: true,
  policies: [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/srv/tenants/team-a/reference', readOnly: true }, { pathPrefix: '/skills' }] }))],
});

const ALICE: RequestOptions = { username: 'alice', groups: [], namespace: 'team-a' };
const PROVISIONER: RequestOptions = { username: 'provisioner', groups: [], namespace: 'team-a' };

function withSandboxUser(pod: Record<string, unknown>, user: string): Record<string, unknown> {
  const metadata = pod.metadata as { annotations?: Record<string, string> };
  return { ...pod, metadata: { ...metadata, annotations: { ...metadata.annotations, 'mountgate.io/sandbox-user': user } } };
}

interface Asked {
  readonly hostPath: string;
  readonly readOnly?: boolean;
}

interface Row {
  readonly name: string;
  readonly asked: Asked;
  readonly policy?: CompiledPolicy;
  /** Asked by the trusted provisioner for this sandbox user (fills {sandboxUser}); by alice otherwise. */
  readonly sandboxUser?: string;
  /** The whole denial, or (when allowed) whether the one mount is read-only. */
  readonly expected: { readonly denied: readonly string[] } | { readonly readOnly: boolean };
}

const holds = (path: string, prefix: string, of = '') => `${FIELD}[0].readOnly: "${path}" holds the read-only prefix "${prefix}"${of} and must be mounted read-only`;
const under = (path: string, prefix: string) => `${FIELD}[0].readOnly: "${path}" is under the read-only prefix "${prefix}" and must be mounted read-only`;

const ROWS: readonly Row[] = [
  { name: 'a parent of a read-only entry, asked read-write', asked: { hostPath: '/srv/sandbox', readOnly: false }, expected: { denied: [holds('/srv/sandbox', '/srv/sandbox/shared')] } },
  { name: 'a parent of a read-only entry, readOnly not given: mounted read-only', asked: { hostPath: '/srv/sandbox' }, expected: { readOnly: true } },
  { name: 'a parent of a read-only entry, asked read-only', asked: { hostPath: '/srv/sandbox', readOnly: true }, expected: { readOnly: true } },
  { name: 'the read-only entry itself, asked read-write', asked: { hostPath: '/srv/sandbox/shared', readOnly: false }, expected: { denied: [under('/srv/sandbox/shared', '/srv/sandbox/shared')] } },
  { name: 'a sibling of the read-only entry stays read-write', asked: { hostPath: '/srv/sandbox/other', readOnly: false }, expected: { readOnly: false } },
  { name: 'a lookalike sibling ("sharedx") stays read-write', asked: { hostPath: '/srv/sandbox/sharedx' }, expected: { readOnly: false } },
  { name: 'a parent of a "*" read-only pattern, asked read-write', asked: { hostPath: '/home', readOnly: false }, expected: { denied: [holds('/home', '/home/*/secrets')] } },
  { name: 'a path the "*" pattern reaches below, asked read-write', asked: { hostPath: '/home/alice', readOnly: false }, expected: { denied: [holds('/home/alice', '/home/*/secrets')] } },
  { name: 'a path beside the "*" pattern stays read-write', asked: { hostPath: '/home/alice/notes' }, expected: { readOnly: false } },
  // {sandboxUser} is not filled for alice (not a trusted provisioner): the entry does not apply.
  { name: 'a read-only pattern whose placeholder is not filled does not apply', asked: { hostPath: '/data', readOnly: false }, expected: { readOnly: false } },
  { name: 'a read-only pattern whose placeholder is filled applies: asked read-write', asked: { hostPath: '/data', readOnly: false }, sandboxUser: 'bob', expected: { denied: [holds('/data', '/data/{sandboxUser}/keys')] } },
  { name: "a read-only pattern whose placeholder is filled applies below the sandbox user's own directory", asked: { hostPath: '/data/bob' }, sandboxUser: 'bob', expected: { readOnly: true } },
  { name: "another user's directory does not hold it: read-write", asked: { hostPath: '/data/alice' }, sandboxUser: 'bob', expected: { readOnly: false } },
  { name: 'a read-only pattern outranked at its own prefix by a read-write entry makes nothing read-only', asked: { hostPath: '/v', readOnly: false }, expected: { readOnly: false } },
  {
    name: 'a read-only allowed entry decides a request even under a longer read-write built-in entry',
    asked: { hostPath: '/srv/sandbox/shared/cache/x', readOnly: false },
    expected: { denied: [under('/srv/sandbox/shared/cache/x', '/srv/sandbox/shared')] },
  },
  { name: 'a directory read-write in one list and read-only in the other, readOnly not given: read-only', asked: { hostPath: '/srv/overlap' }, expected: { readOnly: true } },
  { name: 'a directory read-write in one list and read-only in the other, asked read-write', asked: { hostPath: '/srv/overlap', readOnly: false }, expected: { denied: [under('/srv/overlap', '/srv/overlap')] } },
  {
    name: "a MountPolicy's tree holding its read-only reference, asked read-write",
    asked: { hostPath: '/srv/tenants/team-a', readOnly: false },
    policy: TEAM_A,
    expected: { denied: [holds('/srv/tenants/team-a', '/srv/tenants/team-a/reference', ' of MountPolicy team-a/tenant')] },
  },
  { name: "a MountPolicy's tree holding its read-only reference, readOnly not given: read-only", asked: { hostPath: '/srv/tenants/team-a' }, policy: TEAM_A, expected: { readOnly: true } },
];

describe('admission: a read-only entry below a requested path', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const policy = row.policy ?? CLUSTER;
      const asked = sandboxPod({ mounts: [{ hostPath: row.asked.hostPath, mountPath: '/mnt/work', ...(row.asked.readOnly === undefined ? {} : { readOnly: row.asked.readOnly }) }] });
      const pod = row.sandboxUser === undefined ? asked : withSandboxUser(asked, row.sandboxUser);
      const requester = row.sandboxUser === undefined ? ALICE : PROVISIONER;
      const { verdict, pod: mutated } = mutateTwice(pod, policy, requester);
      if ('denied' in row.expected) {
        expect(verdict.allowed ? [] : verdict.violations.map(describeViolation)).to.deep.equal(row.expected.denied);
        return;
      }
      if (!verdict.allowed) throw new Error(`expected allowed, got ${denialMessage(verdict.violations)}`);
      const mount = { name: expectedVolumeName(row.asked.hostPath), mountPath: '/mnt/work' };
      const containers = (mutated as { spec: { containers: Array<{ volumeMounts?: Array<{ name: string }> }> } }).spec.containers;
      const injected = (containers[0]?.volumeMounts ?? []).filter((m) => m.name.startsWith('mountgate-'));
      expect(injected).to.deep.equal([row.expected.readOnly ? { ...mount, readOnly: true, recursiveReadOnly: 'IfPossible' } : mount]);
      // What /mutate made, /validate admits.
      const validated = decide('validate', requestFor(mutated, requester), policy);
      expect(validated.allowed ? [] : validated.violations.map(describeViolation)).to.deep.equal([]);
    });
  }
});

describe('admission: a hand-written volume holding a read-only entry', () => {
  const handWritten = (readOnly: boolean, subPath?: string) =>
    sandboxPod({
      volumes: [{ name: 'tree', hostPath: { path: '/.deer-flow/threads' } }],
      containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'tree', mountPath: '/work', readOnly, ...(subPath === undefined ? {} : { subPath }) }] }],
    });
  const refused = 'spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/.deer-flow/threads" read-write, but "/.deer-flow/threads/frozen" inside it is read-only';
  // The kubelet creates a missing subPath inside the volume before it mounts it, read-only or not.
  const subPath = (value: string) =>
    `spec.containers[0].volumeMounts[0].subPath: container "sandbox" mounts "/.deer-flow/threads" with subPath "${value}", which the kubelet creates when it is missing, ` +
    'but "/.deer-flow/threads/frozen" inside it is read-only; mount the subdirectory as a hostPath volume of its own';
  const rows: ReadonlyArray<[string, Record<string, unknown>, readonly string[]]> = [
    ['mounted read-write', handWritten(false), [refused]],
    ['mounted read-write with a subPath into the read-only entry', handWritten(false, 'frozen'), [refused, subPath('frozen')]],
    ['mounted read-only', handWritten(true), []],
    ['mounted read-only with a subPath into the read-only entry', handWritten(true, 'frozen'), [subPath('frozen')]],
    ['mounted read-only with a subPath beside the read-only entry', handWritten(true, 'other'), [subPath('other')]],
  ];
  const builtin = parsePolicy(JSON.stringify({ ...CLUSTER.spec, handWrittenHostPaths: 'builtin' }), 'policy.json');
  for (const [name, pod, expected] of rows) {
    for (const [setting, policy] of [['allowed', CLUSTER], ['builtin', builtin]] as const) {
      it(`${name} (handWrittenHostPaths: ${setting})`, () => {
        const verdict = decide('validate', requestFor(pod, ALICE), policy);
        expect(verdict.allowed ? [] : verdict.violations.map(describeViolation)).to.deep.equal(expected);
      });
    }
  }
});
