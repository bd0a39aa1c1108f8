/**
 * Placeholders and wildcards through the decision core, with the whole
 * answers: per-namespace and per-sandbox-user trees, a read-only wildcard,
 * built-in volumes, and denials that say which placeholder was not filled.
 */
import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { denialMessage, type Verdict } from '../../src/admission/verdict.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { loadPolicyFile, parsePolicy } from '../../src/policy/load.js';
import { deerFlowSandboxPod, extraMountsFor, type SandboxRequest } from '../e2e/deer-flow-pods.js';
import { expectedVolumeName, FIELD, requestFor, sandboxPod, type RequestOptions } from '../helpers/pods.js';

const PROVISIONER = 'system:serviceaccount:deer-flow:provisioner';
const POLICY = parsePolicy(
  JSON.stringify({
    allowedHostPaths: [
      { pathPrefix: '/srv/tenants/{namespace}' },
      { pathPrefix: '/srv/users/{sandboxUser}' },
      { pathPrefix: '/.deer-flow/users/*/skills_view', readOnly: true },
      { pathPrefix: '/home/{user}' },
    ],
    builtinHostPaths: [
      { pathPrefix: '/skills', readOnly: true },
      { pathPrefix: '/.deer-flow/users/{sandboxUser}/threads' },
    ],
    trustedProvisioners: [PROVISIONER, 'group:deer-flow-provisioners'],
  }),
  'tenants.json',
);

const TEAM_A: RequestOptions = { namespace: 'team-a', username: 'alice', groups: ['devs'] };
const TRUSTED: RequestOptions = { namespace: 'deer-flow', username: PROVISIONER, groups: ['system:serviceaccounts'] };
const UNTRUSTED: RequestOptions = { namespace: 'deer-flow', username: 'bob', groups: ['devs'] };

function podAsking(hostPath: string, options: { sandboxUser?: string; readOnly?: boolean; volumes?: unknown[] } = {}): Record<string, unknown> {
  const pod = sandboxPod({
    mounts: [{ hostPath, mountPath: '/mnt/work', ...(options.readOnly === undefined ? {} : { readOnly: options.readOnly }) }],
    ...(options.volumes === undefined ? {} : { volumes: options.volumes }),
  });
  if (options.sandboxUser !== undefined) {
    const metadata = pod.metadata as { annotations: Record<string, string> };
    metadata.annotations['mountgate.io/sandbox-user'] = options.sandboxUser;
  }
  return pod;
}

function denial(verdict: Verdict): string {
  if (verdict.allowed) throw new Error('the Pod was allowed');
  return denialMessage(verdict.violations);
}

function injectedVolumes(verdict: Verdict): unknown[] {
  if (!verdict.allowed) throw new Error(denialMessage(verdict.violations));
  return (verdict.mutated as { spec: { volumes: Array<{ name: string }> } }).spec.volumes.filter((v) => v.name.startsWith('mountgate-'));
}

