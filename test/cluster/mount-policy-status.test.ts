import { expect } from 'chai';
import { desiredStatus, MAX_MESSAGE_LENGTH, sameStatus, type MountPolicyStatus } from '../../src/cluster/mount-policy-status.js';
import { compileMountPolicy, MAX_SPEC_BYTES } from '../../src/policy/mount-policy.js';
import { policyOf, specOfBytes } from '../helpers/policies.js';

const CLUSTER = policyOf();
const T0 = '2026-12-05T03:00:00Z';
const T1 = '2026-12-05T04:00:00Z';

function policy(spec: unknown, generation = 3, name = 'tenant') {
  return compileMountPolicy({ apiVersion: 'mountgate.io/v1alpha1', kind: 'MountPolicy', metadata: { namespace: 'team-a', name, generation, uid: `u-${name}` }, spec });
}

interface Row {
  readonly name: string;
  readonly spec: unknown;
  readonly cluster?: ReturnType<typeof policyOf>;
  /** The other MountPolicies of namespace team-a, by name. */
  readonly siblings?: Readonly<Record<string, unknown>>;
  readonly expected: Omit<MountPolicyStatus, 'conditions'> & { readonly ready: { status: string; reason: string; message: string } };
}

const rows: Row[] = [
  {
    name: 'a narrowing MountPolicy: Ready, enforced, with what the namespace may now use',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }, { pathPrefix: '/srv/models/team-a' }] },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [
        { pathPrefix: '/srv/models/team-a', readOnly: true },
        { pathPrefix: '/srv/sandbox/team-a', readOnly: false },
      ],
      ready: {
        status: 'True',
        reason: 'Enforced',
        message: 'mountgate enforces generation 3: Pods of namespace team-a may use host paths under "/srv/models/team-a" (read-only), "/srv/sandbox/team-a"',
      },
    },
  },
  {
    name: 'an empty allow-list: enforced, no host path',
    spec: { allowedHostPaths: [] },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [],
      ready: { status: 'True', reason: 'Enforced', message: 'mountgate enforces generation 3: Pods of namespace team-a may use no host path' },
    },
  },
  {
    name: 'an invalid MountPolicy: not Ready, the problems named, nothing allowed',
    spec: { allowedHostPaths: [{ pathPrefix: 'srv' }], colour: 'blue' },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [],
      ready: {
        status: 'False',
        reason: 'Invalid',
        message: 'mountgate cannot read generation 3, so Pods of namespace team-a get no host path: spec.allowedHostPaths[0].pathPrefix is not absolute; spec has an unknown key: colour',
      },
    },
  },
  {
    name: 'a MountPolicy stored over the size bound: not Ready, its size and the bound named, nothing allowed',
    spec: specOfBytes(MAX_SPEC_BYTES + 1, '/srv/sandbox/team-a'),
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [],
      ready: {
        status: 'False',
        reason: 'Invalid',
        message: 'mountgate cannot read generation 3, so Pods of namespace team-a get no host path: spec takes 65537 bytes as JSON, more than the 65536 (64 KiB) mountgate reads',
      },
    },
  },
  {
    name: 'entries the cluster policy has shrunk away from: still enforced, the message names them',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }, { pathPrefix: '/srv/models/team-a' }], maxMounts: 3 },
    cluster: policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], maxMounts: 2 }),
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a', readOnly: false }],
      ready: {
        status: 'True',
        reason: 'Enforced',
        message:
          'mountgate enforces generation 3: Pods of namespace team-a may use host paths under "/srv/sandbox/team-a"; beyond the cluster policy now, so in force only as far as it also allows: ' +
          'spec.allowedHostPaths[1].pathPrefix: "/srv/models/team-a" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it); ' +
          "spec.maxMounts: 3 is more than the cluster policy's maxMounts (2)",
      },
    },
  },
  {
    name: 'an entry the cluster policy has shrunk to a part of: the part is enforced, the message names the entry',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] },
    cluster: policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a/work' }] }),
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a/work', readOnly: false }],
      ready: {
        status: 'True',
        reason: 'Enforced',
        message:
          'mountgate enforces generation 3: Pods of namespace team-a may use host paths under "/srv/sandbox/team-a/work"; beyond the cluster policy now, so in force only as far as it also allows: ' +
          'spec.allowedHostPaths[0].pathPrefix: "/srv/sandbox/team-a" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)',
      },
    },
  },
  {
    name: 'one sibling: the namespace-wide intersection, the sibling named',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }, { pathPrefix: '/srv/models/team-a' }] },
    siblings: { other: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a/work' }] } },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a/work', readOnly: false }],
      ready: {
        status: 'True',
        reason: 'Enforced',
        message: 'mountgate enforces generation 3: Pods of namespace team-a may use host paths under "/srv/sandbox/team-a/work" (with MountPolicy team-a/other)',
      },
    },
  },
  {
    name: 'two siblings: every one narrows, named in name order; one without allowedHostPaths narrows no path',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }, { pathPrefix: '/srv/models/team-a' }] },
    siblings: { zeta: { allowedHostPaths: [{ pathPrefix: '/srv/models' }] }, alpha: { maxMounts: 1 } },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [{ pathPrefix: '/srv/models/team-a', readOnly: true }],
      ready: {
        status: 'True',
        reason: 'Enforced',
        message: 'mountgate enforces generation 3: Pods of namespace team-a may use host paths under "/srv/models/team-a" (read-only) (with MountPolicies team-a/alpha, team-a/zeta)',
      },
    },
  },
  {
    name: 'a sibling that makes a path read-only: read-only for the namespace',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] },
    siblings: { other: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox', readOnly: true }] } },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a', readOnly: true }],
      ready: {
        status: 'True',
        reason: 'Enforced',
        message: 'mountgate enforces generation 3: Pods of namespace team-a may use host paths under "/srv/sandbox/team-a" (read-only) (with MountPolicy team-a/other)',
      },
    },
  },
  {
    name: 'an invalid sibling: no host path in the namespace, this one still Ready',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] },
    siblings: { broken: { maxMounts: -1 } },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [],
      ready: { status: 'True', reason: 'Enforced', message: 'mountgate enforces generation 3: Pods of namespace team-a may use no host path (with MountPolicy team-a/broken)' },
    },
  },
  {
    name: 'an invalid MountPolicy with a sibling: its own problems only',
    spec: { maxMounts: 'x' },
    siblings: { other: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] } },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [],
      ready: { status: 'False', reason: 'Invalid', message: 'mountgate cannot read generation 3, so Pods of namespace team-a get no host path: spec.maxMounts must be a number' },
    },
  },
  {
    name: 'its own widening note stays its own, after the siblings',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }, { pathPrefix: '/srv/models/team-a' }] },
    cluster: policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }] }),
    siblings: { other: { allowedHostPaths: [{ pathPrefix: '/srv/models/team-a' }], maxMounts: 99 } },
    expected: {
      observedGeneration: 3,
      effectiveAllowedHostPaths: [],
      ready: {
        status: 'True',
        reason: 'Enforced',
        message:
          'mountgate enforces generation 3: Pods of namespace team-a may use no host path (with MountPolicy team-a/other); beyond the cluster policy now, so in force only as far as it also allows: ' +
          'spec.allowedHostPaths[1].pathPrefix: "/srv/models/team-a" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)',
      },
    },
  },
];

