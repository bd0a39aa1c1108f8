import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { check } from '../../src/cli/check.js';
import { decodeManifest } from '../../src/cli/kubectl-yaml.js';
import { readManifests } from '../../src/cli/manifests.js';
import { EXIT_DENIED, EXIT_OK, UsageError } from '../../src/cli/usage.js';
import { PolicyError } from '../../src/policy/load.js';
import { BASE_POLICY, policyOf, requestedRootLine } from '../helpers/policies.js';
import { expectedVolumeName, sandboxPod } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function withFiles<T>(files: Record<string, string>, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-check-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runCheck(argv: string[], stdin = ''): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await check(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    readStdin: () => Promise.resolve(stdin),
  });
  return { code, stdout, stderr };
}

const POLICY_YAML = JSON.stringify(BASE_POLICY);

/** The first line check prints of a policy that keeps volumeRoot: requested beside read-write entries. */
function requestedRoot(entry: string, others = 0): string {
  return `warning (policy): ${requestedRootLine(entry, others)}\n`;
}
/** What it says of BASE_POLICY. */
const BASE_REQUESTED_ROOT = requestedRoot('allowedHostPaths[0] "/srv/sandbox"', 1);

/** The least Pod check reads (and allows). */
const READABLE_POD = 'kind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n';

/** A Pod whose aliases expand past the reader's limit of 100: a YAML bomb, refused before it grows. */
/** YAML that kubectl reads as JSON, since it begins with a brace. */
const YAML_IN_BRACES = '{kind: Pod, apiVersion: v1}';

/** JSON.parse's own words for `text`, which differ between V8 versions (Node 24's add the line and column). */
function jsonParseMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return error.message;
  }
  throw new Error(`${text} parses as JSON`);
}

const ALIAS_BOMB = [
  'kind: Pod',
  'a: &a [x]',
  'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
  '',
].join('\n');