describe('admission: placeholders and wildcards', () => {
  describe('{namespace}', () => {
    it('admits a Pod in team-a to its own tree', () => {
      const verdict = decide('mutate', requestFor(podAsking('/srv/tenants/team-a/data'), TEAM_A), POLICY);
      expect(injectedVolumes(verdict)).to.deep.equal([
        { name: expectedVolumeName('/srv/tenants/team-a/data'), hostPath: { path: '/srv/tenants/team-a/data', type: 'DirectoryOrCreate' } },
      ]);
    });

    it("refuses team-b's tree to a Pod in team-a, saying what {namespace} is", () => {
      expect(denial(decide('mutate', requestFor(podAsking('/srv/tenants/team-b/data'), TEAM_A), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].hostPath: "/srv/tenants/team-b/data" is not under any allowed host path ("/srv/tenants/{namespace}" has {namespace} = "team-a" for this request)`,
      );
    });

    it('never takes the namespace from the Pod', () => {
      const pod = podAsking('/srv/tenants/team-b/data');
      (pod.metadata as { namespace: string }).namespace = 'team-b';
      expect(denial(decide('mutate', requestFor(pod, TEAM_A), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].hostPath: "/srv/tenants/team-b/data" is not under any allowed host path ("/srv/tenants/{namespace}" has {namespace} = "team-a" for this request)`,
      );
    });
  });

  describe('{sandboxUser}', () => {
    it("admits a trusted provisioner's Pod to the sandbox user's tree", () => {
      const verdict = decide('mutate', requestFor(podAsking('/srv/users/u3/work', { sandboxUser: 'u3' }), TRUSTED), POLICY);
      expect(injectedVolumes(verdict)).to.have.length(1);
    });

    it('admits a provisioner trusted by group', () => {
      const verdict = decide('mutate', requestFor(podAsking('/srv/users/u3', { sandboxUser: 'u3' }), { ...UNTRUSTED, groups: ['deer-flow-provisioners'] }), POLICY);
      expect(verdict.allowed).to.equal(true);
    });

    describe('who is a trusted provisioner: by username, or by group with "group:NAME", never a username spelled "group:NAME"', () => {
      const rows: ReadonlyArray<{ name: string; requester: RequestOptions; trusted: boolean }> = [
        { name: 'the listed username', requester: { ...UNTRUSTED, username: PROVISIONER, groups: [] }, trusted: true },
        { name: 'a member of the listed group', requester: { ...UNTRUSTED, groups: ['deer-flow-provisioners'] }, trusted: true },
        { name: 'a user in no listed group', requester: UNTRUSTED, trusted: false },
        { name: 'a user named as the group, without the prefix', requester: { ...UNTRUSTED, username: 'deer-flow-provisioners', groups: [] }, trusted: false },
        { name: 'a user named "group:" and the group, in no group', requester: { ...UNTRUSTED, username: 'group:deer-flow-provisioners', groups: [] }, trusted: false },
        { name: 'a user named "group:" and the group, in the group', requester: { ...UNTRUSTED, username: 'group:deer-flow-provisioners', groups: ['deer-flow-provisioners'] }, trusted: true },
        { name: 'a member of a group named as the listed username', requester: { ...UNTRUSTED, groups: [PROVISIONER] }, trusted: false },
      ];
      for (const row of rows) {
        it(`${row.trusted ? 'fills' : 'does not fill'} {sandboxUser} for ${row.name}`, () => {
          const verdict = decide('mutate', requestFor(podAsking('/srv/users/u3/work', { sandboxUser: 'u3' }), row.requester), POLICY);
          if (row.trusted) {
            expect(injectedVolumes(verdict)).to.deep.equal([
              { name: expectedVolumeName('/srv/users/u3/work'), hostPath: { path: '/srv/users/u3/work', type: 'DirectoryOrCreate' } },
            ]);
          } else {
            expect(denial(verdict)).to.equal(
              `mountgate denied the Pod: ${FIELD}[0].hostPath: "/srv/users/u3/work" is not under any allowed host path ` +
                `("/srv/users/{sandboxUser}" does not apply: {sandboxUser} is not filled, as user "${row.requester.username ?? ''}" is not in trustedProvisioners)`,
            );
          }
        });
      }
    });

    it("refuses another user's tree to the trusted provisioner", () => {
      expect(denial(decide('mutate', requestFor(podAsking('/srv/users/u4/work', { sandboxUser: 'u3' }), TRUSTED), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].hostPath: "/srv/users/u4/work" is not under any allowed host path ("/srv/users/{sandboxUser}" has {sandboxUser} = "u3" for this request)`,
      );
    });

    it('ignores the annotation from a requester that is not trusted, and says so', () => {
      expect(denial(decide('mutate', requestFor(podAsking('/srv/users/u3/work', { sandboxUser: 'u3' }), UNTRUSTED), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].hostPath: "/srv/users/u3/work" is not under any allowed host path ("/srv/users/{sandboxUser}" does not apply: {sandboxUser} is not filled, as user "bob" is not in trustedProvisioners)`,
      );
    });

    it('refuses a value outside the pattern, never escaping or cutting it', () => {
      expect(denial(decide('mutate', requestFor(podAsking('/srv/users/u3.x/work', { sandboxUser: 'u3.x' }), TRUSTED), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].hostPath: "/srv/users/u3.x/work" is not under any allowed host path ("/srv/users/{sandboxUser}" does not apply: {sandboxUser} is not filled, as the mountgate.io/sandbox-user annotation "u3.x" is not a valid value (letters, digits, "_" and "-", 1 to 64 characters))`,
      );
    });

    it('refuses when the trusted provisioner names no sandbox user', () => {
      expect(denial(decide('mutate', requestFor(podAsking('/srv/users/u3'), TRUSTED), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].hostPath: "/srv/users/u3" is not under any allowed host path ("/srv/users/{sandboxUser}" does not apply: {sandboxUser} is not filled, as the Pod has no mountgate.io/sandbox-user annotation)`,
      );
    });

    it("reads the annotation named by sandboxUserAnnotation", () => {
      const policy = parsePolicy(JSON.stringify({ ...POLICY.spec, sandboxUserAnnotation: 'deer-flow.io/user' }), 'p.json');
      const pod = podAsking('/srv/users/u3', { sandboxUser: 'u3' });
      expect(decide('mutate', requestFor(pod, TRUSTED), policy).allowed).to.equal(false);
      (pod.metadata as { annotations: Record<string, string> }).annotations['deer-flow.io/user'] = 'u3';
      expect(decide('mutate', requestFor(pod, TRUSTED), policy).allowed).to.equal(true);
    });
  });

  describe('{user}', () => {
    it("admits alice to her home, not bob's", () => {
      expect(decide('mutate', requestFor(podAsking('/home/alice/x'), TEAM_A), POLICY).allowed).to.equal(true);
      expect(denial(decide('mutate', requestFor(podAsking('/home/bob/x'), TEAM_A), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].hostPath: "/home/bob/x" is not under any allowed host path ("/home/{user}" has {user} = "alice" for this request)`,
      );
    });

    it('never fills from a service account name (":" is outside the pattern)', () => {
      expect(denial(decide('mutate', requestFor(podAsking('/home/provisioner'), TRUSTED), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].hostPath: "/home/provisioner" is not under any allowed host path ("/home/{user}" does not apply: {user} is not filled, as the username "${PROVISIONER}" is not a valid value (letters, digits, "_" and "-", 1 to 64 characters))`,
      );
    });
  });

  describe('"*"', () => {
    it('makes every user\'s skills_view read-only, naming the pattern', () => {
      expect(denial(decide('mutate', requestFor(podAsking('/.deer-flow/users/u9/skills_view/a', { readOnly: false }), TEAM_A), POLICY))).to.equal(
        `mountgate denied the Pod: ${FIELD}[0].readOnly: "/.deer-flow/users/u9/skills_view/a" is under the read-only prefix "/.deer-flow/users/*/skills_view" and must be mounted read-only`,
      );
      const verdict = decide('mutate', requestFor(podAsking('/.deer-flow/users/u9/skills_view'), TEAM_A), POLICY);
      expect(injectedVolumes(verdict)).to.deep.equal([
        { name: expectedVolumeName('/.deer-flow/users/u9/skills_view'), hostPath: { path: '/.deer-flow/users/u9/skills_view', type: 'Directory' } },
      ]);
    });
  });

  describe('hostPath volumes a Pod carries (/validate)', () => {
    const threads = (user: string): Record<string, unknown> => {
      const pod = sandboxPod({
        volumes: [
          { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
          { name: 'threads', hostPath: { path: `/.deer-flow/users/${user}/threads/t1`, type: 'DirectoryOrCreate' } },
        ],
      });
      (pod.metadata as { annotations?: Record<string, string> }).annotations = { 'mountgate.io/sandbox-user': 'u3' };
      return pod;
    };

    it("admits the sandbox user's built-in threads volume from the trusted provisioner", () => {
      expect(decide('validate', requestFor(threads('u3'), TRUSTED), POLICY)).to.deep.equal({ allowed: true, warnings: [], patch: [] });
    });

    it('judges kubectl debug (pods/ephemeralcontainers) with the placeholders of whoever runs it: refused unless trusted', () => {
      const debug = { operation: 'UPDATE', subResource: 'ephemeralcontainers' };
      expect(decide('validate', requestFor(threads('u3'), { ...TRUSTED, ...debug }), POLICY).allowed).to.equal(true);
      expect(denial(decide('validate', requestFor(threads('u3'), { ...UNTRUSTED, ...debug }), POLICY))).to.equal(
        'mountgate denied the Pod: spec.volumes[1].hostPath.path: "/.deer-flow/users/u3/threads/t1" is not under any allowed or built-in host path ("/.deer-flow/users/{sandboxUser}/threads" does not apply: {sandboxUser} is not filled, as user "bob" is not in trustedProvisioners)',
      );
    });

    it('refuses it from anyone else, and another user\'s from the provisioner', () => {
      expect(denial(decide('validate', requestFor(threads('u3'), UNTRUSTED), POLICY))).to.equal(
        'mountgate denied the Pod: spec.volumes[1].hostPath.path: "/.deer-flow/users/u3/threads/t1" is not under any allowed or built-in host path ("/.deer-flow/users/{sandboxUser}/threads" does not apply: {sandboxUser} is not filled, as user "bob" is not in trustedProvisioners); ' +
          'metadata.annotations[mountgate.io/sandbox-user]: names the sandbox user of a Pod with hostPath volumes, which only trustedProvisioners may do, and user "bob" is not in trustedProvisioners',
      );
      expect(denial(decide('validate', requestFor(threads('u4'), TRUSTED), POLICY))).to.equal(
        'mountgate denied the Pod: spec.volumes[1].hostPath.path: "/.deer-flow/users/u4/threads/t1" is not under any allowed or built-in host path ("/.deer-flow/users/{sandboxUser}/threads" has {sandboxUser} = "u3" for this request)',
      );
    });
  });
});

describe('admission: examples/deer-flow-per-user-policy.yaml and the Pods deer-flow builds', () => {
  const PROFILE_PROVISIONER: RequestOptions = { namespace: 'deer-flow', username: 'system:serviceaccount:deer-flow:deer-flow-deer-flow-provisioner', groups: [] };
  let profile: CompiledPolicy | undefined;
  before(async () => {
    profile = (await loadPolicyFile('examples/deer-flow-per-user-policy.yaml')).policy;
  });
  const policy = (): CompiledPolicy => {
    if (profile === undefined) throw new Error('the example is not loaded');
    return profile;
  };
  const extras = extraMountsFor('u3', 't1');
  const requests: Array<[string, SandboxRequest]> = [
    ['the default user, no extra mounts', { sandboxId: 's1' }],
    ['every extra mount at once', { sandboxId: 's2', userId: 'u3', threadId: 't1', extraMounts: Object.values(extras) }],
    ['the lark-cli init container', { sandboxId: 's3', userId: 'u3', extraMounts: Object.values(extras), larkRuntime: true }],
    ['the lark-cli broker sidecar', { sandboxId: 's4', userId: 'u3', extraMounts: Object.values(extras), larkBroker: true }],
  ];
  for (const [title, request] of requests) {
    it(`admits, unchanged, the sandbox Pod of: ${title}`, () => {
      expect(decide('validate', requestFor(deerFlowSandboxPod(request), PROFILE_PROVISIONER), policy())).to.deep.equal({ allowed: true, warnings: [], patch: [] });
    });
  }

  it("refuses a user's skills mounted read-write, which the profile without wildcards cannot", () => {
    const pod = deerFlowSandboxPod({ sandboxId: 's5', userId: 'u3', extraMounts: [{ ...extras.customSkills, readOnly: false }] });
    const index = pod.spec?.containers[0]?.volumeMounts?.findIndex((mount) => mount.mountPath === extras.customSkills.containerPath && mount.readOnly === false);
    const volume = pod.spec?.volumes?.findIndex((v) => v.hostPath?.path === '/.deer-flow/users/u3/skills_view/custom' && v.hostPath.type === 'DirectoryOrCreate');
    // deer-flow gives a read-write extra mount DirectoryOrCreate, which the kubelet would create inside the read-only tree.
    expect(denial(decide('validate', requestFor(pod, PROFILE_PROVISIONER), policy()))).to.equal(
      `mountgate denied the Pod: spec.containers[0].volumeMounts[${index}]: container "sandbox" mounts "/.deer-flow/users/u3/skills_view/custom" read-write, but "/.deer-flow/users/*/skills_view" is read-only; ` +
        `spec.volumes[${volume}].hostPath.type: "DirectoryOrCreate" has the kubelet create "/.deer-flow/users/u3/skills_view/custom" when it is missing, but "/.deer-flow/users/*/skills_view" is read-only; use Directory`,
    );
  });
});
