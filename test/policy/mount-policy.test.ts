/**
 * A MountPolicy object compiled as the cache and the write webhook see it;
 * what reaches outside the cluster policy; what it leaves in effect.
 */
import { expect } from 'chai';
import { prefixCovers, prefixMeet, segmentsCover, segmentsMeet, type ComparisonCost } from '../../src/policy/containment.js';
import {
  describeEffective,
  effectiveAllowedHostPaths,
  MAX_EFFECTIVE_CHARACTERS,
  MAX_EFFECTIVE_ENTRIES,
  MAX_EFFECTIVE_STEPS,
  TOO_MANY_TO_LIST,
} from '../../src/policy/effective.js';
import { compileMountPolicy, MAX_SPEC_BYTES, narrowingWarnings, wideningProblems } from '../../src/policy/mount-policy.js';
import { parsePolicy } from '../../src/policy/load.js';
import { parsePattern } from '../../src/policy/patterns.js';
import { mountPolicy, specOfBytes } from '../helpers/policies.js';

const CLUSTER = parsePolicy(
  JSON.stringify({
    allowedHostPaths: [
      { pathPrefix: '/srv/tenants' },
      { pathPrefix: '/srv/tenants/shared', readOnly: true },
      { pathPrefix: '/srv/users/{sandboxUser}' },
      { pathPrefix: '/data/*/public', readOnly: true },
    ],
    builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }],
    maxMounts: 5,
  }),
  'cluster.json',
);