describe('cli: mountgate check', () => {
  it('prints the mutated Pod as YAML and exits 0 when allowed', async () => {
    const pod = sandboxPod({ mounts: [{ host_path: '/srv/models/llama', container_path: '/mnt/models' }] });
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': JSON.stringify(pod) }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
      expect(result.code).to.equal(EXIT_OK);
      expect(result.stderr).to.equal(`${BASE_REQUESTED_ROOT}allowed (2 patch operations)\n`);
      const printed = parse(result.stdout) as { spec: { volumes: unknown[] } };
      expect(printed.spec.volumes).to.deep.include({ name: expectedVolumeName('/srv/models/llama'), hostPath: { path: '/srv/models/llama', type: 'Directory' } });
    });
  });

  it('reads the Pod from stdin with -f -', async () => {
    await withFiles({ 'policy.yaml': POLICY_YAML }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', '-'], 'kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n');
      expect(result).to.deep.equal({ code: EXIT_OK, stdout: 'kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: x\n', stderr: `${BASE_REQUESTED_ROOT}allowed (no change)\n` });
    });
  });

  const POD_YAML = 'kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n';
  const emptyDocuments: Array<[string, string]> = [
    ['a trailing "---" line', `${POD_YAML}---\n`],
    ['a leading and a trailing "---"', `---\n${POD_YAML}---\n`],
    ['a trailing document holding only a comment', `${POD_YAML}---\n# end\n`],
  ];
  for (const [name, text] of emptyDocuments) {
    it(`reads one Pod and skips empty documents: ${name}`, async () => {
      await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': text }, async (dir) => {
        const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
        expect(result).to.deep.equal({ code: EXIT_OK, stdout: stringify(parse(POD_YAML)), stderr: `${BASE_REQUESTED_ROOT}allowed (no change)\n` });
      });
    });
  }

  it('prints each reason on stderr and exits 1 when /mutate denies', async () => {
    const pod = sandboxPod({ mounts: [{ hostPath: '/', mountPath: '/host' }, { hostPath: '/srv/sandbox/a', mountPath: '/proc' }] });
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': JSON.stringify(pod) }, async (dir) => {
      expect(await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')])).to.deep.equal({
        code: EXIT_DENIED,
        stdout: '',
        stderr: [
          `${BASE_REQUESTED_ROOT}denied by /mutate:`,
          '  - [host-path-not-allowed] metadata.annotations[mountgate.io/mounts][0].hostPath: "/" is not under any allowed host path',
          '  - [system-mount-path] metadata.annotations[mountgate.io/mounts][1].mountPath: "/proc" is inside the reserved path "/proc"',
          '',
        ].join('\n'),
      });
    });
  });

  it('exits 1 when /validate denies a hand-written hostPath', async () => {
    const pod = sandboxPod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] });
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': JSON.stringify(pod) }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
      expect(result).to.deep.equal({ code: EXIT_DENIED, stdout: '', stderr: `${BASE_REQUESTED_ROOT}denied by /validate:\n  - [host-path-volume-not-allowed] spec.volumes[0].hostPath.path: "/" is not under any allowed or built-in host path\n` });
    });
  });

  it('escapes control characters in the reasons it prints: a manifest cannot send escape sequences to the terminal', async () => {
    const pod = sandboxPod({ containers: [{ name: 'evil\u001b[2J\nline', image: 'x', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills' }] }] });
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': JSON.stringify(pod) }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
      expect(result).to.deep.equal({
        code: EXIT_DENIED,
        stdout: '',
        stderr: `${BASE_REQUESTED_ROOT}denied by /validate:\n  - [host-path-volume-read-write] spec.containers[0].volumeMounts[0]: container "evil\\u001b[2J\\nline" mounts "/skills" read-write, but "/skills" is read-only\n`,
      });
    });
  });

  describe('handWrittenHostPaths', () => {
    const handWritten = JSON.stringify(sandboxPod({ volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }, { name: 'work', hostPath: { path: '/srv/sandbox/x' } }] }));
    const asking = JSON.stringify(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/a' }] }));
    const rows: Array<{ name: string; setting: Record<string, string>; pod: string; expected: Omit<Captured, 'stdout'> }> = [
      {
        name: 'builtin: denies a hand-written volume under allowedHostPaths',
        setting: { handWrittenHostPaths: 'builtin' },
        pod: handWritten,
        expected: {
          code: EXIT_DENIED,
          stderr:
            'denied by /validate:\n  - [host-path-volume-not-allowed] spec.volumes[1].hostPath.path: "/srv/sandbox/x" is not under any built-in host path (with handWrittenHostPaths: builtin, allowed host paths come only through the annotation)\n',
        },
      },
      { name: 'allowed: admits it', setting: { handWrittenHostPaths: 'allowed' }, pod: handWritten, expected: { code: EXIT_OK, stderr: 'allowed (no change)\n' } },
      { name: 'unset: admits it', setting: {}, pod: handWritten, expected: { code: EXIT_OK, stderr: 'allowed (no change)\n' } },
      { name: 'builtin: admits the path asked for through the annotation', setting: { handWrittenHostPaths: 'builtin' }, pod: asking, expected: { code: EXIT_OK, stderr: 'allowed (2 patch operations)\n' } },
    ];
    for (const row of rows) {
      it(row.name, async () => {
        await withFiles({ 'policy.yaml': JSON.stringify({ ...BASE_POLICY, ...row.setting }), 'pod.yaml': row.pod }, async (dir) => {
          const { code, stderr } = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
          expect({ code, stderr }).to.deep.equal({ ...row.expected, stderr: BASE_REQUESTED_ROOT + row.expected.stderr });
        });
      });
    }
  });

  // kubectl reads a manifest as YAML 1.1 (sigs.k8s.io/yaml), where yes and on are true: so must check, or it would
  // judge another Pod than the one kubectl sends.
  it('reads a YAML manifest as kubectl does, in YAML 1.1: readOnly: yes is true', async () => {
    const pod = stringify(sandboxPod({ containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }] }] }));
    expect(pod).to.include('readOnly: true');
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': pod.replace('readOnly: true', 'readOnly: yes') }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
      expect(result.stderr).to.equal(`${BASE_REQUESTED_ROOT}allowed (no change)\n`);
      expect(result.code).to.equal(EXIT_OK);
      expect(parse(result.stdout)).to.have.nested.property('spec.containers[0].volumeMounts[0].readOnly', true);
    });
  });

  it('reads a YAML manifest as kubectl does: a date and a time of day stay text (go-yaml v2 has neither type)', async () => {
    const pod = stringify(sandboxPod({ mounts: [] })).replace('metadata:\n', 'metadata:\n  labels:\n    build-date: 2024-01-01\n    at: 10:30\n');
    expect(pod).to.include('build-date: 2024-01-01\n');
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': pod }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
      expect(result.code).to.equal(EXIT_OK);
      expect(parse(result.stdout)).to.have.nested.property('metadata.labels').that.deep.equals({ 'build-date': '2024-01-01', at: '10:30' });
    });
  });

  // kubectl's go-yaml v2 reads plain numbers by Go's rules, not YAML 1.1's: it drops every "_", takes Go's
  // integer literals, and leaves as text what Go cannot parse. Each row as sigs.k8s.io/yaml v1.4.0 reads it.
  const goYamlNumbers: Array<{ name: string; written: string; readAs: unknown }> = [
    { name: 'a Go octal literal (defaultMode: 0o644)', written: '0o644', readAs: 420 },
    { name: 'a YAML 1.1 octal', written: '0755', readAs: 493 },
    { name: 'an upper-case hex prefix', written: '0X1F', readAs: 31 },
    { name: 'an upper-case binary prefix', written: '0B11', readAs: 3 },
    { name: 'a "_" after the sign', written: '-_1', readAs: -1 },
    { name: 'a "_" in the hex prefix', written: '0_x1F', readAs: 31 },
    { name: 'a zero with a trailing "_"', written: '0_', readAs: 0 },
    { name: 'a "_" in the exponent', written: '1e_3', readAs: 1000 },
    { name: 'a dot alone', written: '.', readAs: '.' },
    { name: 'a sign and a dot', written: '-.', readAs: '-.' },
    { name: 'a "_" right after a leading dot', written: '._5', readAs: '._5' },
    { name: 'an integer past 64 bits in hex', written: '0x10000000000000000', readAs: '0x10000000000000000' },
    { name: 'a float past the largest double', written: '1e400', readAs: '1e400' },
  ];
  for (const row of goYamlNumbers) {
    it(`reads a YAML manifest as kubectl does: ${row.name} (${row.written})`, async () => {
      const pod = stringify(sandboxPod({ mounts: [] })).replace('metadata:\n', `metadata:\n  labels:\n    value: ${row.written}\n`);
      await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': pod }, async (dir) => {
        const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
        expect(result.code).to.equal(EXIT_OK);
        expect(parse(result.stdout, { version: '1.1' })).to.have.nested.property('metadata.labels.value', row.readAs);
      });
    });
  }

  // go-yaml v2 applies a merge key where it stands, over the keys before it; YAML 1.1 keeps those. The two readings
  // of one such file differ (here: check would judge /srv/sandbox/a, kubectl send /etc), so it is refused.
  const mergeKeys: Array<{ name: string; annotations: string; problem?: string }> = [
    {
      name: 'a key given again by a merge key after it is refused',
      annotations: `    mountgate.io/mounts: '[{"hostPath":"/srv/sandbox/a","mountPath":"/a"}]'\n    <<: {mountgate.io/mounts: '[{"hostPath":"/etc","mountPath":"/a"}]'}\n`,
      problem: 'pod.yaml: "mountgate.io/mounts" at line 7, column 5 is given again by the merge key "<<" at line 8, column 5, which kubectl lets override it and YAML does not: give it once, or after the merge key',
    },
    {
      name: 'a key given again by a merged list is refused',
      annotations: `    mountgate.io/mounts: '[]'\n    <<: [{note: x}, {mountgate.io/mounts: '[{"hostPath":"/etc","mountPath":"/a"}]'}]\n`,
      problem: 'pod.yaml: "mountgate.io/mounts" at line 7, column 5 is given again by the merge key "<<" at line 8, column 5, which kubectl lets override it and YAML does not: give it once, or after the merge key',
    },
    {
      name: 'a key given by two merge keys is refused (kubectl takes the second, YAML the first)',
      annotations: `    <<: {mountgate.io/mounts: '[{"hostPath":"/srv/sandbox/a","mountPath":"/a"}]'}\n    <<: {mountgate.io/mounts: '[{"hostPath":"/etc","mountPath":"/a"}]'}\n`,
      problem: 'pod.yaml: "mountgate.io/mounts" (from the merge key "<<" at line 7, column 5) is given again by the merge key "<<" at line 8, column 5, which kubectl lets override it and YAML does not: give it once, or after the merge key',
    },
    {
      name: 'a key after the merge key overrides it, as in both readings',
      annotations: `    <<: {mountgate.io/mounts: '[{"hostPath":"/etc","mountPath":"/a"}]'}\n    mountgate.io/mounts: '[{"hostPath":"/srv/sandbox/a","mountPath":"/a"}]'\n`,
    },
  ];
  for (const row of mergeKeys) {
    it(`reads merge keys as kubectl does: ${row.name}`, async () => {
      const pod = stringify(sandboxPod({ mounts: [] })).replace(/ {2}annotations:\n.*\n/, `  annotations:\n${row.annotations}`);
      expect(pod).to.include('<<:');
      await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': pod }, async (dir) => {
        const outcome = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]).then(
          (result) => result,
          (e: unknown) => e,
        );
        if (row.problem === undefined) {
          expect(outcome).to.have.property('code', EXIT_OK);
          expect(parse((outcome as Captured).stdout)).to.have.nested.property('spec.volumes[1].hostPath.path', '/srv/sandbox/a');
        } else {
          expect(outcome).to.be.instanceOf(UsageError);
          expect((outcome as Error).message.replaceAll(`${dir}/`, '')).to.equal(row.problem);
        }
      });
    });
  }

  it('reads a JSON manifest as JSON', async () => {
    const pod = sandboxPod({ mounts: [] });
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.json': JSON.stringify(pod) }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.json')]);
      expect(result.code).to.equal(EXIT_OK);
      expect(parse(result.stdout)).to.deep.equal(pod);
    });
  });

  // Windows PowerShell 5 writes UTF-16 with a byte order mark (kubectl get pod -o yaml > pod.yaml): kubectl reads it.
  const utf16: Array<{ name: string; bytes: (text: string) => Buffer }> = [
    { name: 'UTF-16LE', bytes: (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]) },
    { name: 'UTF-16BE', bytes: (text) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]) },
  ];
  for (const row of utf16) {
    it(`reads a manifest in ${row.name} with a byte order mark, as kubectl does`, async () => {
      const pod = sandboxPod({ mounts: [] });
      await withFiles({ 'policy.yaml': POLICY_YAML }, async (dir) => {
        await writeFile(join(dir, 'pod.yaml'), row.bytes(stringify(pod)));
        const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
        expect(result.code, result.stderr).to.equal(EXIT_OK);
        expect(parse(result.stdout)).to.deep.equal(pod);
      });
    });
  }

  it('reads a JSON manifest that begins with a byte order mark, as kubectl does (editors on Windows write one)', async () => {
    const pod = sandboxPod({ mounts: [] });
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.json': `\uFEFF${JSON.stringify(pod)}` }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.json')]);
      expect(result.stderr).to.not.contain('not valid JSON');
      expect(result.code).to.equal(EXIT_OK);
      expect(parse(result.stdout)).to.deep.equal(pod);
    });
  });

  it('judges requesters by --user and --group', async () => {
    const policy = JSON.stringify({ ...BASE_POLICY, requesters: ['group:provisioners'] });
    const pod = JSON.stringify(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/a' }] }));
    await withFiles({ 'policy.yaml': policy, 'pod.yaml': pod }, async (dir) => {
      const args = ['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')];
      expect((await runCheck([...args, '--user', 'bob'])).code).to.equal(EXIT_DENIED);
      expect((await runCheck([...args, '--user', 'bob', '--group', 'devs', '--group', 'provisioners'])).code).to.equal(EXIT_OK);
    });
  });

  it('prints warnings on stderr', async () => {
    const pod = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/a' }, { hostPath: '/srv/sandbox/a', mountPath: '/a' }] });
    await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': JSON.stringify(pod) }, async (dir) => {
      const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]);
      expect(result.stderr).to.equal(`${BASE_REQUESTED_ROOT}warning (mutate): metadata.annotations[mountgate.io/mounts][1] repeats entry [0] (/srv/sandbox/a at /a); merged into one mount\nallowed (2 patch operations)\n`);
    });
  });

  describe('--old: an UPDATE', () => {
    const request = [{ hostPath: '/srv/sandbox/a', mountPath: '/a' }];
    const bare = sandboxPod();
    const annotated = sandboxPod({ mounts: request });
    const volume = expectedVolumeName('/srv/sandbox/a');
    const rows: Array<{ name: string; old: unknown; pod: unknown; code: number; stderr: string }> = [
      {
        name: 'refuses adding the annotation to a Pod without its mounts, each reason on stderr',
        old: bare,
        pod: annotated,
        code: EXIT_DENIED,
        stderr: [
          'denied by /validate:',
          '  - [annotation-fixed-at-creation] metadata.annotations[mountgate.io/mounts]: was added by an update, but host mounts are fixed when a Pod is created: create a new Pod that carries the annotation instead',
          `  - [injection-missing] spec.volumes: requested mount is missing: volume "${volume}" for /srv/sandbox/a (mutation skipped or altered)`,
          '  - [injection-missing] spec.containers[0].volumeMounts: requested mount is missing: "/a" in container "sandbox" (mutation skipped or altered)',
          '',
        ].join('\n'),
      },
      { name: 'allows an update that leaves the annotation alone, printing the Pod unchanged', old: annotated, pod: annotated, code: EXIT_OK, stderr: 'allowed (an update: no change)\n' },
      { name: 'allows removing an annotation the Pod has no mounts for', old: annotated, pod: bare, code: EXIT_OK, stderr: 'allowed (an update: no change)\n' },
    ];
    for (const row of rows) {
      it(row.name, async () => {
        await withFiles({ 'policy.yaml': POLICY_YAML, 'old.yaml': JSON.stringify(row.old), 'pod.yaml': JSON.stringify(row.pod) }, async (dir) => {
          const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml'), '--old', join(dir, 'old.yaml')]);
          expect(result).to.deep.equal({ code: row.code, stdout: row.code === EXIT_OK ? stringify(row.pod) : '', stderr: BASE_REQUESTED_ROOT + row.stderr });
        });
      });
    }

    it('judges an update by --user and --group, as /validate judges it by the user making it', async () => {
      const policy = { ...BASE_POLICY, requesters: ['group:provisioners'] };
      const { pod: mounted } = mutateTwice(annotated, policyOf(policy), { groups: ['provisioners'] });
      if (mounted === undefined) throw new Error('the mutation was denied');
      // The annotation added to a Pod that already carries exactly its mounts: allowed for a requester only.
      const old = structuredClone(mounted) as { metadata: { annotations?: unknown } };
      delete old.metadata.annotations;
      await withFiles({ 'policy.yaml': JSON.stringify(policy), 'old.yaml': JSON.stringify(old), 'pod.yaml': JSON.stringify(mounted) }, async (dir) => {
        const args = ['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml'), '--old', join(dir, 'old.yaml')];
        expect((await runCheck([...args, '--user', 'bob'])).code).to.equal(EXIT_DENIED);
        expect((await runCheck([...args, '--user', 'bob', '--group', 'provisioners'])).code).to.equal(EXIT_OK);
      });
    });

    describe('a changed spec.ephemeralContainers: judged as pods/ephemeralcontainers, the only way to change it', () => {
      const models = { hostPath: '/srv/models/llama', mountPath: '/models', readOnly: true };
      const { pod: running } = mutateTwice(sandboxPod({ mounts: [models] }), policyOf());
      if (running === undefined) throw new Error('the mutation was denied');
      const debugged = (mount: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => {
        const pod = structuredClone(running) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
        pod.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', volumeMounts: [{ name: expectedVolumeName('/srv/models/llama'), mountPath: '/models', ...mount }] }];
        Object.assign(pod.metadata, extra);
        return pod;
      };
      const rows: Array<{ name: string; pod: unknown; code: number; stderr: string }> = [
        {
          name: 'refuses a debug container that mounts a read-only volume read-write',
          pod: debugged({}),
          code: EXIT_DENIED,
          stderr: [
            'denied by /validate, as an UPDATE of pods/ephemeralcontainers:',
            '  - [host-path-volume-read-write] spec.ephemeralContainers[0].volumeMounts[0]: container "debugger" mounts "/srv/models/llama" read-write, but "/srv/models" is read-only',
            '',
          ].join('\n'),
        },
        { name: 'allows one that mounts it read-only', pod: debugged({ readOnly: true }), code: EXIT_OK, stderr: 'allowed (an update: no change)\n' },
        {
          name: 'judges what else changed as an UPDATE of the Pod after it',
          pod: debugged({ readOnly: true }, { annotations: {} }),
          code: EXIT_DENIED,
          stderr: [
            'denied by /validate, as the Pod UPDATE after pods/ephemeralcontainers:',
            '  - [annotation-fixed-at-creation] metadata.annotations[mountgate.io/mounts]: was removed by an update, but host mounts are fixed when a Pod is created: the Pod keeps its mounts, so it keeps the annotation (create a new Pod without it instead)',
            `  - [injection-mismatch] spec.volumes[1]: volume "${expectedVolumeName('/srv/models/llama')}" mounts "/srv/models/llama" from the host, but no annotation asks for it`,
            '',
          ].join('\n'),
        },
      ];
      for (const row of rows) {
        it(row.name, async () => {
          await withFiles({ 'policy.yaml': POLICY_YAML, 'old.yaml': JSON.stringify(running), 'pod.yaml': JSON.stringify(row.pod) }, async (dir) => {
            const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml'), '--old', join(dir, 'old.yaml')]);
            expect(result).to.deep.equal({ code: row.code, stdout: row.code === EXIT_OK ? stringify(row.pod) : '', stderr: BASE_REQUESTED_ROOT + row.stderr });
          });
        });
      }
    });

    it('reads the old Pod from stdin with --old -', async () => {
      await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': JSON.stringify(annotated) }, async (dir) => {
        const result = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml'), '--old', '-'], JSON.stringify(bare));
        expect(result.code).to.equal(EXIT_DENIED);
      });
    });
  });

  const usage: Array<[string, string[], Record<string, string>, string]> = [
    ['-f and --old both from stdin', ['--config', 'policy.yaml', '-f', '-', '--old', '-'], {}, 'check: -f and --old cannot both read stdin'],
    ['an --old that is not a Pod', ['--config', 'policy.yaml', '-f', 'pod.yaml', '--old', 'old.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': READABLE_POD, 'old.yaml': 'kind: Service\n' }, 'old.yaml: expected a Pod manifest, found kind "Service"'],
    ['-f and --mount-policy both from stdin', ['--config', 'policy.yaml', '-f', '-', '--mount-policy', '-'], {}, 'check: only one of -f, --old and --mount-policy can read stdin (-)'],
    ['--old and --mount-policy both from stdin', ['--config', 'policy.yaml', '-f', 'pod.yaml', '--old', '-', '--mount-policy', '-'], {}, 'check: only one of -f, --old and --mount-policy can read stdin (-)'],
    ['--mount-policy from stdin twice', ['--config', 'policy.yaml', '-f', 'pod.yaml', '--mount-policy', '-', '--mount-policy', '-'], {}, 'check: only one of -f, --old and --mount-policy can read stdin (-)'],
    ['no --config', ['-f', 'pod.yaml'], {}, 'check: --config FILE is required'],
    ['no -f', ['--config', 'policy.yaml'], {}, 'check: -f POD.yaml (or -f - for stdin) is required'],
    ['an unknown flag', ['--config', 'policy.yaml', '-f', 'pod.yaml', '--verbose'], {}, "check: Unknown option '--verbose'"],
    ['a manifest that is not a Pod', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Deployment\n' }, 'pod.yaml: expected a Pod manifest, found kind "Deployment"'],
    ['two manifests', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\n---\nkind: Pod\n' }, 'pod.yaml: expected exactly one Pod manifest (YAML or JSON), found 2'],
    ['no manifest on stdin', ['--config', 'policy.yaml', '-f', '-'], { 'policy.yaml': POLICY_YAML }, '<stdin>: expected exactly one Pod manifest (YAML or JSON)'],
    ['a manifest that is a string, not a map', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'Pod\n' }, 'pod.yaml: expected a Pod manifest, found kind null'],
    ['a manifest file that is not there', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML }, 'pod.yaml: cannot read the file: no such file'],
    ['a manifest in braces that is YAML, not JSON (kubectl reads it as JSON)', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': `${YAML_IN_BRACES}\n` }, `pod.yaml: not valid JSON (it begins with "{"): ${jsonParseMessage(YAML_IN_BRACES)}`],
    ['a manifest that is not YAML', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: [Pod\n' }, 'pod.yaml: not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1'],
    ['a manifest with a tag the reader does not know', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nspec: !foo {}\n' }, 'pod.yaml: not valid YAML or JSON: Unresolved tag: !foo at line 2, column 7'],
    ['a manifest with !!set, which would be read as an empty Set', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nmetadata:\n  labels: !!set {a, b}\n' }, 'pod.yaml: not valid YAML or JSON: Unresolved tag: tag:yaml.org,2002:set at line 3, column 11'],
    ['a manifest with !!omap, which would be read as an empty Map', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nmetadata: !!omap\n  - name: p\n' }, 'pod.yaml: not valid YAML or JSON: Unresolved tag: tag:yaml.org,2002:omap at line 2, column 11'],
    ['a manifest with !!binary, which would be read as bytes', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nmetadata:\n  name: !!binary cA==\n' }, 'pod.yaml: not valid YAML or JSON: Unresolved tag: tag:yaml.org,2002:binary at line 3, column 9'],
    ['a manifest with a key that is a list', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nmetadata:\n  labels:\n    ? [a, b]\n    : c\n' }, 'pod.yaml: not valid YAML or JSON: a key that is a list or a map at offset 36 (JSON keys are strings)'],
    ['a manifest with .inf, which JSON cannot hold (kubectl refuses it)', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nx: [1, -.Inf]\n' }, 'pod.yaml: not valid YAML or JSON: -.Inf at line 2, column 8 is a number JSON cannot hold (kubectl refuses it)'],
    ['a JSON manifest with a number past the largest double', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': '{"kind": "Pod", "x": 1e400}\n' }, 'pod.yaml: not valid YAML or JSON: 1e400 at line 1, column 22 is a number JSON cannot hold (kubectl refuses it)'],
    ['a YAML manifest with a raw control character (kubectl refuses it)', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nmetadata:\n  name: a\u009bb\n' }, 'pod.yaml: not valid YAML: the control character U+009B at line 3, column 10, which kubectl refuses'],
    ['a manifest in UTF-16 without its byte order mark', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'k\u0000i\u0000n\u0000d\u0000' }, 'pod.yaml: not valid YAML: the control character U+0000 at line 1, column 2, which kubectl refuses; a UTF-16 file needs its byte order mark'],
    ['a manifest nested more than 100 levels deep', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': `kind: Pod\nspec:\n  x: ${'{a: '.repeat(99)}1${'}'.repeat(99)}\n` }, 'pod.yaml: nested more than 100 levels deep, under spec.x.a.a.a.a...'],
    ['a JSON manifest nested more than 100 levels deep', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': `{"kind": "Pod", "x": ${'['.repeat(700)}${']'.repeat(700)}}` }, 'pod.yaml: nested more than 100 levels deep, under x[0][0][0][0][0]...'],
    ['a manifest whose aliases expand past 100', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': ALIAS_BOMB }, 'pod.yaml: not valid YAML or JSON: Excessive alias count indicates a resource exhaustion attack'],
    // The server answers a review of such a Pod with 400 (unreadable-pod), not a denial: a bad input, not a verdict.
    ['a Pod without spec', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nmetadata:\n  name: p\n' }, 'pod.yaml: not a readable Pod: spec must be an object'],
    ['a Pod whose spec is a list', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nspec: []\n' }, 'pod.yaml: not a readable Pod: spec must be an object'],
    ['a Pod without containers', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nspec: {}\n' }, 'pod.yaml: not a readable Pod: spec.containers is required'],
    ['a Pod whose annotations are no map', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': 'kind: Pod\nmetadata:\n  annotations: [a]\nspec:\n  containers: []\n' }, 'pod.yaml: not a readable Pod: metadata.annotations must be an object'],
    ['a Pod without spec, its document named', ['--config', 'policy.yaml', '-f', 'pod.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': '~\n---\nkind: Pod\n' }, 'pod.yaml (document 2): not a readable Pod: spec must be an object'],
    ['an --old without spec', ['--config', 'policy.yaml', '-f', 'pod.yaml', '--old', 'old.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': READABLE_POD, 'old.yaml': 'kind: Pod\n' }, 'old.yaml: not a readable Pod: spec must be an object'],
    ['an --old whose aliases expand past 100', ['--config', 'policy.yaml', '-f', 'pod.yaml', '--old', 'old.yaml'], { 'policy.yaml': POLICY_YAML, 'pod.yaml': READABLE_POD, 'old.yaml': ALIAS_BOMB }, 'old.yaml: not valid YAML or JSON: Excessive alias count indicates a resource exhaustion attack'],
  ];
  for (const [name, argv, files, message] of usage) {
    it(`is a usage error: ${name}`, async () => {
      await withFiles(files, async (dir) => {
        const resolved = argv.map((arg) => (arg.endsWith('.yaml') ? join(dir, arg) : arg));
        const error = await runCheck(resolved).then(() => undefined, (e: unknown) => e);
        expect(error).to.be.instanceOf(UsageError);
        expect(String((error as Error).message).replaceAll(`${dir}/`, '')).to.equal(message);
      });
    });
  }

  // A byte that is no character of the file's encoding is refused, never read as U+FFFD: the Pod judged would
  // not be the bytes given (a hostPath "/srv/sandbox/a\uFFFDb" allowed for a file that says something else).
  const utf8 = (text: string, bad: readonly number[], after = ''): Buffer => Buffer.concat([Buffer.from(text), Buffer.from(bad), Buffer.from(after)]);
  const utf16le = (text: string, tail: readonly number[]): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le'), Buffer.from(tail)]);
  const POD_HEAD = 'kind: Pod\nmetadata:\n  name: p\n  annotations:\n    mountgate.io/mounts: \'[{"hostPath": "/srv/sandbox/a';
  const POD_TAIL = 'b", "mountPath": "/w"}]\'\n';
  const undecodable: Array<[string, Buffer, string]> = [
    ['a byte that begins no UTF-8 character', utf8(POD_HEAD, [0xff], POD_TAIL), 'not valid UTF-8 at line 5, column 56'],
    ['a byte that begins no UTF-8 character, in JSON', utf8('{"kind": "Pod",\n "metadata": {"name": "a', [0xc3], '"}}'), 'not valid UTF-8 at line 2, column 25'],
    ['an overlong UTF-8 encoding of "/"', utf8(POD_HEAD, [0xc0, 0xaf], POD_TAIL), 'not valid UTF-8 at line 5, column 56'],
    ['a surrogate encoded as UTF-8', utf8(POD_HEAD, [0xed, 0xa0, 0x80], POD_TAIL), 'not valid UTF-8 at line 5, column 56'],
    ['a UTF-8 character cut short at the end', utf8('kind: Pod\n# ', [0xe2, 0x82]), 'not valid UTF-8 at line 2, column 3'],
    ['UTF-16 with a lone surrogate', utf16le('kind: Pod\nmetadata: {name: a', [0x00, 0xd8, 0x62, 0x00, 0x7d, 0x00]), 'not valid UTF-16 at line 2, column 19'],
    ['UTF-16 with an odd number of bytes', utf16le('kind: Pod\n', [0x20]), 'not valid UTF-16 at line 2, column 1'],
  ];
  for (const [name, bytes, problem] of undecodable) {
    it(`is a usage error, naming the place, for a manifest that is not text: ${name}`, async () => {
      await withFiles({ 'policy.yaml': POLICY_YAML }, async (dir) => {
        await writeFile(join(dir, 'pod.yaml'), bytes);
        const error = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]).then(() => undefined, (e: unknown) => e);
        expect(error).to.be.instanceOf(UsageError);
        expect(String((error as Error).message).replaceAll(`${dir}/`, '')).to.equal(`pod.yaml: ${problem}`);
      });
    });

    it(`is a usage error, naming stdin, for a manifest on stdin that is not text: ${name}`, async () => {
      await withFiles({ 'policy.yaml': POLICY_YAML }, async (dir) => {
        const io = { stdout: () => undefined, stderr: () => undefined, readStdin: () => Promise.resolve().then(() => decodeManifest(bytes)) };
        const error = await check(['--config', join(dir, 'policy.yaml'), '-f', '-'], io).then(() => undefined, (e: unknown) => e);
        expect(error).to.be.instanceOf(UsageError);
        expect((error as Error).message).to.equal(`<stdin>: ${problem}`);
      });
    });
  }

  // Two keys of one map that the reader names alike would leave one of them to chance: kubectl keeps one, which one
  // depending on its reader (go-yaml v2 holds 1 and "1" apart, then makes both "1").
  const repeatedKeys: Array<[string, string, string]> = [
    ['a key given twice', 'kind: Pod\nmetadata:\n  name: a\n  name: b\n', 'the key "name" at line 4, column 3 is given again (first at line 3, column 3)'],
    ['a key given twice in a flow map', 'kind: Pod\nmetadata: {name: a, name: b}\n', 'the key "name" at line 2, column 21 is given again (first at line 2, column 12)'],
    ['a key given twice in JSON', '{"kind": "Pod", "kind": "Pod"}', 'the key "kind" at line 1, column 17 is given again (first at line 1, column 2)'],
    ['a key given as a number and as a string', 'kind: Pod\nmetadata:\n  labels:\n    1: a\n    "1": b\n', 'the key "1" at line 5, column 5 is given again (first at line 4, column 5)'],
    ['a key given as null and as ""', 'kind: Pod\nmetadata:\n  labels:\n    ~: a\n    "": b\n', 'the key "" at line 5, column 5 is given again (first at line 4, column 5)'],
    ['a key given again through an alias', 'kind: Pod\nmetadata:\n  labels:\n    &k a: x\n    *k : y\n', 'the key "a" at line 5, column 5 is given again (first at line 4, column 8)'],
  ];
  for (const [name, text, problem] of repeatedKeys) {
    it(`is a usage error, naming both places: ${name}`, async () => {
      await withFiles({ 'policy.yaml': POLICY_YAML, 'pod.yaml': text }, async (dir) => {
        const error = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]).then(() => undefined, (e: unknown) => e);
        expect(error).to.be.instanceOf(UsageError);
        expect(String((error as Error).message).replaceAll(`${dir}/`, '')).to.equal(`pod.yaml: not valid YAML or JSON: ${problem}`);
      });
    });
  }

  const manyKeys: Array<[string, (labels: readonly string[]) => string]> = [
    ['YAML', (labels) => `kind: Pod\nmetadata:\n  name: p\n  labels:\n${labels.map((label) => `    ${label}: v\n`).join('')}`],
    ['JSON', (labels) => JSON.stringify({ kind: 'Pod', metadata: { name: 'p', labels: Object.fromEntries(labels.map((label) => [label, 'v'])) } })],
  ];
  for (const [name, text] of manyKeys) {
    it(`reads a ${name} manifest with 50,000 keys in one map in seconds, not minutes (keys are compared once each)`, async () => {
      const labels = Array.from({ length: 50_000 }, (_, index) => `k${index}`);
      await withFiles({ 'pod.yaml': text(labels) }, async (dir) => {
        const started = performance.now();
        const [pod] = await readManifests(join(dir, 'pod.yaml'), { readStdin: () => Promise.resolve('') }, 'Pod', 'one');
        expect(performance.now() - started).to.be.below(15_000);
        expect(pod).to.have.nested.property('metadata.labels.k49999', 'v');
      });
    });
  }

  const invalidPolicies: Array<[string, string, string]> = [
    ['a negative maxMounts', 'maxMounts: -1\n', 'maxMounts must not be negative'],
    ['an unknown handWrittenHostPaths', 'handWrittenHostPaths: annotation\n', 'handWrittenHostPaths must be one of allowed, builtin'],
    ['a tag the reader does not know (the parser says nothing of its own on stderr)', 'maxMounts: !foo 1\n', 'not valid YAML or JSON: Unresolved tag: !foo at line 1, column 12'],
    ['a key that is a list', '? [a, b]\n: 1\n', 'not valid YAML or JSON: a key that is a list or a map at offset 2 (JSON keys are strings)'],
    ['two documents', 'maxMounts: 1\n---\nmaxMounts: 2\n', 'not valid YAML or JSON: Source contains multiple documents; please use YAML.parseAllDocuments() at line 2, column 1'],
  ];
  for (const [name, text, problem] of invalidPolicies) {
    it(`is a policy error, naming the file and field, for an invalid policy: ${name}`, async () => {
      await withFiles({ 'policy.yaml': text, 'pod.yaml': 'kind: Pod\n' }, async (dir) => {
        const error = await runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]).then(() => undefined, (e: unknown) => e);
        expect(error).to.be.instanceOf(PolicyError);
        expect((error as Error).message).to.equal(`${join(dir, 'policy.yaml')}: invalid policy: ${problem}`);
      });
    });
  }

  describe('placeholders and --namespace', () => {
    const policy = JSON.stringify({
      allowedHostPaths: [{ pathPrefix: '/srv/tenants/{namespace}' }, { pathPrefix: '/srv/users/{sandboxUser}' }],
      builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }],
      trustedProvisioners: ['group:provisioners'],
    });
    const podIn = (namespace: string | undefined, hostPath: string): string => {
      const pod = sandboxPod({ mounts: [{ hostPath, mountPath: '/w' }] }) as { metadata: Record<string, unknown> };
      if (namespace === undefined) delete pod.metadata.namespace;
      else pod.metadata.namespace = namespace;
      return JSON.stringify(pod);
    };
    const TENANTS_REQUESTED_ROOT = requestedRoot('allowedHostPaths[0] "/srv/tenants/{namespace}"', 1);
    const run = (pod: string, extra: string[]): Promise<Captured> =>
      withFiles({ 'policy.yaml': policy, 'pod.yaml': pod }, (dir) => runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml'), ...extra]));

    it("judges the Pod in the manifest's namespace, and says what each placeholder stands for", async () => {
      const result = await run(podIn('team-a', '/srv/tenants/team-a/x'), ['--user', 'alice']);
      expect(result.code).to.equal(EXIT_OK);
      expect(result.stderr).to.equal(
        `${TENANTS_REQUESTED_ROOT}placeholders: {namespace} = "team-a", {user} = "alice", {sandboxUser} not filled (user "alice" is not in trustedProvisioners)\nallowed (2 patch operations)\n`,
      );
    });

    it('judges it in --namespace NS when given', async () => {
      const result = await run(podIn('team-a', '/srv/tenants/team-a/x'), ['--namespace', 'team-b']);
      expect(result).to.deep.equal({
        code: EXIT_DENIED,
        stdout: '',
        stderr: [
          `${TENANTS_REQUESTED_ROOT}placeholders: {namespace} = "team-b", {user} not filled (the request has no username), {sandboxUser} not filled (an anonymous user is not in trustedProvisioners)`,
          'denied by /mutate:',
          '  - [host-path-not-allowed] metadata.annotations[mountgate.io/mounts][0].hostPath: "/srv/tenants/team-a/x" is not under any allowed host path ("/srv/tenants/{namespace}" has {namespace} = "team-b" for this request)',
          '',
        ].join('\n'),
      });
    });

    it('judges a manifest without a namespace in "default"', async () => {
      expect((await run(podIn(undefined, '/srv/tenants/default/x'), [])).code).to.equal(EXIT_OK);
      expect((await run(podIn(undefined, '/srv/tenants/team-a/x'), [])).code).to.equal(EXIT_DENIED);
    });

    it('fills {sandboxUser} for a trusted --group', async () => {
      const pod = JSON.parse(podIn('team-a', '/srv/users/u3')) as { metadata: { annotations: Record<string, string> } };
      pod.metadata.annotations['mountgate.io/sandbox-user'] = 'u3';
      const result = await run(JSON.stringify(pod), ['--user', 'carol', '--group', 'provisioners']);
      expect(result.stderr).to.equal(`${TENANTS_REQUESTED_ROOT}placeholders: {namespace} = "team-a", {user} = "carol", {sandboxUser} = "u3"\nallowed (2 patch operations)\n`);
    });

    it('says first where one namespace may plant symbolic links above the mounts of another', async () => {
      const shared = JSON.stringify({
        allowedHostPaths: [{ pathPrefix: '/srv/{namespace}' }, { pathPrefix: '/srv/tenants/{namespace}' }],
        builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }],
      });
      const result = await withFiles({ 'policy.yaml': shared, 'pod.yaml': podIn('team-a', '/srv/tenants/team-a/x') }, (dir) =>
        runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]),
      );
      expect(result.code).to.equal(EXIT_OK);
      expect(result.stderr).to.equal(
        [
          requestedRoot('allowedHostPaths[0] "/srv/{namespace}"', 1).trimEnd(),
          'warning (policy): "/srv/tenants" may be mounted read-write where {namespace} = "tenants" (allowedHostPaths[0] "/srv/{namespace}"), and lies above "/srv/tenants/<x>", which may be mounted where {namespace} = "<x>" (allowedHostPaths[1] "/srv/tenants/{namespace}"): a symbolic link planted there leads that mount elsewhere on the node, even with volumeRoot: writableAncestor',
          'placeholders: {namespace} = "team-a", {user} not filled (the request has no username), {sandboxUser} not filled (an anonymous user is not in trustedProvisioners)',
          'allowed (2 patch operations)',
          '',
        ].join('\n'),
      );
    });

    it('prints no placeholders line for a policy whose only patterns are "*"', async () => {
      const starOnly = JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/*' }], builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }] });
      const result = await withFiles({ 'policy.yaml': starOnly, 'pod.yaml': podIn('team-a', '/srv/tenants/team-a/x') }, (dir) =>
        runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]),
      );
      expect(result.code).to.equal(EXIT_OK);
      expect(result.stderr).to.equal(`${requestedRoot('allowedHostPaths[0] "/srv/tenants/*"')}allowed (2 patch operations)\n`);
    });

    it('prints the placeholders line for a policy with "*" and {namespace}', async () => {
      const mixed = JSON.stringify({
        allowedHostPaths: [{ pathPrefix: '/srv/shared/*' }, { pathPrefix: '/srv/tenants/{namespace}' }],
        builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }],
      });
      const result = await withFiles({ 'policy.yaml': mixed, 'pod.yaml': podIn('team-a', '/srv/tenants/team-a/x') }, (dir) =>
        runCheck(['--config', join(dir, 'policy.yaml'), '-f', join(dir, 'pod.yaml')]),
      );
      expect(result.code).to.equal(EXIT_OK);
      const [first, second] = result.stderr.split('\n');
      expect(`${first ?? ''}\n`).to.equal(requestedRoot('allowedHostPaths[0] "/srv/shared/*"', 1));
      expect(second).to.match(/^placeholders: \{namespace\} = "team-a", /);
    });

    it('is a usage error: a --namespace that is not a namespace name', async () => {
      const error = await run(podIn('team-a', '/srv/tenants/team-a/x'), ['--namespace', 'Team_A']).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(UsageError);
      expect((error as Error).message).to.equal('check: --namespace "Team_A" is not a namespace name (lower-case letters, digits and "-", at most 63)');
    });
  });
});