describe('cluster/mount-policy-status', () => {
  for (const row of rows) {
    it(row.name, () => {
      const status = desiredStatus(
        row.cluster ?? CLUSTER,
        policy(row.spec),
        Object.entries(row.siblings ?? {}).map(([name, spec]) => policy(spec, 1, name)),
        undefined,
        T0,
      );
      const { ready, ...rest } = row.expected;
      expect(status).to.deep.equal({ ...rest, conditions: [{ type: 'Ready', ...ready, observedGeneration: 3, lastTransitionTime: T0 }] });
    });
  }

  it('keeps lastTransitionTime while Ready keeps its status, and moves it when the status flips', () => {
    const valid = policy({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] }, 3);
    const first = desiredStatus(CLUSTER, valid, [], undefined, T0);
    const newer = desiredStatus(CLUSTER, policy({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a/x' }] }, 4), [], first, T1);
    expect(newer.conditions[0]).to.include({ observedGeneration: 4, lastTransitionTime: T0, status: 'True' });
    const invalid = desiredStatus(CLUSTER, policy({ allowedHostPaths: 'x' }, 5), [], newer, T1);
    expect(invalid.conditions[0]).to.include({ status: 'False', lastTransitionTime: T1 });
  });

  it('is the same status when recomputed on what it wrote (so nothing is written again)', () => {
    const status = desiredStatus(CLUSTER, policy({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] }), [], undefined, T0);
    const stored: unknown = JSON.parse(JSON.stringify(status));
    const again = desiredStatus(CLUSTER, policy({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] }), [], stored, T1);
    expect(sameStatus(stored, again)).to.equal(true);
  });

  const differences: Array<[string, unknown]> = [
    ['no status yet', undefined],
    ['an older generation', { observedGeneration: 2 }],
    ['another effective list', { effectiveAllowedHostPaths: [] }],
    ['another message', { conditions: [{ message: 'old' }] }],
  ];
  for (const [name, change] of differences) {
    it(`differs from a stored status with ${name}`, () => {
      const status = desiredStatus(CLUSTER, policy({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] }), [], undefined, T0);
      const stored =
        change === undefined
          ? undefined
          : {
              ...status,
              ...(typeof change === 'object' && change !== null && 'conditions' in change ? { conditions: [{ ...status.conditions[0], message: 'old' }] } : change),
            };
      expect(sameStatus(stored, status)).to.equal(false);
    });
  }

  it('cuts a message longer than the CRD takes', () => {
    const many = Array.from({ length: 128 }, (_, i) => ({ pathPrefix: `/srv/sandbox/${String(i).padStart(3, '0')}/${'x'.repeat(300)}` }));
    const status = desiredStatus(CLUSTER, policy({ allowedHostPaths: many }), [], undefined, T0);
    const message = status.conditions[0]?.message ?? '';
    expect(message).to.have.length(MAX_MESSAGE_LENGTH);
    expect(message.endsWith(' ... (cut; the whole list is effectiveAllowedHostPaths)')).to.equal(true);
    expect(status.effectiveAllowedHostPaths).to.have.length(128);
  });

  it('cuts a long message before a surrogate pair, never inside it', () => {
    // Paddings of 126 to 164 put the cut inside an emoji; each is tried.
    for (let padding = 126; padding <= 164; padding += 2) {
      const many = Array.from({ length: 128 }, (_, i) => ({ pathPrefix: `/srv/sandbox/${String(i).padStart(3, '0')}/${'x'.repeat(240 + (i === 0 ? padding : 0))}${'😀'.repeat(20)}` }));
      const message = desiredStatus(CLUSTER, policy({ allowedHostPaths: many }), [], undefined, T0).conditions[0]?.message ?? '';
      const beforeCut = message.slice(0, -' ... (cut; the whole list is effectiveAllowedHostPaths)'.length);
      expect(message.length, `padding ${padding}`).to.be.within(MAX_MESSAGE_LENGTH - 1, MAX_MESSAGE_LENGTH);
      expect(/[\uD800-\uDBFF]$/.test(beforeCut), `padding ${padding}: the text before the cut ends in half a surrogate pair`).to.equal(false);
    }
  });

  it('ignores key order in the stored status, at every depth (the API server keeps its own)', () => {
    const status = desiredStatus(CLUSTER, policy({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] }), [], undefined, T0);
    const reversed = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).reverse()) as T;
    const reordered = {
      effectiveAllowedHostPaths: status.effectiveAllowedHostPaths.map(reversed),
      conditions: status.conditions.map(reversed),
      observedGeneration: status.observedGeneration,
    };
    expect(status.effectiveAllowedHostPaths, 'an entry to reorder').to.have.length(1);
    expect(JSON.stringify(reordered.conditions)).not.to.equal(JSON.stringify(status.conditions));
    expect(sameStatus(reordered, status)).to.equal(true);
  });
});