describe('policy: MountPolicy objects', () => {
  describe('compileMountPolicy', () => {
    it('reads the identity and a valid spec, trimming a trailing "/"', () => {
      const policy = compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a/' }], maxMounts: 2 }));
      expect(policy.problems).to.deep.equal([]);
      expect(policy.ref).to.deep.equal({ namespace: 'team-a', name: 'tenant' });
      expect([policy.generation, policy.uid]).to.deep.equal([2, 'u-1']);
      expect(policy.spec).to.deep.equal({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a', readOnly: false }], reservedMountPaths: [], maxMounts: 2 });
      expect(policy.layer?.name).to.equal('MountPolicy team-a/tenant');
      expect(policy.layer?.closed).to.equal(undefined);
    });

    it('reads a spec of exactly 65 536 bytes as JSON (the bound is inclusive)', () => {
      const spec = specOfBytes(MAX_SPEC_BYTES, '/srv/tenants/team-a', 'é');
      const policy = compileMountPolicy(mountPolicy(spec));
      expect(policy.problems).to.deep.equal([]);
      expect(policy.spec?.allowedHostPaths).to.have.length(spec.allowedHostPaths.length);
    });

    it('has no path layer without allowedHostPaths, and a closed one with an empty list', () => {
      expect(compileMountPolicy(mountPolicy({ maxMounts: 1 })).layer).to.equal(undefined);
      expect(compileMountPolicy(mountPolicy(undefined)).problems).to.deep.equal([]);
      expect(compileMountPolicy(mountPolicy({ allowedHostPaths: [] })).layer?.closed).to.equal('its allowedHostPaths is empty');
    });

    const invalid: Array<[string, unknown, string[]]> = [
      ['a relative prefix', mountPolicy({ allowedHostPaths: [{ pathPrefix: 'srv' }] }), ['spec.allowedHostPaths[0].pathPrefix is not absolute']],
      ['the root', mountPolicy({ allowedHostPaths: [{ pathPrefix: '/' }] }), ['spec.allowedHostPaths[0].pathPrefix must not be "/" (that would allow the whole node)']],
      ['a ".." segment', mountPolicy({ reservedMountPaths: ['/a/../b'] }), ['spec.reservedMountPaths[0] has a ".." segment']],
      ['a backslash in a prefix', mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/x\\..\\..' }] }), ['spec.allowedHostPaths[0].pathPrefix contains a backslash, a path separator on Windows nodes']],
      ['a pattern as a reserved path', mountPolicy({ reservedMountPaths: ['/a/*'] }), ['spec.reservedMountPaths[0] takes no "*" or placeholders (a reserved path covers everything under it)']],
      ['a negative maxMounts', mountPolicy({ maxMounts: -1 }), ['spec.maxMounts must not be negative']],
      ['an unknown key', mountPolicy({ allowedPaths: [] }), ['spec has an unknown key: allowedPaths']],
      ['five unknown keys, all named', mountPolicy({ a: 1, b: 1, c: 1, d: 1, e: 1 }), ['spec has an unknown key: a, b, c, d, e']],
      ['3,000 unknown keys, five named', mountPolicy(Object.fromEntries(Array.from({ length: 3000 }, (_, index) => [`k${index}`, 1]))), ['spec has an unknown key: k0, k1, k2, k3, k4 and 2,995 more']],
      [
        '3,000 unknown keys in an allowedHostPaths entry',
        mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv', ...Object.fromEntries(Array.from({ length: 3000 }, (_, index) => [`k${index}`, 1])) }] }),
        ['spec.allowedHostPaths[0] has an unknown key: k0, k1, k2, k3, k4 and 2,995 more'],
      ],
      ['a spec that is a list', mountPolicy([]), ['spec must be a mapping of keys such as allowedHostPaths']],
      // A misspelt spec, kept by the CRD: read as a MountPolicy without spec, it would narrow nothing.
      ['an unknown key beside spec', { ...mountPolicy(undefined), sepc: { allowedHostPaths: [] } }, ['the MountPolicy has an unknown key: sepc']],
      ['no name or namespace', { spec: {} }, ['metadata.namespace is missing (a MountPolicy is namespaced)', 'metadata.name is missing']],
      ['not an object', 'x', ['metadata.namespace is missing (a MountPolicy is namespaced)', 'metadata.name is missing', 'the object must be a mapping with a spec']],
      // The CRD allows 128; a body that reaches /validate-mountpolicy some other way must not cost yup one error each.
      ['an allowedHostPaths list of 300 000 entries, before any is read', mountPolicy({ allowedHostPaths: new Array<number>(300_000).fill(0) }), ['spec.allowedHostPaths has 300000 entries, more than the 256 mountgate reads']],
      ['a reservedMountPaths list of 257 entries', mountPolicy({ reservedMountPaths: new Array<string>(257).fill('/x') }), ['spec.reservedMountPaths has 257 entries, more than the 256 mountgate reads']],
      // Every replica lists every MountPolicy of the cluster: a spec of 1 MiB was valid, and 70 of them failed every list.
      ['a spec of 65 537 bytes as JSON', mountPolicy(specOfBytes(MAX_SPEC_BYTES + 1, '/srv/tenants/team-a')), ['spec takes 65537 bytes as JSON, more than the 65536 (64 KiB) mountgate reads']],
      ['a spec of 1 MiB as JSON', mountPolicy(specOfBytes(1024 * 1024, '/srv/tenants/team-a', 'é')), ['spec takes 1048576 bytes as JSON, more than the 65536 (64 KiB) mountgate reads']],
      // Bytes, not characters: the page the API server lists is bytes.
      ['a spec of 80 000 bytes in two-byte characters (some 40 000 characters)', mountPolicy(specOfBytes(80_000, '/srv/tenants/team-a', 'é')), ['spec takes 80000 bytes as JSON, more than the 65536 (64 KiB) mountgate reads']],
      [
        'thirty bad entries: the first ten named, then how many more',
        mountPolicy({ allowedHostPaths: new Array<number>(30).fill(0) }),
        [...Array.from({ length: 10 }, (_, index) => `spec.allowedHostPaths[${index}] must be a mapping with pathPrefix and readOnly`), 'and 20 more problems'],
      ],
    ];
    for (const [name, object, problems] of invalid) {
      it(`refuses ${name}, and then allows no host path`, () => {
        const policy = compileMountPolicy(object);
        expect(policy.problems).to.deep.equal(problems);
        expect(policy.spec).to.equal(undefined);
        expect(policy.layer?.closed).to.equal(`it is invalid, so it allows no host path: ${problems.join('; ')}`);
      });
    }
  });

  describe('wideningProblems', () => {
    const rows: Array<[string, unknown, string[]]> = [
      ['a subtree of an allowed entry', { allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }] }, []],
      ['a built-in', { allowedHostPaths: [{ pathPrefix: '/skills/x' }] }, []],
      ['the same placeholder, deeper', { allowedHostPaths: [{ pathPrefix: '/srv/users/{sandboxUser}/work' }] }, []],
      ['a literal under "*"', { allowedHostPaths: [{ pathPrefix: '/data/d1/public/x' }] }, []],
      ['"*" under "*"', { allowedHostPaths: [{ pathPrefix: '/data/*/public' }] }, []],
      ['a maxMounts at the cluster\'s', { maxMounts: 5 }, []],
      [
        'a tree outside',
        { allowedHostPaths: [{ pathPrefix: '/srv/tenants/a' }, { pathPrefix: '/srv/other' }] },
        ['spec.allowedHostPaths[1].pathPrefix: "/srv/other" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)'],
      ],
      [
        'a parent of an allowed entry',
        { allowedHostPaths: [{ pathPrefix: '/srv' }] },
        ['spec.allowedHostPaths[0].pathPrefix: "/srv" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)'],
      ],
      [
        'a literal where the cluster has a placeholder',
        { allowedHostPaths: [{ pathPrefix: '/srv/users/u3' }] },
        ['spec.allowedHostPaths[0].pathPrefix: "/srv/users/u3" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)'],
      ],
      [
        'another placeholder',
        { allowedHostPaths: [{ pathPrefix: '/srv/users/{user}' }] },
        ['spec.allowedHostPaths[0].pathPrefix: "/srv/users/{user}" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)'],
      ],
      [
        '"*" where the cluster has a literal',
        { allowedHostPaths: [{ pathPrefix: '/data/*/*' }] },
        ['spec.allowedHostPaths[0].pathPrefix: "/data/*/*" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)'],
      ],
      ['a larger maxMounts', { maxMounts: 6 }, ["spec.maxMounts: 6 is more than the cluster policy's maxMounts (5)"]],
    ];
    for (const [name, spec, problems] of rows) {
      it(`${problems.length === 0 ? 'accepts' : 'refuses'} ${name}`, () => {
        expect(wideningProblems(CLUSTER, compileMountPolicy(mountPolicy(spec)))).to.deep.equal(problems);
      });
    }
  });

  describe("the cluster's {namespace} at write time", () => {
    const perNamespace = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/{namespace}' }] }), 'cluster.json');

    it("is the MountPolicy's own namespace: its Pods are the only ones it judges", () => {
      expect(wideningProblems(perNamespace, compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a/work' }] })))).to.deep.equal([]);
      expect(effectiveAllowedHostPaths(perNamespace, 'team-a', [compileMountPolicy(mountPolicy({ maxMounts: 1 }))]).entries).to.deep.equal([{ pathPrefix: '/srv/tenants/team-a', readOnly: false }]);
    });

    // A status holds prefixes of at most 4096 characters (the CRD's maxLength), and no path longer than that is admitted.
    it('leaves out a filled prefix longer than any path may be, with nothing missing: it matches no path', () => {
      const long = `/l/{namespace}/${'a'.repeat(4096 - '/l/{namespace}/'.length)}`;
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: long }, { pathPrefix: '/srv/{namespace}' }] }), 'cluster.json');
      const namespace = 'n'.repeat(63);
      expect(effectiveAllowedHostPaths(cluster, namespace, [compileMountPolicy(mountPolicy({ maxMounts: 2 }))])).to.deep.equal({
        entries: [{ pathPrefix: `/srv/${namespace}`, readOnly: false }],
        complete: true,
      });
      // In a namespace of one letter the filled prefix fits, and is listed.
      expect(effectiveAllowedHostPaths(cluster, 'n', []).entries.map((entry) => entry.pathPrefix.length)).to.deep.equal([4096 - '{namespace}'.length + 1, '/srv/n'.length]);
    });

    it('leaves out a prefix some path matches but a status cannot hold, and says the list is not complete', () => {
      // Filled with a namespace of 20, the prefix grows past 4096; "{user}" and "{sandboxUser}" stand for names as
      // short as one character, so paths of 4096 or less still match it.
      const head = '/l/{user}/{sandboxUser}/{namespace}/';
      const long = `${head}${'a'.repeat(4096 - head.length)}`;
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: long, readOnly: true }, { pathPrefix: '/l' }] }), 'cluster.json');
      const effective = effectiveAllowedHostPaths(cluster, 'n'.repeat(20), []);
      expect(effective.complete).to.equal(false);
      // The read-only prefix left out makes the listed one above it read-only: the list never says more than Pods get.
      expect(effective.entries).to.deep.equal([{ pathPrefix: '/l', readOnly: true }]);
    });

    it('lists a prefix of exactly 4096 characters, the longest a status holds', () => {
      const longest = `/l/${'a'.repeat(4096 - '/l/'.length)}`;
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: longest }] }), 'cluster.json');
      expect(effectiveAllowedHostPaths(cluster, 'n', [])).to.deep.equal({ entries: [{ pathPrefix: longest, readOnly: false }], complete: true });
    });

    it('leaves out, with nothing missing, a prefix whose {user} filled with one character still makes it 4097 long', () => {
      // 4096 characters written; a namespace of 17 makes them 4102, and the shortest path it matches is 4102 - "{user}" + "x".
      const head = '/l/{user}/{namespace}/';
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: `${head}${'a'.repeat(4096 - head.length)}` }, { pathPrefix: '/srv/{namespace}' }] }), 'cluster.json');
      const namespace = 'n'.repeat(17);
      expect(effectiveAllowedHostPaths(cluster, namespace, [])).to.deep.equal({ entries: [{ pathPrefix: `/srv/${namespace}`, readOnly: false }], complete: true });
    });

    it('still ranks as a placeholder: "/srv/*" read-only decides "/srv/team-a" over "/srv/{namespace}", as for a Pod', () => {
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/{namespace}' }, { pathPrefix: '/srv/*', readOnly: true }] }), 'cluster.json');
      expect(effectiveAllowedHostPaths(cluster, 'team-a', []).entries).to.deep.equal([
        { pathPrefix: '/srv/*', readOnly: true },
        { pathPrefix: '/srv/team-a', readOnly: true },
      ]);
      const narrowed = compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/team-a/x' }] }));
      expect(narrowingWarnings(cluster, narrowed)).to.deep.equal([`spec.allowedHostPaths[0]: "/srv/team-a/x" is under the cluster policy's read-only prefix "/srv/*", so it is mounted read-only`]);
    });

    it('marks an instance of a read-only "*" entry read-only where a read-write entry outranks it, when a listed prefix lies above it', () => {
      // A Pod gets "/u/team-a" read-only: "/u/*/a" counts below it, though "/u/team-a/*" decides at "/u/team-a/a".
      const cluster = parsePolicy(
        JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/u' }, { pathPrefix: '/u/team-a/*' }], builtinHostPaths: [{ pathPrefix: '/u/*/a', readOnly: true }] }),
        'cluster.json',
      );
      const layered = [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/u/{namespace}' }] }))];
      expect(effectiveAllowedHostPaths(cluster, 'team-a', layered).entries).to.deep.equal([
        { pathPrefix: '/u/team-a', readOnly: false },
        { pathPrefix: '/u/team-a/*', readOnly: false },
        { pathPrefix: '/u/team-a/a', readOnly: true },
      ]);
      // The cluster policy alone lists the entry itself; nothing above the instance needs the mark.
      expect(effectiveAllowedHostPaths(cluster, 'team-a', []).entries).to.deep.include({ pathPrefix: '/u/team-a/a', readOnly: false });
      const exact = [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/u/team-a/a' }] }))];
      expect(effectiveAllowedHostPaths(cluster, 'team-a', exact).entries).to.deep.equal([{ pathPrefix: '/u/team-a/a', readOnly: false }]);
      // Only the instance: a longer prefix inside it keeps its own flag.
      const deeper = parsePolicy(
        JSON.stringify({
          allowedHostPaths: [{ pathPrefix: '/u' }, { pathPrefix: '/u/team-a/*' }, { pathPrefix: '/u/team-a/a/x' }],
          builtinHostPaths: [{ pathPrefix: '/u/*/a', readOnly: true }],
        }),
        'cluster.json',
      );
      expect(effectiveAllowedHostPaths(deeper, 'team-a', layered).entries).to.deep.equal([
        { pathPrefix: '/u/team-a', readOnly: false },
        { pathPrefix: '/u/team-a/*', readOnly: false },
        { pathPrefix: '/u/team-a/a', readOnly: true },
        { pathPrefix: '/u/team-a/a/x', readOnly: false },
      ]);
    });

    it('marks a read-only "*" entry filled by {namespace} though a read-write entry of the same text is listed (it ranks after it)', () => {
      // "/u/*/{namespace}" fills to "/u/*/a" in namespace a, and ranks after the literal "/u/*/a"; a Pod still gets "/u/x" read-only.
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/u' }, { pathPrefix: '/u/*/a' }, { pathPrefix: '/u/*/{namespace}', readOnly: true }] }), 'cluster.json');
      const layered = [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/u' }] }))];
      expect(effectiveAllowedHostPaths(cluster, 'a', layered).entries).to.deep.equal([
        { pathPrefix: '/u', readOnly: false },
        { pathPrefix: '/u/*/a', readOnly: true },
      ]);
    });

    it('warns where a read-write entry holds a read-only prefix below it, the cluster policy\'s or its own', () => {
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }, { pathPrefix: '/srv/sandbox/shared', readOnly: true }, { pathPrefix: '/srv/tenants' }] }), 'cluster.json');
      const rows: ReadonlyArray<[string, unknown[], string[]]> = [
        ['the cluster policy\'s', [{ pathPrefix: '/srv/sandbox' }], ['spec.allowedHostPaths[0]: "/srv/sandbox" holds the cluster policy\'s read-only prefix "/srv/sandbox/shared", so a mount that holds it is read-only']],
        [
          'its own',
          [{ pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/srv/tenants/team-a/reference', readOnly: true }],
          ['spec.allowedHostPaths[0]: "/srv/tenants/team-a" holds the read-only prefix "/srv/tenants/team-a/reference", so a mount that holds it is read-only'],
        ],
        ['none: a sibling, and a read-only entry itself', [{ pathPrefix: '/srv/sandbox/other' }, { pathPrefix: '/srv/sandbox/shared', readOnly: true }], []],
      ];
      for (const [name, allowedHostPaths, expected] of rows) {
        expect(narrowingWarnings(cluster, compileMountPolicy(mountPolicy({ allowedHostPaths }))), name).to.deep.equal(expected);
      }
    });

    it("fills the MountPolicy's own {namespace} too: it judges only Pods of its namespace", () => {
      const own = compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/{namespace}/x' }, { pathPrefix: '/srv/tenants/{namespace}' }] }));
      expect(wideningProblems(perNamespace, own)).to.deep.equal([]);
      const literal = compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a/x' }, { pathPrefix: '/srv/tenants/team-a' }] }));
      expect(effectiveAllowedHostPaths(perNamespace, 'team-a', [own]).entries).to.deep.equal(effectiveAllowedHostPaths(perNamespace, 'team-a', [literal]).entries);
      const readOnlyCluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/{namespace}', readOnly: true }] }), 'cluster.json');
      expect(narrowingWarnings(readOnlyCluster, compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/{namespace}/x' }] })))).to.deep.equal([
        `spec.allowedHostPaths[0]: "/srv/tenants/{namespace}/x" is under the cluster policy's read-only prefix "/srv/tenants/team-a", so it is mounted read-only`,
      ]);
    });

    it("never another namespace's tree, nor a placeholder that is not {namespace}", () => {
      expect(wideningProblems(perNamespace, compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/{user}' }] })))).to.deep.equal([
        'spec.allowedHostPaths[0].pathPrefix: "/srv/tenants/{user}" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)',
      ]);
      expect(wideningProblems(perNamespace, compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-b' }] })))).to.deep.equal([
        'spec.allowedHostPaths[0].pathPrefix: "/srv/tenants/team-b" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)',
      ]);
    });
  });

  describe('narrowingWarnings', () => {
    it('says where read-write turns read-only and where the annotation cannot request', () => {
      const policy = compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/shared/x' }, { pathPrefix: '/skills' }, { pathPrefix: '/srv/tenants/a' }] }));
      expect(narrowingWarnings(CLUSTER, policy)).to.deep.equal([
        `spec.allowedHostPaths[0]: "/srv/tenants/shared/x" is under the cluster policy's read-only prefix "/srv/tenants/shared", so it is mounted read-only`,
        `spec.allowedHostPaths[1]: "/skills" is under the cluster policy's read-only prefix "/skills", so it is mounted read-only`,
        `spec.allowedHostPaths[1]: "/skills" lies only under the cluster policy's builtinHostPaths: Pods may carry it, the annotation cannot request it`,
      ]);
    });
  });

  describe('effectiveAllowedHostPaths: the cluster policy and every MountPolicy of the namespace', () => {
    const CLUSTER_ENTRIES = [
      { pathPrefix: '/data/*/public', readOnly: true },
      { pathPrefix: '/skills', readOnly: true },
      { pathPrefix: '/srv/tenants', readOnly: false },
      { pathPrefix: '/srv/tenants/shared', readOnly: true },
      { pathPrefix: '/srv/users/{sandboxUser}', readOnly: false },
    ];
    const rows: Array<{ name: string; specs: Record<string, unknown>; expected: Array<{ pathPrefix: string; readOnly: boolean }> }> = [
      { name: 'no MountPolicy: the cluster policy itself', specs: {}, expected: CLUSTER_ENTRIES },
      { name: 'one without allowedHostPaths: the cluster policy itself', specs: { tenant: { maxMounts: 1 } }, expected: CLUSTER_ENTRIES },
      {
        name: 'one: what both match, read-only where either deciding entry is',
        specs: { tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/tenants/team-a/ro', readOnly: true }, { pathPrefix: '/data/d1' }, { pathPrefix: '/srv/users/u3' }] } },
        expected: [
          { pathPrefix: '/data/d1/public', readOnly: true },
          { pathPrefix: '/srv/tenants', readOnly: false },
          { pathPrefix: '/srv/tenants/shared', readOnly: true },
          { pathPrefix: '/srv/tenants/team-a/ro', readOnly: true },
        ],
      },
      {
        name: 'two: what all three layers match',
        specs: {
          tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/data/d1' }] },
          other: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/skills' }] },
        },
        expected: [{ pathPrefix: '/srv/tenants/team-a', readOnly: false }],
      },
      {
        name: 'two: read-only where the second one says so',
        specs: {
          tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }] },
          other: { allowedHostPaths: [{ pathPrefix: '/srv/tenants', readOnly: true }, { pathPrefix: '/srv/tenants/team-a/scratch' }] },
        },
        expected: [
          { pathPrefix: '/srv/tenants/team-a', readOnly: true },
          { pathPrefix: '/srv/tenants/team-a/scratch', readOnly: false },
        ],
      },
      {
        name: 'two with `*`: where the patterns meet',
        specs: { tenant: { allowedHostPaths: [{ pathPrefix: '/data/*/public/x' }] }, other: { allowedHostPaths: [{ pathPrefix: '/data/d2' }] } },
        expected: [{ pathPrefix: '/data/d2/public/x', readOnly: true }],
      },
      {
        name: 'a read-only "{user}" entry that decides for some requests only: read-only (never more than Pods get)',
        specs: { tenant: { allowedHostPaths: [{ pathPrefix: '/srv/users' }, { pathPrefix: '/srv/users/{user}', readOnly: true }] } },
        expected: [{ pathPrefix: '/srv/users/{sandboxUser}', readOnly: true }],
      },
      {
        name: 'one with "{namespace}": its own namespace, as for its Pods',
        specs: { tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/{namespace}' }, { pathPrefix: '/srv/users/{namespace}' }] } },
        expected: [{ pathPrefix: '/srv/tenants/team-a', readOnly: false }],
      },
      {
        name: 'a read-only entry with "*" inside a listed prefix of the same MountPolicy: listed apart where it decides',
        specs: { tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/srv/tenants/*/cache', readOnly: true }] } },
        expected: [
          { pathPrefix: '/srv/tenants/*/cache', readOnly: true },
          { pathPrefix: '/srv/tenants/shared/cache', readOnly: true },
          { pathPrefix: '/srv/tenants/team-a', readOnly: false },
          { pathPrefix: '/srv/tenants/team-a/cache', readOnly: true },
        ],
      },
      {
        name: 'a read-only "{user}" entry below a read-write prefix: only the entry is read-only',
        specs: { tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/srv/tenants/team-a/{user}', readOnly: true }] } },
        expected: [
          { pathPrefix: '/srv/tenants/team-a', readOnly: false },
          { pathPrefix: '/srv/tenants/team-a/{user}', readOnly: true },
        ],
      },
      {
        name: 'a read-only "{user}" entry that decides a plain prefix of another MountPolicy for some requests: read-only',
        specs: {
          tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/tenants/{user}', readOnly: true }] },
          other: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a/data' }] },
        },
        expected: [{ pathPrefix: '/srv/tenants/team-a/data', readOnly: true }],
      },
      {
        name: 'a read-only "{user}" entry that a deeper read-write entry outranks: read-write',
        specs: {
          tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/*/data' }, { pathPrefix: '/srv/tenants/{user}', readOnly: true }] },
          other: { allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a/data/x' }] },
        },
        expected: [{ pathPrefix: '/srv/tenants/team-a/data/x', readOnly: false }],
      },
      { name: 'an empty allowedHostPaths beside another: nothing', specs: { tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants' }] }, other: { allowedHostPaths: [] } }, expected: [] },
      { name: 'an invalid one: nothing', specs: { tenant: { maxMounts: 'x' } }, expected: [] },
      { name: 'an invalid sibling: nothing', specs: { tenant: { allowedHostPaths: [{ pathPrefix: '/srv/tenants' }] }, broken: { allowedHostPaths: 'x' } }, expected: [] },
    ];
    for (const row of rows) {
      it(row.name, () => {
        const policies = Object.entries(row.specs).map(([name, spec]) => compileMountPolicy(mountPolicy(spec, name)));
        expect(effectiveAllowedHostPaths(CLUSTER, 'team-a', policies)).to.deep.equal({ entries: row.expected, complete: true });
      });
    }

    it('lists apart where a read-only entry with "*" crosses a read-write prefix and decides there', () => {
      // /u/team-a/team-a lies under both; the cluster decides it by "/u/*/team-a" (more segments): read-only.
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/u/team-a' }], builtinHostPaths: [{ pathPrefix: '/u/*/team-a', readOnly: true }] }), 'cluster.json');
      const policies = [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/u/*/*' }] }))];
      expect(effectiveAllowedHostPaths(cluster, 'team-a', policies)).to.deep.equal({
        entries: [
          { pathPrefix: '/u/*/team-a', readOnly: true },
          { pathPrefix: '/u/team-a/*', readOnly: false },
          { pathPrefix: '/u/team-a/team-a', readOnly: true },
        ],
        complete: true,
      });
    });

    it(`stops at ${MAX_EFFECTIVE_ENTRIES} prefixes where "*" entries combine (64 × 64 × 64 here), each listed one still true`, () => {
      const wide = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv' }] }), 'cluster.json');
      const numbered = (pattern: (i: number) => string) => ({ allowedHostPaths: Array.from({ length: 64 }, (_, i) => ({ pathPrefix: pattern(i) })) });
      const policies = [
        compileMountPolicy(mountPolicy(numbered((i) => `/srv/a${i}/*/*`), 'p1')),
        compileMountPolicy(mountPolicy(numbered((i) => `/srv/*/b${i}/*`), 'p2')),
        compileMountPolicy(mountPolicy(numbered((i) => `/srv/*/*/c${i}`), 'p3')),
      ];
      const { entries, complete } = effectiveAllowedHostPaths(wide, 'team-a', policies);
      expect(complete).to.equal(false);
      expect(entries).to.have.length(MAX_EFFECTIVE_ENTRIES);
      for (const entry of entries) expect(entry.pathPrefix).to.match(/^\/srv\/a\d+\/b\d+\/c\d+$/);
    });

    it('cuts the list the same whatever order the MountPolicies come in (by name)', () => {
      const wide = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv' }] }), 'cluster.json');
      const numbered = (pattern: (i: number) => string) => ({ allowedHostPaths: Array.from({ length: 64 }, (_, i) => ({ pathPrefix: pattern(i) })) });
      const p1 = compileMountPolicy(mountPolicy(numbered((i) => `/srv/a${i}/*/*`), 'p1'));
      const p2 = compileMountPolicy(mountPolicy(numbered((i) => `/srv/*/b${i}/*`), 'p2'));
      const p3 = compileMountPolicy(mountPolicy(numbered((i) => `/srv/*/*/c${i}`), 'p3'));
      const inOrder = effectiveAllowedHostPaths(wide, 'team-a', [p1, p2, p3]);
      expect(inOrder.entries.slice(0, 2)).to.deep.equal([
        { pathPrefix: '/srv/a0/b0/c0', readOnly: false },
        { pathPrefix: '/srv/a0/b0/c1', readOnly: false },
      ]);
      expect(effectiveAllowedHostPaths(wide, 'team-a', [p3, p2, p1])).to.deep.equal(inOrder);
      expect(effectiveAllowedHostPaths(wide, 'team-a', [p2, p3, p1])).to.deep.equal(inOrder);
    });

    it('says read-only of a listed prefix that holds a read-only one the list had no room for', () => {
      // "/srv/a" is read-write itself; the long read-only prefixes under it do not all fit in MAX_EFFECTIVE_CHARACTERS.
      const inner = (count: number) => Array.from({ length: count }, (_, i) => ({ pathPrefix: `/srv/a/${String(i).padStart(3, '0')}${'x'.repeat(3990)}`, readOnly: true }));
      const policyWith = (count: number) => parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/a' }, ...inner(count)] }), 'cluster.json');
      const cut = effectiveAllowedHostPaths(policyWith(100), 'team-a', []);
      expect(cut.complete).to.equal(false);
      expect(cut.entries[0]).to.deep.equal({ pathPrefix: '/srv/a', readOnly: true });
      expect(cut.entries.slice(1).every((entry) => entry.readOnly)).to.equal(true);
      const whole = effectiveAllowedHostPaths(policyWith(3), 'team-a', []);
      expect(whole.complete).to.equal(true);
      expect(whole.entries[0]).to.deep.equal({ pathPrefix: '/srv/a', readOnly: false });
    });

    it(`never lists read-write a prefix that holds a read-only one cut off at ${MAX_EFFECTIVE_ENTRIES} where the layers first met`, () => {
      // The layers meet in "/srv/a" and 1100 plain prefixes inside it, the last of them read-only: past the cap, so
      // the inner prefixes must still be worked out, and "/srv/a" listed read-only or not at all.
      const inner = Array.from({ length: 1100 }, (_, i) => ({ pathPrefix: `/srv/a/x${String(i).padStart(4, '0')}`, readOnly: i === 1099 }));
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/a' }, ...inner] }), 'cluster.json');
      const { entries, complete } = effectiveAllowedHostPaths(cluster, 'team-a', [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/a' }] }))]);
      expect(complete).to.equal(false);
      expect(entries.filter((entry) => entry.pathPrefix === '/srv/a' && !entry.readOnly)).to.deep.equal([]);
    });

    it('lists a cluster policy of a thousand plain prefixes whole, read-only flags and all', () => {
      const deep = (i: number) => `/srv/data/data/data/data/data/p${i}`;
      const cluster = parsePolicy(
        JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv' }, ...Array.from({ length: 1000 }, (_, i) => ({ pathPrefix: deep(i), readOnly: i % 3 === 0 }))] }),
        'cluster.json',
      );
      const { entries, complete } = effectiveAllowedHostPaths(cluster, 'team-a', [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv' }] }))]);
      expect(complete).to.equal(true);
      expect(entries).to.have.length(1001);
      expect(entries.filter((entry) => entry.readOnly).map((entry) => entry.pathPrefix)).to.have.members(Array.from({ length: 334 }, (_, k) => deep(3 * k)));
    });

    it(`lists nothing when the read-only parts inside the listed prefixes would take ${2 * MAX_EFFECTIVE_ENTRIES} prefixes or more`, () => {
      // Under /srv/*/* every "/srv/aI/*" crosses every "/srv/*/bJ": N x N prefixes where both are read-only.
      const crossing = (n: number) =>
        parsePolicy(
          JSON.stringify({
            allowedHostPaths: [
              { pathPrefix: '/srv' },
              ...Array.from({ length: n }, (_, i) => ({ pathPrefix: `/srv/a${i}/*`, readOnly: true })),
              ...Array.from({ length: n }, (_, j) => ({ pathPrefix: `/srv/*/b${j}`, readOnly: true })),
            ],
          }),
          'cluster.json',
        );
      const policies = [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/*/*' }] }))];
      const few = effectiveAllowedHostPaths(crossing(20), 'team-a', policies);
      expect(few.complete).to.equal(true);
      expect(few.entries).to.have.length(1 + 20 + 20 + 20 * 20);
      expect(few.entries.find((entry) => entry.pathPrefix === '/srv/a3/b7')).to.deep.equal({ pathPrefix: '/srv/a3/b7', readOnly: true });
      // 40 x 40: more than can be listed, so the list is cut; 50 x 50: more than can be worked out.
      const cut = effectiveAllowedHostPaths(crossing(40), 'team-a', policies);
      expect([cut.complete, cut.entries.length]).to.deep.equal([false, MAX_EFFECTIVE_ENTRIES]);
      expect(effectiveAllowedHostPaths(crossing(50), 'team-a', policies)).to.deep.equal({ entries: [], complete: false });
    });

    it(`lists nothing, and says why, when the layers would take more than ${MAX_EFFECTIVE_STEPS} steps to work out`, () => {
      // Forty MountPolicies of 128 long entries, crossing one another with "*": seconds of work before it was bounded.
      // Each spec stays under MAX_SPEC_BYTES, as a namespace's admin can still write forty of them.
      const long = 'x'.repeat(400);
      const shapes = [(i: number) => `/srv/a${i}${long}/*/*/*`, (i: number) => `/srv/*/b${i}${long}/*/*`, (i: number) => `/srv/*/*/c${i}${long}/*`, (i: number) => `/srv/*/*/*/d${i}${long}`];
      const policies = Array.from({ length: 40 }, (_, m) =>
        compileMountPolicy(mountPolicy({ allowedHostPaths: Array.from({ length: 128 }, (_, i) => ({ pathPrefix: (shapes[m % 4] ?? String)(i + 1000 * m), readOnly: i % 2 === 0 })) }, `p${m}`)),
      );
      expect(policies.flatMap((policy) => policy.problems)).to.deep.equal([]);
      const wide = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv' }] }), 'cluster.json');
      const effective = effectiveAllowedHostPaths(wide, 'team-a', policies);
      expect(effective).to.deep.equal({ entries: [], complete: false });
      expect(describeEffective(effective, 'host paths under ', true)).to.equal(TOO_MANY_TO_LIST);
    });

    it(`stops at ${MAX_EFFECTIVE_CHARACTERS} characters of prefixes, so that the status stays writable`, () => {
      // 100 prefixes of about 4000 characters: 400,000 characters, under the entry limit, over the character one.
      const long = (i: number): string => `/srv/${String(i).padStart(3, '0')}${'x'.repeat(3990)}`;
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: Array.from({ length: 100 }, (_, i) => ({ pathPrefix: long(i) })) }), 'cluster.json');
      const { entries, complete } = effectiveAllowedHostPaths(cluster, 'team-a', []);
      expect(complete).to.equal(false);
      const characters = entries.reduce((sum, entry) => sum + entry.pathPrefix.length, 0);
      expect(characters).to.be.at.most(MAX_EFFECTIVE_CHARACTERS);
      expect(characters + long(entries.length).length).to.be.above(MAX_EFFECTIVE_CHARACTERS);
      expect(entries.map((entry) => entry.pathPrefix)).to.deep.equal(Array.from({ length: entries.length }, (_, i) => long(i)));
      expect(effectiveAllowedHostPaths(cluster, 'team-a', [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: long(7) }] }))])).to.deep.equal({
        entries: [{ pathPrefix: long(7), readOnly: false }],
        complete: true,
      });
    });

    it(`lists prefixes of exactly ${MAX_EFFECTIVE_CHARACTERS} characters whole`, () => {
      // 64 prefixes of 4096 characters.
      const long = (i: number): string => `/srv/${String(i).padStart(2, '0')}${'x'.repeat(4096 - '/srv/00'.length)}`;
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: Array.from({ length: 64 }, (_, i) => ({ pathPrefix: long(i) })) }), 'cluster.json');
      const { entries, complete } = effectiveAllowedHostPaths(cluster, 'team-a', []);
      expect([complete, entries.length, entries.reduce((sum, entry) => sum + entry.pathPrefix.length, 0)]).to.deep.equal([true, 64, MAX_EFFECTIVE_CHARACTERS]);
    });

    it(`lists nothing when writing out the prefixes alone would take more than ${MAX_EFFECTIVE_STEPS} steps`, () => {
      // N x N meets of N "/srv/aI/*" and N "/srv/*/<2600 characters>J": each of them counts its length.
      const wide = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv' }] }), 'cluster.json');
      const crossing = (n: number) => [
        compileMountPolicy(mountPolicy({ allowedHostPaths: Array.from({ length: n }, (_, i) => ({ pathPrefix: `/srv/a${i}/*` })) }, 'p1')),
        compileMountPolicy(mountPolicy({ allowedHostPaths: Array.from({ length: n }, (_, j) => ({ pathPrefix: `/srv/*/${'x'.repeat(2600)}${j}` })) }, 'p2')),
      ];
      expect(crossing(24).flatMap((policy) => policy.problems)).to.deep.equal([]);
      const few = effectiveAllowedHostPaths(wide, 'team-a', crossing(8));
      expect([few.complete, few.entries.length]).to.deep.equal([true, 8 * 8]);
      expect(effectiveAllowedHostPaths(wide, 'team-a', crossing(24))).to.deep.equal({ entries: [], complete: false });
    });

    it(`lists nothing when looking for each prefix's deciding entry among many "*" entries would take more than ${MAX_EFFECTIVE_STEPS} steps`, () => {
      // 1000 plain prefixes, each looked up among the cluster's "*" entries (which meet none of them).
      const cluster = (patterns: number) =>
        parsePolicy(
          JSON.stringify({
            allowedHostPaths: [...Array.from({ length: 1000 }, (_, i) => ({ pathPrefix: `/srv/p${i}` })), ...Array.from({ length: patterns }, (_, i) => ({ pathPrefix: `/q${i}/*` }))],
          }),
          'cluster.json',
        );
      const policies = [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv' }] }))];
      const few = effectiveAllowedHostPaths(cluster(100), 'team-a', policies);
      expect([few.complete, few.entries.length]).to.deep.equal([true, 1000]);
      expect(effectiveAllowedHostPaths(cluster(1000), 'team-a', policies)).to.deep.equal({ entries: [], complete: false });
    });

    it('says in words what is listed, and why a list is incomplete or empty', () => {
      const cluster = parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/a' }, { pathPrefix: '/srv/b', readOnly: true }] }), 'cluster.json');
      const entries = effectiveAllowedHostPaths(cluster, 'team-a', []).entries;
      expect(describeEffective({ entries, complete: true }, 'host paths under ', true)).to.equal('host paths under "/srv/a", "/srv/b" (read-only)');
      expect(describeEffective({ entries, complete: false }, '', false)).to.equal(
        '(not all listed: the layers combine into more than 1024 prefixes or 262144 characters of them, or into a prefix longer than the 4096 a status holds) /srv/a, /srv/b (read-only)',
      );
      expect(describeEffective({ entries: [], complete: true }, 'host paths under ', true)).to.equal('no host path');
      expect(describeEffective({ entries: [], complete: false }, 'host paths under ', true)).to.equal(
        'host paths the layers combine into more prefixes than can be worked out (past 2048 prefixes or 4000000 steps; none listed)',
      );
    });
  });

  describe('containment of patterns', () => {
    const covers: Array<[string, string, boolean]> = [
      ['/a', '/a/b', true],
      ['/a/b', '/a', false],
      ['/a/*', '/a/b/c', true],
      ['/a/*', '/a/{user}', true],
      ['/a/{user}', '/a/*', false],
      ['/a/{user}', '/a/{user}/x', true],
      ['/a/{user}', '/a/{namespace}', false],
      ['/a/b', '/a/bc', false],
    ];
    for (const [outer, inner, expected] of covers) {
      it(`${outer} ${expected ? 'covers' : 'does not cover'} ${inner}`, () => expect(prefixCovers(outer, inner)).to.equal(expected));
    }
    const meets: Array<[string, string, string | undefined]> = [
      ['/a', '/a/b', '/a/b'],
      ['/a/*/c', '/a/b', '/a/b/c'],
      ['/a/*', '/a/{user}/x', '/a/{user}/x'],
      ['/a/b', '/a/c', undefined],
      ['/a/{user}', '/a/b', undefined],
    ];
    for (const [a, b, expected] of meets) {
      it(`${a} and ${b} meet at ${String(expected)}`, () => {
        expect(prefixMeet(a, b)).to.equal(expected);
        expect(prefixMeet(b, a)).to.equal(expected);
      });
    }

    // The work bound of effective.ts counts on these: one step per pair of segments compared.
    const steps: Array<[string, (cost: ComparisonCost) => unknown, number]> = [
      ['covering compares each segment of the outer prefix', (cost) => segmentsCover(parsePattern('/a/*'), parsePattern('/a/b/c'), cost), 2],
      ['covering stops at the first segment that differs', (cost) => segmentsCover(parsePattern('/a/b/c'), parsePattern('/x/b/c'), cost), 1],
      ['a meet compares both ways where one way fails', (cost) => segmentsMeet(parsePattern('/a/b'), parsePattern('/a/*/c'), cost), 3],
    ];
    for (const [name, compare, expected] of steps) {
      it(`counts the steps: ${name}`, () => {
        const cost = { steps: 0 };
        compare(cost);
        expect(cost.steps).to.equal(expected);
      });
    }
  });
});
