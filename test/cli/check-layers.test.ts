/** `mountgate check --mount-policy`: MountPolicies from files, layered as the server layers them, whole outputs. */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from '../../src/cli/check.js';
import { EXIT_DENIED, EXIT_OK, UsageError } from '../../src/cli/usage.js';
import { requestedRootLine } from '../helpers/policies.js';
import { sandboxPod } from '../helpers/pods.js';

const CLUSTER = JSON.stringify({
  allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/shared', readOnly: true }],
  builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }],
  maxMounts: 4,
});

const TENANT = `apiVersion: mountgate.io/v1alpha1
kind: MountPolicy
metadata: {name: tenant}
spec:
  allowedHostPaths:
    - pathPrefix: /srv/tenants/team-a
    - pathPrefix: /skills
  maxMounts: 2
---
apiVersion: mountgate.io/v1alpha1
kind: MountPolicy
metadata: {name: other, namespace: team-b}
spec: {allowedHostPaths: []}
`;

async function run(files: Record<string, string>, args: (dir: string) => string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-check-layers-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    let stdout = '';
    let stderr = '';
    const code = await check(['--config', join(dir, 'policy.json'), '-f', join(dir, 'pod.json'), ...args(dir)], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      readStdin: () => Promise.resolve(''),
    });
    return { code, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const asking = (hostPath: string): string => JSON.stringify(sandboxPod({ mounts: [{ hostPath, mountPath: '/mnt/x' }] }));

/** What check says first of CLUSTER, which keeps volumeRoot: requested beside a read-write entry. */
const TENANTS_REQUESTED_ROOT = `warning (policy): ${requestedRootLine('allowedHostPaths[0] "/srv/tenants"')}`;

describe('cli: mountgate check --mount-policy', () => {
  it("refuses another team's tree, naming the MountPolicy, after saying what is in effect", async () => {
    const result = await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-b'), 'mp.yaml': TENANT }, (dir) => [
      '--namespace',
      'team-a',
      '--mount-policy',
      join(dir, 'mp.yaml'),
    ]);
    expect(result).to.deep.equal({
      code: EXIT_DENIED,
      stdout: '',
      stderr: [
        'note: MountPolicy team-b/other is for namespace "team-b", not "team-a": left out',
        `warning: MountPolicy team-a/tenant: spec.allowedHostPaths[1]: "/skills" is under the cluster policy's read-only prefix "/skills", so it is mounted read-only`,
        `warning: MountPolicy team-a/tenant: spec.allowedHostPaths[1]: "/skills" lies only under the cluster policy's builtinHostPaths: Pods may carry it, the annotation cannot request it`,
        'namespace team-a with MountPolicy team-a/tenant: host paths in effect: /skills (read-only), /srv/tenants/team-a',
        TENANTS_REQUESTED_ROOT,
        // Namespaces without such a MountPolicy may write /srv/tenants, above team-a's root.
        'warning (policy): "/srv/tenants" may be mounted read-write where {namespace} = "<x>" (allowedHostPaths[0] "/srv/tenants"), and lies above "/srv/tenants/team-a", which may be mounted where {namespace} = "team-a" under its MountPolicies (allowedHostPaths[0] "/srv/tenants", narrowed by MountPolicy team-a/tenant "/srv/tenants/team-a"): a symbolic link planted there leads that mount elsewhere on the node, even with volumeRoot: writableAncestor',
        'denied by /mutate:',
        '  - [host-path-not-allowed] metadata.annotations[mountgate.io/mounts][0].hostPath: "/srv/tenants/team-b" is not under any allowed host path of MountPolicy team-a/tenant',
        '',
      ].join('\n'),
    });
  });

  it('admits what every layer allows', async () => {
    const result = await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-a/x'), 'mp.yaml': TENANT }, (dir) => [
      '--namespace',
      'team-a',
      '--mount-policy',
      join(dir, 'mp.yaml'),
    ]);
    expect([result.code, result.stderr.split('\n').slice(-2)]).to.deep.equal([EXIT_OK, ['allowed (2 patch operations)', '']]);
  });

  it('warns of what the write webhook would refuse, and of an invalid MountPolicy (which allows no host path)', async () => {
    const widening = 'kind: MountPolicy\nmetadata: {name: wide, namespace: team-a}\nspec: {allowedHostPaths: [{pathPrefix: /srv}], maxMounts: 9}\n';
    const invalid = 'kind: MountPolicy\nmetadata: {name: bad, namespace: team-a}\nspec: {maxMounts: -1}\n';
    const result = await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-a/x'), 'wide.yaml': widening, 'bad.yaml': invalid }, (dir) => [
      '--namespace',
      'team-a',
      '--mount-policy',
      join(dir, 'wide.yaml'),
      '--mount-policy',
      join(dir, 'bad.yaml'),
    ]);
    expect(result).to.deep.equal({
      code: EXIT_DENIED,
      stdout: '',
      stderr: [
        'warning: MountPolicy team-a/wide would be refused when written: spec.allowedHostPaths[0].pathPrefix: "/srv" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)',
        "warning: MountPolicy team-a/wide would be refused when written: spec.maxMounts: 9 is more than the cluster policy's maxMounts (4)",
        `warning: MountPolicy team-a/wide: spec.allowedHostPaths[0]: "/srv" holds the cluster policy's read-only prefix "/srv/shared", so a mount that holds it is read-only`,
        'warning: MountPolicy team-a/bad is invalid, so it allows no host path: spec.maxMounts must not be negative',
        'namespace team-a with MountPolicies team-a/bad, team-a/wide: host paths in effect: no host path',
        TENANTS_REQUESTED_ROOT,
        'denied by /mutate:',
        '  - [host-path-not-allowed] metadata.annotations[mountgate.io/mounts][0].hostPath: "/srv/tenants/team-a/x" is not under any allowed host path of MountPolicy team-a/bad (it is invalid, so it allows no host path: spec.maxMounts must not be negative)',
        '',
      ].join('\n'),
    });
  });

  it('escapes control characters in what it says of a MountPolicy: a manifest cannot send escape sequences to the terminal', async () => {
    const narrowing = 'kind: MountPolicy\nmetadata: {name: csi, namespace: team-a}\nspec: {allowedHostPaths: [{pathPrefix: "/srv/tenants/team-a/\\u009b2J"}]}\n';
    const result = await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-a/x'), 'mp.yaml': narrowing }, (dir) => [
      '--namespace',
      'team-a',
      '--mount-policy',
      join(dir, 'mp.yaml'),
    ]);
    expect(result.stderr.split('\n')[0]).to.equal('namespace team-a with MountPolicy team-a/csi: host paths in effect: /srv/tenants/team-a/\\u009b2J');
    expect(result.stderr).to.not.match(/[\u0080-\u009f]/);
  });

  it('says what all the MountPolicies of the namespace leave in effect, read-only where any says so', async () => {
    const second = 'kind: MountPolicy\nmetadata: {name: reference}\nspec: {allowedHostPaths: [{pathPrefix: /srv/tenants/team-a/ref, readOnly: true}, {pathPrefix: /skills}]}\n';
    const result = await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-a/x'), 'mp.yaml': `${TENANT}---\n${second}` }, (dir) => [
      '--namespace',
      'team-a',
      '--mount-policy',
      join(dir, 'mp.yaml'),
    ]);
    expect(result.stderr.split('\n').filter((line) => line.includes('in effect'))).to.deep.equal([
      'namespace team-a with MountPolicies team-a/reference, team-a/tenant: host paths in effect: /skills (read-only), /srv/tenants/team-a/ref (read-only)',
    ]);
    expect(result.code).to.equal(EXIT_DENIED);
  });

  const unsetNamespaces: Array<[string, string]> = [
    ['an empty namespace', 'namespace: ""'],
    ['a namespace key without a value (null)', 'namespace: null'],
  ];
  for (const [name, field] of unsetNamespaces) {
    it(`takes a manifest with ${name} as the checked namespace's, as kubectl apply places it`, async () => {
      const narrowing = `kind: MountPolicy\nmetadata: {name: tenant, ${field}}\nspec: {allowedHostPaths: [{pathPrefix: /srv/tenants/team-a}, {pathPrefix: /skills, readOnly: true}]}\n`;
      const result = await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-b/x'), 'mp.yaml': narrowing }, (dir) => [
        '--namespace',
        'team-a',
        '--mount-policy',
        join(dir, 'mp.yaml'),
      ]);
      expect(result.stderr.split('\n').filter((line) => line.startsWith('note') || line.includes('in effect'))).to.deep.equal([
        'namespace team-a with MountPolicy team-a/tenant: host paths in effect: /skills (read-only), /srv/tenants/team-a',
      ]);
      expect(result.code).to.equal(EXIT_DENIED);
    });
  }

  it('layers the last of MountPolicies of one name, as the API server keeps one object of a name, and says so', async () => {
    const before = 'kind: MountPolicy\nmetadata: {name: tenant}\nspec: {allowedHostPaths: [{pathPrefix: /srv/tenants/team-a/old}, {pathPrefix: /etc}]}\n';
    const after = 'kind: MountPolicy\nmetadata: {name: tenant}\nspec: {allowedHostPaths: [{pathPrefix: /srv/tenants/team-a}, {pathPrefix: /skills, readOnly: true}]}\n';
    const result = await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-a/x'), 'old.yaml': before, 'new.yaml': after }, (dir) => [
      '--namespace',
      'team-a',
      '--mount-policy',
      join(dir, 'old.yaml'),
      '--mount-policy',
      join(dir, 'new.yaml'),
    ]);
    // The warnings are those of the copy layered: the first copy's /etc, which the write webhook would refuse, is in force nowhere.
    expect(result.stderr.split('\n').filter((line) => line.startsWith('note') || line.startsWith('warning: MountPolicy') || line.includes('in effect'))).to.deep.equal([
      'note: MountPolicy team-a/tenant is given more than once: the last one is layered, as the API server keeps one object of a name',
      `warning: MountPolicy team-a/tenant: spec.allowedHostPaths[1]: "/skills" lies only under the cluster policy's builtinHostPaths: Pods may carry it, the annotation cannot request it`,
      'namespace team-a with MountPolicy team-a/tenant: host paths in effect: /skills (read-only), /srv/tenants/team-a',
    ]);
    expect([result.code, result.stderr.split('\n').slice(-2)]).to.deep.equal([EXIT_OK, ['allowed (2 patch operations)', '']]);
  });

  const refused: Array<[string, string, RegExp]> = [
    ['a file that holds something else, naming the file and document', `${TENANT}---\nkind: Pod\n`, /mp\.yaml \(document 3\): expected a MountPolicy manifest, found kind "Pod"$/],
    ['a file of no MountPolicy (a comment alone)', '# none yet\n', /\/mp\.yaml: expected one or more MountPolicy manifests \(YAML or JSON\)$/],
    [
      'a file whose aliases expand past 100 (a YAML bomb)',
      'kind: MountPolicy\na: &a [x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
      /mp\.yaml: not valid YAML or JSON: Excessive alias count[^\n]*$/,
    ],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses ${name}`, async () => {
      let caught: unknown;
      try {
        await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-a/x'), 'mp.yaml': text }, (dir) => ['--mount-policy', join(dir, 'mp.yaml')]);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(UsageError);
      expect((caught as Error).message).to.match(message);
    });
  }

  it('skips empty documents: MountPolicies ending with a "---" line', async () => {
    const result = await run({ 'policy.json': CLUSTER, 'pod.json': asking('/srv/tenants/team-a/x'), 'mp.yaml': `${TENANT}---\n` }, (dir) => ['--namespace', 'team-a', '--mount-policy', join(dir, 'mp.yaml')]);
    expect([result.code, result.stderr.split('\n').slice(-2)]).to.deep.equal([EXIT_OK, ['allowed (2 patch operations)', '']]);
  });
});
