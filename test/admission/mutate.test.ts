import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { denialMessage } from '../../src/admission/verdict.js';
import { describeViolation } from '../../src/admission/violation.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { policyOf } from '../helpers/policies.js';
import { expectedVolumeName, FIELD, requestFor, sandboxPod, type PodOptions, type RequestOptions } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';

const POLICY = policyOf();

function denial(pod: unknown, policy: CompiledPolicy = POLICY, options: RequestOptions = {}): string[] {
  const verdict = decide('mutate', requestFor(pod, options), policy);
  if (verdict.allowed) throw new Error(`expected a denial, got ${JSON.stringify(verdict.patch)}`);
  expect(verdict.code).to.equal(403);
  return verdict.violations.map(describeViolation);
}

/** The mounts and volumes mountgate added, read off the mutated Pod. */
function injected(pod: unknown): { volumes: unknown[]; mounts: unknown[][] } {
  const spec = (pod as { spec: { volumes?: Array<{ name: string }>; containers: Array<{ volumeMounts?: Array<{ name: string }> }> } }).spec;
  return {
    volumes: (spec.volumes ?? []).filter((v) => v.name.startsWith('mountgate-')),
    mounts: spec.containers.map((c) => (c.volumeMounts ?? []).filter((m) => m.name.startsWith('mountgate-'))),
  };
}

function allowedPod(options: PodOptions, policy: CompiledPolicy = POLICY, request: RequestOptions = {}): unknown {
  const { verdict, pod } = mutateTwice(sandboxPod(options), policy, request);
  if (!verdict.allowed) throw new Error(`expected allowed, got ${denialMessage(verdict.violations)}`);
  return pod;
}

const rw = (path: string) => ({ name: expectedVolumeName(path), hostPath: { path, type: 'DirectoryOrCreate' } });
const ro = (path: string) => ({ name: expectedVolumeName(path), hostPath: { path, type: 'Directory' } });
const rwMount = (path: string, mountPath: string) => ({ name: expectedVolumeName(path), mountPath });
const roMount = (path: string, mountPath: string) => ({ name: expectedVolumeName(path), mountPath, readOnly: true, recursiveReadOnly: 'IfPossible' });

describe('admission/decide: /mutate', () => {
  describe('what concerns mountgate', () => {
    const untouched: Array<[string, RequestOptions]> = [
      ['a Deployment', { resource: 'deployments', group: 'apps' }],
      ['a Pod UPDATE', { operation: 'UPDATE' }],
      ['a Pod DELETE', { operation: 'DELETE' }],
      ['an ephemeral containers update', { operation: 'UPDATE', subResource: 'ephemeralcontainers' }],
      ['a status update', { operation: 'UPDATE', subResource: 'status' }],
      ['a "pods" resource of another API group (a custom resource, not a Pod)', { resource: 'pods', group: 'example.com' }],
    ];
    for (const [name, options] of untouched) {
      it(`skips ${name}: allowed without a patch, whatever it carries, and nothing judged`, () => {
        const verdict = decide('mutate', requestFor(sandboxPod({ mounts: [{ hostPath: '/etc', mountPath: '/x' }] }), options), POLICY);
        expect(verdict).to.deep.equal({ allowed: true, warnings: [], patch: [], skipped: true });
      });
    }

    // An empty list asks for nothing: no volume list or mount list is added to a Pod that has none.
    const emptyRows: Array<[string, CompiledPolicy]> = [
      ['an empty annotation', POLICY],
      ['an empty annotation in a Pod without a target container', policyOf({ containers: ['other'] })],
    ];
    for (const [name, policy] of emptyRows) {
      it(`allows ${name} and changes nothing`, () => {
        const pod = sandboxPod({ mounts: [], volumes: [], containers: [{ name: 'sandbox', image: 'x' }] });
        delete (pod.spec as { volumes?: unknown }).volumes;
        expect(decide('mutate', requestFor(pod), policy)).to.deep.equal({ allowed: true, warnings: [], patch: [] });
      });
    }

    it('allows a Pod without the annotation and changes nothing', () => {
      expect(decide('mutate', requestFor(sandboxPod()), POLICY)).to.deep.equal({ allowed: true, warnings: [], patch: [] });
    });

    it('reads only the annotation itself: a key named like an Object member ("constructor") finds nothing inherited', () => {
      const pod = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/data' }] });
      expect(decide('mutate', requestFor(pod), policyOf({ annotation: 'constructor' }))).to.deep.equal({ allowed: true, warnings: [], patch: [] });
    });

    it('answers a dry run exactly like a real request', () => {
      const pod = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/data' }] });
      expect(decide('mutate', requestFor(pod, { dryRun: true }), POLICY)).to.deep.equal(decide('mutate', requestFor(pod, { dryRun: false }), POLICY));
    });

    it('denies with 400 a Pod whose object cannot be read', () => {
      const verdict = decide('mutate', requestFor({ metadata: {}, spec: { containers: 'sandbox' } }), POLICY);
      expect(verdict).to.deep.equal({
        allowed: false,
        code: 400,
        violations: [{ rule: 'unreadable-pod', field: 'request.object', message: 'is not a readable Pod: spec.containers must be a list' }],
        warnings: [],
      });
    });
  });

  describe('the patch (section 7)', () => {
    it('adds one hostPath volume and one mount per request, typed by read-only-ness', () => {
      const pod = allowedPod({
        mounts: [
          { hostPath: '/srv/sandbox/u1', mountPath: '/mnt/work' },
          { host_path: '/srv/models/llama', container_path: '/mnt/models' },
        ],
      });
      expect(injected(pod)).to.deep.equal({
        volumes: [rw('/srv/sandbox/u1'), ro('/srv/models/llama')],
        mounts: [[rwMount('/srv/sandbox/u1', '/mnt/work'), roMount('/srv/models/llama', '/mnt/models')]],
      });
    });

    it('patches with additions only, diffed against the Pod as it arrived', () => {
      const pod = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/u1', mountPath: '/w' }] });
      const { patch } = mutateTwice(pod, POLICY);
      expect(patch).to.deep.equal([
        { op: 'add', path: '/spec/volumes/1', value: rw('/srv/sandbox/u1') },
        { op: 'add', path: '/spec/containers/0/volumeMounts/1', value: rwMount('/srv/sandbox/u1', '/w') },
      ]);
    });

    it('applies to a Pod with no volumes and no volumeMounts arrays', () => {
      const pod = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/w' }], containers: [{ name: 'sandbox', image: 'x' }], volumes: [] });
      delete (pod.spec as { volumes?: unknown }).volumes;
      const { patch, pod: mutated } = mutateTwice(pod, POLICY);
      expect(patch).to.deep.equal([
        { op: 'add', path: '/spec/containers/0/volumeMounts', value: [rwMount('/srv/sandbox/a', '/w')] },
        { op: 'add', path: '/spec/volumes', value: [rw('/srv/sandbox/a')] },
      ]);
      expect(injected(mutated)).to.deep.equal({ volumes: [rw('/srv/sandbox/a')], mounts: [[rwMount('/srv/sandbox/a', '/w')]] });
    });

    it('names each volume mountgate- and the first 12 hex digits of the SHA-256 of its path', () => {
      const pod = allowedPod({ mounts: [{ hostPath: '/srv/sandbox/u1', mountPath: '/w' }] });
      expect(injected(pod).volumes).to.deep.equal([{ name: 'mountgate-876f11fa39f6', hostPath: { path: '/srv/sandbox/u1', type: 'DirectoryOrCreate' } }]);
    });

    it('uses one volume for one hostPath mounted twice, DirectoryOrCreate when any mount is read-write', () => {
      const pod = allowedPod({
        mounts: [
          { hostPath: '/srv/sandbox/a', mountPath: '/in', readOnly: true },
          { hostPath: '/srv/sandbox/a', mountPath: '/out' },
        ],
      });
      expect(injected(pod)).to.deep.equal({
        volumes: [rw('/srv/sandbox/a')],
        mounts: [[roMount('/srv/sandbox/a', '/in'), rwMount('/srv/sandbox/a', '/out')]],
      });
    });

    it('uses Directory when every mount of a read-write prefix is read-only', () => {
      const pod = allowedPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/in', readOnly: true }] });
      expect(injected(pod).volumes).to.deep.equal([ro('/srv/sandbox/a')]);
    });

    for (const type of ['Directory', 'DirectoryOrCreate'] as const) {
      it(`uses the policy's hostPathType ${type} for every volume`, () => {
        const pod = allowedPod(
          { mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/a' }, { hostPath: '/srv/models/m', mountPath: '/m' }] },
          policyOf({ hostPathType: type }),
        );
        expect(injected(pod).volumes).to.deep.equal([
          { name: expectedVolumeName('/srv/sandbox/a'), hostPath: { path: '/srv/sandbox/a', type } },
          { name: expectedVolumeName('/srv/models/m'), hostPath: { path: '/srv/models/m', type } },
        ]);
      });
    }

    it('mounts into every container when the policy names none, and init containers are left alone', () => {
      const pod = allowedPod({
        mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/w' }],
        containers: [{ name: 'sandbox', image: 'x' }, { name: 'sidecar', image: 'y' }],
        initContainers: [{ name: 'init', image: 'z' }],
      });
      expect(injected(pod).mounts).to.deep.equal([[rwMount('/srv/sandbox/a', '/w')], [rwMount('/srv/sandbox/a', '/w')]]);
      expect((pod as { spec: { initContainers: unknown[] } }).spec.initContainers).to.deep.equal([{ name: 'init', image: 'z' }]);
    });

    it('mounts only into the containers the policy names', () => {
      const pod = allowedPod(
        { mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/w' }], containers: [{ name: 'sidecar', image: 'y' }, { name: 'sandbox', image: 'x' }] },
        policyOf({ containers: ['sandbox'] }),
      );
      expect(injected(pod).mounts).to.deep.equal([[], [rwMount('/srv/sandbox/a', '/w')]]);
    });

    it('changes nothing when an already mutated Pod is reviewed again', () => {
      const once = allowedPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/w' }, { hostPath: '/srv/models/m', mountPath: '/m' }] });
      expect(decide('mutate', requestFor(once), POLICY)).to.include({ allowed: true }).and.to.have.property('patch').that.deep.equals([]);
    });

    it('accepts its own read-only mount without recursiveReadOnly (dropped by older API servers)', () => {
      const once = allowedPod({ mounts: [{ hostPath: '/srv/models/m', mountPath: '/m' }] }) as {
        spec: { containers: Array<{ volumeMounts: Array<Record<string, unknown>> }> };
      };
      const mount = once.spec.containers[0]?.volumeMounts.find((m) => m.mountPath === '/m');
      if (mount === undefined) throw new Error('the mount was not injected');
      delete mount.recursiveReadOnly;
      expect(decide('mutate', requestFor(once), POLICY)).to.deep.include({ allowed: true, patch: [] });
    });
  });

  describe('section 6 rules, each with its allowed and its denied side', () => {
    const allowedRows: Array<[string, unknown[], PodOptions?]> = [
      ['a path under an allowed prefix', [{ hostPath: '/srv/sandbox/a/b', mountPath: '/data' }]],
      ['the allowed prefix itself', [{ hostPath: '/srv/sandbox', mountPath: '/data' }]],
      ['one trailing slash on both paths', [{ hostPath: '/srv/sandbox/a/', mountPath: '/data/' }]],
      ['a read-write directory inside a read-only prefix (longest prefix decides)', [{ hostPath: '/srv/models/scratch/x', mountPath: '/x', readOnly: false }]],
      ['read-only asked explicitly under a read-only prefix', [{ hostPath: '/srv/models/a', mountPath: '/m', readOnly: true }]],
      ['a parent of a reserved path', [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt' }]],
      ['a parent of an existing mount', [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt' }]],
      ['a sibling of a system path', [{ hostPath: '/srv/sandbox/a', mountPath: '/process' }]],
      ['exactly maxMounts mounts', [1, 2, 3].map((n) => ({ hostPath: `/srv/sandbox/${n}`, mountPath: `/d${n}` }))],
      ['exactly the 10000 mounts mountgate adds to one Pod (two into each of 5000 containers)', [1, 2].map((n) => ({ hostPath: `/srv/sandbox/${n}`, mountPath: `/d${n}` })), {
        containers: Array.from({ length: 5000 }, (_, i) => ({ name: `c${i}`, image: 'x' })),
        volumes: [],
      }],
    ];
    for (const [name, mounts, options] of allowedRows) {
      it(`allows ${name}`, () => {
        allowedPod({ ...options, mounts });
      });
    }

    const deniedRows: Array<[string, unknown[], string[]]> = [
      ['a sibling that shares characters but not a segment', [{ hostPath: '/srv/sandbox2', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv/sandbox2" is not under any allowed host path`]],
      ['a path outside every prefix', [{ hostPath: '/etc', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/etc" is not under any allowed host path`]],
      ['the node root', [{ hostPath: '/', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/" is not under any allowed host path`]],
      ['a parent of an allowed prefix', [{ hostPath: '/srv', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv" is not under any allowed host path`]],
      ['a built-in path asked through the annotation', [{ hostPath: '/skills/x', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/skills/x" is not under any allowed host path`]],
      ['a ".." traversal', [{ hostPath: '/srv/sandbox/../../etc', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv/sandbox/../../etc" has a ".." segment`]],
      ['a "." segment', [{ hostPath: '/srv/sandbox/./a', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv/sandbox/./a" has a "." segment`]],
      ['an empty segment', [{ hostPath: '/srv//sandbox', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv//sandbox" has an empty segment ("//")`]],
      ['two trailing slashes', [{ hostPath: '/srv/sandbox//', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv/sandbox//" has an empty segment ("//")`]],
      ['a relative hostPath', [{ hostPath: 'srv/sandbox', mountPath: '/d' }], [`${FIELD}[0].hostPath: "srv/sandbox" is not absolute`]],
      ['a control character', [{ hostPath: '/srv/sandbox/a\u0000', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv/sandbox/a\\u0000" contains a control character`]],
      ['a C1 control in an otherwise canonical path, shown escaped', [{ hostPath: '/srv/other/\u009b2J', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv/other/\\u009b2J" is not under any allowed host path`]],
      ['DEL, shown escaped', [{ hostPath: '/srv/sandbox/a', mountPath: '/d\u007f' }], [`${FIELD}[0].mountPath: "/d\\u007f" contains a control character`]],
      ['backslashes that a Windows node reads as ".." segments', [{ hostPath: '/srv/sandbox/x\\..\\..\\Windows', mountPath: '/d' }], [
        `${FIELD}[0].hostPath: "/srv/sandbox/x\\\\..\\\\..\\\\Windows" contains a backslash, a path separator on Windows nodes`,
      ]],
      ['a backslash in mountPath', [{ hostPath: '/srv/sandbox/a', mountPath: '/d\\e' }], [`${FIELD}[0].mountPath: "/d\\\\e" contains a backslash, a path separator on Windows nodes`]],
      ['an over-long path', [{ hostPath: `/srv/sandbox/${'a'.repeat(4096)}`, mountPath: '/d' }], [`${FIELD}[0].hostPath: ${JSON.stringify(`/srv/sandbox/${'a'.repeat(4096)}`)} is longer than 4096 UTF-16 code units`]],
      ['a lone surrogate in hostPath (the API server would store U+FFFD in its place)', [{ hostPath: '/srv/sandbox/\ud800', mountPath: '/d' }], [`${FIELD}[0].hostPath: "/srv/sandbox/\\ud800" is not well-formed Unicode (it has a lone UTF-16 surrogate)`]],
      ['a lone low surrogate in mountPath', [{ hostPath: '/srv/sandbox/a', mountPath: '/d\udc00' }], [`${FIELD}[0].mountPath: "/d\\udc00" is not well-formed Unicode (it has a lone UTF-16 surrogate)`]],
      ['readOnly false under a read-only prefix', [{ hostPath: '/srv/models/a', mountPath: '/m', readOnly: false }], [
        `${FIELD}[0].readOnly: "/srv/models/a" is under the read-only prefix "/srv/models" and must be mounted read-only`,
      ]],
      ['read_only false under a read-only prefix, named as written', [{ host_path: '/srv/models/a', container_path: '/m', read_only: false }], [
        `${FIELD}[0].read_only: "/srv/models/a" is under the read-only prefix "/srv/models" and must be mounted read-only`,
      ]],
      ['a relative mountPath', [{ hostPath: '/srv/sandbox/a', mountPath: 'data' }], [`${FIELD}[0].mountPath: "data" is not absolute`]],
      ['a mountPath with ".."', [{ hostPath: '/srv/sandbox/a', mountPath: '/data/../etc' }], [`${FIELD}[0].mountPath: "/data/../etc" has a ".." segment`]],
      ['the container root', [{ hostPath: '/srv/sandbox/a', mountPath: '/' }], [`${FIELD}[0].mountPath: "/" cannot be a mount target`]],
      ['/proc', [{ hostPath: '/srv/sandbox/a', mountPath: '/proc' }], [`${FIELD}[0].mountPath: "/proc" is inside the reserved path "/proc"`]],
      ['under /sys', [{ hostPath: '/srv/sandbox/a', mountPath: '/sys/fs/cgroup' }], [`${FIELD}[0].mountPath: "/sys/fs/cgroup" is inside the reserved path "/sys"`]],
      ['/dev with a trailing slash', [{ hostPath: '/srv/sandbox/a', mountPath: '/dev/' }], [`${FIELD}[0].mountPath: "/dev" is inside the reserved path "/dev"`]],
      ['a reserved mount path', [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/user-data' }], [`${FIELD}[0].mountPath: "/mnt/user-data" is inside the reserved path "/mnt/user-data"`]],
      ['a path under a reserved one', [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/user-data/x' }], [`${FIELD}[0].mountPath: "/mnt/user-data/x" is inside the reserved path "/mnt/user-data"`]],
      ['two entries at one mountPath with different hostPaths', [
        { hostPath: '/srv/sandbox/a', mountPath: '/d' },
        { hostPath: '/srv/sandbox/b', mountPath: '/d' },
      ], [`${FIELD}[1].mountPath: "/d" is also requested by entry [0] with a different hostPath or readOnly`]],
      ['two entries at one mountPath with different readOnly', [
        { hostPath: '/srv/sandbox/a', mountPath: '/d' },
        { host_path: '/srv/sandbox/a', container_path: '/d/', read_only: true },
      ], [`${FIELD}[1].container_path: "/d" is also requested by entry [0] with a different hostPath or readOnly`]],
      ['more than maxMounts after merging', [1, 2, 3, 4].map((n) => ({ hostPath: `/srv/sandbox/${n}`, mountPath: `/d${n}` })), [
        `${FIELD}: asks for 4 mounts, more than maxMounts (3)`,
      ]],
      ['only the refused entry when a valid one shares its mountPath (a refused entry takes no part in merging)', [
        { hostPath: '/etc', mountPath: '/d' },
        { hostPath: '/srv/sandbox/a', mountPath: '/d' },
      ], [`${FIELD}[0].hostPath: "/etc" is not under any allowed host path`]],
      ['only the refused entry when a valid one shares its mountPath (refused for its mountPath)', [
        { hostPath: '/srv/sandbox/a', mountPath: '/proc' },
        { hostPath: '/srv/sandbox/b', mountPath: '/proc' },
      ], [`${FIELD}[0].mountPath: "/proc" is inside the reserved path "/proc"`, `${FIELD}[1].mountPath: "/proc" is inside the reserved path "/proc"`]],
      ['every broken rule of several entries, in entry order', [
        { hostPath: '/etc/shadow', mountPath: '/proc/x' },
        { hostPath: '/srv/sandbox/ok', mountPath: '/ok' },
        { hostPath: '/srv/models/..', mountPath: 'rel' },
      ], [
        `${FIELD}[0].hostPath: "/etc/shadow" is not under any allowed host path`,
        `${FIELD}[0].mountPath: "/proc/x" is inside the reserved path "/proc"`,
        `${FIELD}[2].hostPath: "/srv/models/.." has a ".." segment`,
        `${FIELD}[2].mountPath: "rel" is not absolute`,
      ]],
    ];
    for (const [name, mounts, expected] of deniedRows) {
      it(`denies ${name}`, () => expect(denial(sandboxPod({ mounts }))).to.deep.equal(expected));
    }

    // The rule identifier is what audit logs and `mountgate check` key on (section 9): each refusal names its own.
    const ruleRows: Array<[string, PodOptions, string[], CompiledPolicy?, RequestOptions?]> = [
      ['invalid-path for either path', { mounts: [{ hostPath: 'srv', mountPath: 'd' }] }, ['invalid-path', 'invalid-path']],
      ['host-path-not-allowed', { mounts: [{ hostPath: '/etc', mountPath: '/d' }] }, ['host-path-not-allowed']],
      ['read-only-required', { mounts: [{ hostPath: '/srv/models/a', mountPath: '/m', readOnly: false }] }, ['read-only-required']],
      ['system-mount-path for the container root and a system path', { mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/' }, { hostPath: '/srv/sandbox/b', mountPath: '/proc' }] }, ['system-mount-path', 'system-mount-path']],
      ['reserved-mount-path', { mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/user-data' }] }, ['reserved-mount-path']],
      ['mount-path-in-use', { containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }], mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/cache' }] }, ['mount-path-in-use']],
      ['mount-path-conflict', { mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }, { hostPath: '/srv/sandbox/b', mountPath: '/d' }] }, ['mount-path-conflict']],
      ['max-mounts', { mounts: [1, 2, 3, 4].map((n) => ({ hostPath: `/srv/sandbox/${n}`, mountPath: `/d${n}` })) }, ['max-mounts']],
      ['volume-name-collision', { mounts: [{ hostPath: '/srv/sandbox/c5pdhk', mountPath: '/a' }, { hostPath: '/srv/sandbox/cfqctb', mountPath: '/b' }] }, ['volume-name-collision']],
      ['host-mounts-disabled', { mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }, ['host-mounts-disabled'], policyOf({ allowedHostPaths: [] })],
      ['no-target-container', { mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }, ['no-target-container'], policyOf({ containers: ['other'] })],
      ['requester-not-allowed', { mounts: [] }, ['requester-not-allowed'], policyOf({ requesters: ['alice'] }), { username: 'bob' }],
    ];
    for (const [name, options, rules, policy = POLICY, request = {}] of ruleRows) {
      it(`names the rule ${name}`, () => {
        const verdict = decide('mutate', requestFor(sandboxPod(options), request), policy);
        if (verdict.allowed) throw new Error('expected a denial');
        expect(verdict.violations.map((v) => v.rule)).to.deep.equal(rules);
      });
    }

    it('names no built-in pattern when no allowed entry covers a requested path (built-ins never count there)', () => {
      const policy = policyOf({ builtinHostPaths: [{ pathPrefix: '/home/{user}' }] });
      expect(denial(sandboxPod({ mounts: [{ hostPath: '/home/bob/x', mountPath: '/d' }] }), policy, { username: 'alice' })).to.deep.equal([
        `${FIELD}[0].hostPath: "/home/bob/x" is not under any allowed host path`,
      ]);
    });

    it('denies a request in a Pod without containers', () => {
      expect(denial(sandboxPod({ containers: [], mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }))).to.deep.equal([
        'spec.containers: the Pod has no containers to mount into',
      ]);
    });

    it('denies a mountPath equal to or under a mount already in a target container', () => {
      const containers = [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'cache', mountPath: '/cache/' }, { name: 'skills', mountPath: '/mnt/skills' }] }];
      expect(denial(sandboxPod({ containers, mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/cache' }, { hostPath: '/srv/sandbox/b', mountPath: '/cache/b' }] }))).to.deep.equal([
        `${FIELD}[0].mountPath: "/cache" is inside "/cache", already mounted in container "sandbox"`,
        `${FIELD}[1].mountPath: "/cache/b" is inside "/cache", already mounted in container "sandbox"`,
      ]);
    });

    // The runtime mounts an existing mount written "/mnt//data" at "/mnt/data", and the kubelet a relative "mnt/data"
    // at "/mnt/data" (MakeAbsolutePath: Clean("/" + path)); a request inside it is inside that mount.
    const unevenRows: Array<[string, string]> = [
      ['an empty segment', '/mnt//data'],
      ['a "." segment', '/mnt/./data'],
      ['a ".." segment', '/mnt/x/../data'],
      ['two trailing slashes', '/mnt/data//'],
      ['a relative path', 'mnt/data'],
      ['a relative path with ".."', '../mnt/data'],
    ];
    for (const [name, written] of unevenRows) {
      it(`denies a mountPath under an existing mount written with ${name}`, () => {
        const containers = [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'skills', mountPath: written, readOnly: true }] }];
        expect(denial(sandboxPod({ containers, mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/data/sub' }] }))).to.deep.equal([
          `${FIELD}[0].mountPath: "/mnt/data/sub" is inside "/mnt/data", already mounted in container "sandbox"`,
        ]);
      });
    }

    it('ignores mounts of containers that do not receive the mounts', () => {
      const containers = [{ name: 'sidecar', image: 'y', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }, { name: 'sandbox', image: 'x' }];
      allowedPod({ containers, mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/cache' }] }, policyOf({ containers: ['sandbox'] }));
    });

    it('merges identical requests into one mount with a warning', () => {
      const pod = sandboxPod({
        mounts: [
          { hostPath: '/srv/sandbox/a', mountPath: '/d' },
          { host_path: '/srv/sandbox/a/', container_path: '/d/', read_only: false },
          { hostPath: '/srv/sandbox/b', mountPath: '/e' },
          { hostPath: '/srv/sandbox/c', mountPath: '/f' },
          { hostPath: '/srv/sandbox/c', mountPath: '/f' },
        ],
      });
      const { verdict, pod: mutated } = mutateTwice(pod, POLICY);
      expect(verdict.warnings).to.deep.equal([
        `${FIELD}[1] repeats entry [0] (/srv/sandbox/a at /d); merged into one mount`,
        `${FIELD}[4] repeats entry [3] (/srv/sandbox/c at /f); merged into one mount`,
      ]);
      expect(injected(mutated).mounts).to.deep.equal([[rwMount('/srv/sandbox/a', '/d'), rwMount('/srv/sandbox/b', '/e'), rwMount('/srv/sandbox/c', '/f')]]);
    });

    it('shows the paths of a merged request in its warning with the marks that reorder shown text escaped', () => {
      const hostPath = '/srv/sandbox/\u202egpj.exe';
      const { verdict } = mutateTwice(sandboxPod({ mounts: [{ hostPath, mountPath: '/d' }, { hostPath, mountPath: '/d' }] }), POLICY);
      expect(verdict.warnings).to.deep.equal([`${FIELD}[1] repeats entry [0] (/srv/sandbox/\\u202egpj.exe at /d); merged into one mount`]);
    });

    it('makes a mount read-only when the entry is silent and the prefix is read-only', () => {
      expect(injected(allowedPod({ mounts: [{ hostPath: '/srv/models/m', mountPath: '/m' }] })).mounts).to.deep.equal([[roMount('/srv/models/m', '/m')]]);
    });

    it('makes a mount read-write when the entry is silent and the prefix is read-write', () => {
      expect(injected(allowedPod({ mounts: [{ hostPath: '/srv/sandbox/m', mountPath: '/m' }] })).mounts).to.deep.equal([[rwMount('/srv/sandbox/m', '/m')]]);
    });

    it('denies every request when allowedHostPaths is empty', () => {
      expect(denial(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }), policyOf({ allowedHostPaths: [] }))).to.deep.equal([
        `${FIELD}: host mounts are disabled by policy (allowedHostPaths is empty)`,
      ]);
    });

    it('allows an empty request list even when host mounts are disabled', () => {
      expect(decide('mutate', requestFor(sandboxPod({ mounts: [] })), policyOf({ allowedHostPaths: [] }))).to.deep.equal({ allowed: true, warnings: [], patch: [] });
    });

    it('allows maxMounts: 0 only with nothing asked', () => {
      const policy = policyOf({ maxMounts: 0 });
      expect(denial(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }), policy)).to.deep.equal([`${FIELD}: asks for 1 mounts, more than maxMounts (0)`]);
      expect(decide('mutate', requestFor(sandboxPod({ mounts: [] })), policy).allowed).to.equal(true);
    });

    // Two paths whose volume names collide (12 hex digits of SHA-256 each: 12d2343d2be3), found by a search over
    // 2^25 names below /srv/sandbox; a third that collides with neither.
    describe('volume names that collide', () => {
      const [first, second, other] = ['/srv/sandbox/c5pdhk', '/srv/sandbox/cfqctb', '/srv/sandbox/other'];
      it('the two paths of the rows do collide', () => {
        expect(expectedVolumeName(first)).to.equal('mountgate-12d2343d2be3');
        expect(expectedVolumeName(second)).to.equal(expectedVolumeName(first));
        expect(expectedVolumeName(other)).to.not.equal(expectedVolumeName(first));
      });

      const collision = (index: number, key = 'hostPath') =>
        `${FIELD}[${index}].${key}: "${second}" would have the volume name "mountgate-12d2343d2be3", which "${first}" of entry [0] has: one Pod cannot carry both, so ask for one of them`;
      const rows: Array<[string, PodOptions['mounts'], string[]]> = [
        ['two paths of one name', [{ hostPath: first, mountPath: '/a' }, { hostPath: second, mountPath: '/b' }], [collision(1)]],
        ['two paths of one name, in the deer-flow spelling', [{ host_path: first, container_path: '/a' }, { host_path: second, container_path: '/b' }], [collision(1, 'host_path')]],
        [
          'the same later path twice, and another path between: one violation, at the first entry of that path',
          [{ hostPath: first, mountPath: '/a' }, { hostPath: other, mountPath: '/o' }, { hostPath: second, mountPath: '/b', readOnly: true }, { hostPath: second, mountPath: '/c' }],
          [collision(2)],
        ],
        [
          'the first path at two targets, then the second: one violation (the first path shares its own volume)',
          [{ hostPath: first, mountPath: '/a' }, { hostPath: first, mountPath: '/c' }, { hostPath: second, mountPath: '/b' }],
          [collision(2)],
        ],
      ];
      for (const [name, mounts, expected] of rows) {
        it(`denies ${name}`, () => expect(denial(sandboxPod({ mounts }), policyOf({ maxMounts: 4 }))).to.deep.equal(expected));
      }

      it('allows one of the two paths at two targets (one volume)', () => {
        const pod = allowedPod({ mounts: [{ hostPath: second, mountPath: '/a' }, { hostPath: second, mountPath: '/b' }] });
        expect(injected(pod).volumes).to.deep.equal([rw(second)]);
      });

      it('names the roots when volumeRoot: writableAncestor mounts the two paths from colliding roots', () => {
        const policy = policyOf({ allowedHostPaths: [{ pathPrefix: first }, { pathPrefix: second }], volumeRoot: 'writableAncestor' });
        expect(denial(sandboxPod({ mounts: [{ hostPath: `${first}/x`, mountPath: '/a' }, { hostPath: `${second}/y`, mountPath: '/b' }] }), policy)).to.deep.equal([
          `${FIELD}[1].hostPath: "${second}/y" (mounted from "${second}") would have the volume name "mountgate-12d2343d2be3", which "${first}/x" (mounted from "${first}") of entry [0] has: one Pod cannot carry both, so ask for one of them`,
        ]);
      });

      it('/validate refuses a Pod that carries one of the two volumes for both requests, as /mutate would', () => {
        const name = expectedVolumeName(first);
        const pod = sandboxPod({
          mounts: [{ hostPath: first, mountPath: '/a' }, { hostPath: second, mountPath: '/b' }],
          containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name, mountPath: '/a' }, { name, mountPath: '/b' }] }],
          volumes: [rw(first)],
        });
        const verdict = decide('validate', requestFor(pod), POLICY);
        if (verdict.allowed) throw new Error('expected a denial');
        expect(verdict.violations.map(describeViolation)).to.deep.equal([collision(1)]);
      });
    });

    describe('requesters', () => {
      const policy = policyOf({ requesters: ['alice', 'group:sandbox-provisioners'] });
      const pod = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] });
      const rows: Array<[string, RequestOptions, boolean]> = [
        ['a listed username', { username: 'alice', groups: [] }, true],
        ['a member of a listed group', { username: 'bob', groups: ['system:authenticated', 'sandbox-provisioners'] }, true],
        ['an unlisted user', { username: 'bob', groups: ['system:authenticated'] }, false],
        ['a user whose name matches a group entry', { username: 'sandbox-provisioners', groups: [] }, false],
        // Users and groups are kept apart, as in RBAC: an x509 CN or a static token may be spelled so.
        ['a user named like the group entry itself', { username: 'group:sandbox-provisioners', groups: [] }, false],
        ['a user named like the group entry itself, in the group', { username: 'group:sandbox-provisioners', groups: ['sandbox-provisioners'] }, true],
      ];
      for (const [name, options, allowed] of rows) {
        it(`${allowed ? 'allows' : 'denies'} ${name}`, () => {
          const verdict = decide('mutate', requestFor(pod, options), policy);
          if (allowed) expect(verdict.allowed).to.equal(true);
          else expect(denial(pod, policy, options)).to.deep.equal([`request.userInfo: user "${options.username}" may not request host mounts (not in requesters)`]);
        });
      }
      it('names a username that holds quotes or a line break as JSON', () => {
        expect(denial(pod, policy, { username: 'CN="eve"\nO=x', groups: [] })).to.deep.equal([
          'request.userInfo: user "CN=\\"eve\\"\\nO=x" may not request host mounts (not in requesters)',
        ]);
      });
      it('allows anyone when requesters is empty', () => {
        expect(decide('mutate', requestFor(pod, { username: 'mallory' }), POLICY).allowed).to.equal(true);
      });
    });

    it('denies when no target container exists in the Pod', () => {
      const pod = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }], containers: [{ name: 'main', image: 'x' }] });
      expect(denial(pod, policyOf({ containers: ['sandbox', 'agent'] }))).to.deep.equal([
        'spec.containers: the Pod has no container named "sandbox" or "agent" to mount into',
      ]);
    });

    it('denies a mountgate- volume that does not match what the request adds', () => {
      const volumes = [
        { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
        { name: expectedVolumeName('/srv/sandbox/a'), hostPath: { path: '/srv/sandbox/other', type: 'DirectoryOrCreate' } },
      ];
      expect(denial(sandboxPod({ volumes, mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }))).to.deep.equal([
        `spec.volumes[1]: volume "${expectedVolumeName('/srv/sandbox/a')}" does not match what this request adds`,
      ]);
    });

    it('denies a stray mountgate- volume the annotation does not ask for', () => {
      const volumes = [{ name: 'mountgate-000000000000', hostPath: { path: '/srv/sandbox/x', type: 'DirectoryOrCreate' } }];
      expect(denial(sandboxPod({ volumes, mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }))).to.deep.equal([
        'spec.volumes[0]: volume "mountgate-000000000000" does not match what this request adds',
      ]);
    });

    it('denies a volume of another kind whose name begins with mountgate-, saying whose names these are', () => {
      const volumes = [{ name: 'mountgate-cache', persistentVolumeClaim: { claimName: 'cache-sb' } }];
      expect(denial(sandboxPod({ volumes, mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }))).to.deep.equal([
        `spec.volumes[0]: volume "mountgate-cache" does not match what this request adds (it is not a hostPath volume: names that begin with "mountgate-" are mountgate's, so rename it)`,
      ]);
    });

    it('denies a volume of another kind named as the request would name its volume', () => {
      const name = expectedVolumeName('/srv/sandbox/a');
      const volumes = [{ name, persistentVolumeClaim: { claimName: 'cache-sb' } }];
      expect(denial(sandboxPod({ volumes, mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }))).to.deep.equal([
        `spec.volumes[0]: volume "${name}" does not match what this request adds (it is not a hostPath volume: names that begin with "mountgate-" are mountgate's, so rename it)`,
      ]);
    });

    it('denies a hand-written mount of a mountgate- volume that differs from the request', () => {
      const name = expectedVolumeName('/srv/sandbox/a');
      const containers = [{ name: 'sandbox', image: 'x', volumeMounts: [{ name, mountPath: '/elsewhere' }] }];
      expect(denial(sandboxPod({ containers, mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/d' }] }))).to.deep.equal([
        `spec.containers[0].volumeMounts[0]: mount of "${name}" at "/elsewhere" does not match what this request adds`,
      ]);
    });

    it('says it all in one message', () => {
      const verdict = decide('mutate', requestFor(sandboxPod({ mounts: [{ hostPath: '/var/run', mountPath: '/run' }] })), POLICY);
      if (verdict.allowed) throw new Error('allowed');
      expect(denialMessage(verdict.violations)).to.equal(`mountgate denied the Pod: ${FIELD}[0].hostPath: "/var/run" is not under any allowed host path`);
    });
  });
});
