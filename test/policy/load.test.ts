import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile, parsePolicy, PolicyError } from '../../src/policy/load.js';
import { problemsOf } from '../helpers/policies.js';


describe('policy/load', () => {
  it('fills every default from an empty mapping', () => {
    expect(parsePolicy('{}', 'p.yaml').spec).to.deep.equal({
      annotation: 'mountgate.io/mounts',
      allowedHostPaths: [],
      builtinHostPaths: [],
      reservedMountPaths: [],
      maxMounts: 10,
      hostPathType: 'auto',
      containers: [],
      requesters: [],
    });
  });

  it('reads YAML and JSON alike, trims one trailing slash and defaults readOnly to false', () => {
    const yaml = parsePolicy('allowedHostPaths:\n  - pathPrefix: /srv/sandbox/\n  - {pathPrefix: /srv/models, readOnly: true}\n', 'p.yaml');
    const json = parsePolicy('{"allowedHostPaths":[{"pathPrefix":"/srv/sandbox"},{"pathPrefix":"/srv/models","readOnly":true}]}', 'p.json');
    expect(yaml.spec).to.deep.equal(json.spec);
    expect(yaml.spec.allowedHostPaths).to.deep.equal([
      { pathPrefix: '/srv/sandbox', readOnly: false },
      { pathPrefix: '/srv/models', readOnly: true },
    ]);
  });

  it('loads the shipped deer-flow example', async () => {
    const { policy } = await loadPolicyFile('examples/deer-flow-policy.yaml');
    expect(policy.spec.reservedMountPaths).to.deep.equal(['/mnt/skills', '/mnt/user-data', '/mnt/acp-workspace', '/mnt/integrations']);
    expect(policy.spec.builtinHostPaths).to.deep.equal([
      { pathPrefix: '/.deer-flow/skills_view', readOnly: true },
      { pathPrefix: '/.deer-flow/threads', readOnly: false },
      { pathPrefix: '/.deer-flow/users/*/skills_view', readOnly: true },
      { pathPrefix: '/.deer-flow/users/*/threads/*/acp-workspace', readOnly: true },
      { pathPrefix: '/.deer-flow/users/*/integrations/lark-cli/config', readOnly: true },
      { pathPrefix: '/.deer-flow/users/*/integrations/lark-cli/config/locks', readOnly: false },
      { pathPrefix: '/.deer-flow/users/*/integrations/lark-cli/data', readOnly: false },
      { pathPrefix: '/.deer-flow/integrations/lark-cli/sandbox-cli', readOnly: true },
    ]);
  });

  const handWritten: Array<[string, string, string[] | undefined]> = [
    ['builtin', 'handWrittenHostPaths: builtin\nbuiltinHostPaths: [{pathPrefix: /skills/}]', ['/skills']],
    ['allowed', 'handWrittenHostPaths: allowed\nbuiltinHostPaths: [{pathPrefix: /skills/}]', undefined],
  ];
  for (const [value, text, builtin] of handWritten) {
    it(`reads handWrittenHostPaths: ${value}, keeping it in the spec`, () => {
      const policy = parsePolicy(text, 'p.yaml');
      expect(policy.spec.handWrittenHostPaths).to.equal(value);
      expect(policy.handWritten?.literal.map((entry) => entry.pathPrefix)).to.deep.equal(builtin);
    });
  }

  const invalid: Array<[string, string, string[]]> = [
    ['an unknown key', 'allowedHostPaths: []\nmaxMount: 3\n', ['unknown key: maxMount']],
    ['an unknown key in an entry', 'allowedHostPaths: [{pathPrefix: /srv, readonly: true}]', ['allowedHostPaths[0] has an unknown key: readonly']],
    ['a relative pathPrefix', 'allowedHostPaths: [{pathPrefix: srv/data}]', ['allowedHostPaths[0].pathPrefix is not absolute']],
    ['a pathPrefix of /', 'builtinHostPaths: [{pathPrefix: /}]', ['builtinHostPaths[0].pathPrefix must not be "/" (that would allow the whole node)']],
    ['a traversal in a pathPrefix', 'allowedHostPaths: [{pathPrefix: /srv/../etc}]', ['allowedHostPaths[0].pathPrefix has a ".." segment']],
    ['a backslash in a pathPrefix', 'builtinHostPaths: [{pathPrefix: "/srv/x\\\\..\\\\etc"}]', ['builtinHostPaths[0].pathPrefix contains a backslash, a path separator on Windows nodes']],
    ['a backslash in a reserved mount path', 'reservedMountPaths: ["/a\\\\b"]', ['reservedMountPaths[0] contains a backslash, a path separator on Windows nodes']],
    ['a missing pathPrefix', 'allowedHostPaths: [{readOnly: true}]', ['allowedHostPaths[0].pathPrefix is required']],
    ['a negative maxMounts', 'maxMounts: -1', ['maxMounts must not be negative']],
    ['a fractional maxMounts', 'maxMounts: 1.5', ['maxMounts must be a whole number']],
    ['a string maxMounts', 'maxMounts: "3"', ['maxMounts must be a number']],
    ['an unknown hostPathType', 'hostPathType: File', ['hostPathType must be one of auto, Directory, DirectoryOrCreate']],
    ['a string readOnly', 'allowedHostPaths: [{pathPrefix: /srv, readOnly: "true"}]', ['allowedHostPaths[0].readOnly must be true or false']],
    ['a reserved path that is not canonical', 'reservedMountPaths: [/mnt//x]', ['reservedMountPaths[0] has an empty segment ("//")']],
    ['a wildcard in a reserved path', 'reservedMountPaths: [/mnt/ok, "/var/*"]', ['reservedMountPaths[1] takes no "*" or placeholders (a reserved path covers everything under it)']],
    ['a placeholder in a reserved path', 'reservedMountPaths: ["/mnt/{user}"]', ['reservedMountPaths[0] takes no "*" or placeholders (a reserved path covers everything under it)']],
    ['an invalid annotation key', 'annotation: "not a key"', ['annotation must be a valid annotation key such as mountgate.io/mounts']],
    ['a sandboxUserAnnotation equal to annotation', 'annotation: example.com/m\nsandboxUserAnnotation: example.com/m', ['sandboxUserAnnotation must differ from annotation (both are example.com/m)']],
    ['an annotation equal to the default sandboxUserAnnotation', 'annotation: mountgate.io/sandbox-user', ['sandboxUserAnnotation must differ from annotation (both are mountgate.io/sandbox-user)']],
    ['a sandboxUserAnnotation equal to the default annotation', 'sandboxUserAnnotation: mountgate.io/mounts', ['sandboxUserAnnotation must differ from annotation (both are mountgate.io/mounts)']],
    ['an empty container name', 'containers: [""]', ['containers[0] must not be empty']],
    ['an unknown handWrittenHostPaths', 'handWrittenHostPaths: annotation', ['handWrittenHostPaths must be one of allowed, builtin']],
    ['a handWrittenHostPaths of the wrong case', 'handWrittenHostPaths: Builtin', ['handWrittenHostPaths must be one of allowed, builtin']],
    ['a handWrittenHostPaths that is a boolean', 'handWrittenHostPaths: true', ['handWrittenHostPaths must be a string', 'handWrittenHostPaths must be one of allowed, builtin']],
    ['an unknown volumeRoot', 'volumeRoot: ancestor', ['volumeRoot must be one of requested, writableAncestor']],
    ['a volumeRoot that is a boolean', 'volumeRoot: true', ['volumeRoot must be a string', 'volumeRoot must be one of requested, writableAncestor']],
    ['a list at the top', '- pathPrefix: /srv', ['the policy must be a mapping of keys such as allowedHostPaths']],
    ['an empty file', '', ['the file is empty (expected a mapping of keys such as allowedHostPaths)']],
    ['a duplicate top-level key', 'maxMounts: 1\nmaxMounts: 2\n', ['not valid YAML or JSON: the key "maxMounts" at line 2, column 1 is given again (first at line 1, column 1)']],
    ['a duplicate key in an entry', 'allowedHostPaths:\n  - pathPrefix: /srv/a\n    readOnly: true\n    readOnly: false\n', ['not valid YAML or JSON: the key "readOnly" at line 4, column 5 is given again (first at line 3, column 5)']],
    ['a duplicate key in JSON', '{"allowedHostPaths": [{"pathPrefix": "/srv/a", "pathPrefix": "/srv/b"}]}', ['not valid YAML or JSON: the key "pathPrefix" at line 1, column 48 is given again (first at line 1, column 24)']],
    ['a duplicate key after 20,000 others', `${Array.from({ length: 20_000 }, (_, index) => `k${index}: 1\n`).join('')}k0: 2\n`, ['not valid YAML or JSON: the key "k0" at line 20001, column 1 is given again (first at line 1, column 1)']],
    ['a key given as a quoted and a plain string', 'maxMounts: 1\n"maxMounts": 2\n', ['not valid YAML or JSON: the key "maxMounts" at line 2, column 1 is given again (first at line 1, column 1)']],
    ['a key given as ~ and as null (both null in YAML)', '~: 1\nnull: 2\n', ['not valid YAML or JSON: the key null at line 2, column 1 is given again (first at line 1, column 1)']],
    // The alias reads as its anchor's key, so the second would replace the first.
    ['a key given again by an alias of it', '&k maxMounts: 1\n*k : 2\n', ['not valid YAML or JSON: the key "maxMounts" at line 2, column 1 is given again (first at line 1, column 4)']],
    ['an alias key in an entry', 'allowedHostPaths:\n  - &p pathPrefix: /srv/a\n    *p : /\n', ['not valid YAML or JSON: the key "pathPrefix" at line 3, column 5 is given again (first at line 2, column 8)']],
    // Two keys in YAML 1.2, as for the parser's own check; one in the object read, and no policy key.
    ['a key given as 1 and as "1"', '1: a\n"1": b\n', ['unknown key: 1']],
    ['five unknown keys, all named', 'a: 1\nb: 1\nc: 1\nd: 1\ne: 1\n', ['unknown key: a, b, c, d, e']],
    ['six unknown keys, five named', 'a: 1\nb: 1\nc: 1\nd: 1\ne: 1\nf: 1\n', ['unknown key: a, b, c, d, e and 1 more']],
    ['20,000 unknown keys', Array.from({ length: 20_000 }, (_, index) => `k${index}: 1\n`).join(''), ['unknown key: k0, k1, k2, k3, k4 and 19,995 more']],
    ['an unknown key of 5,000 characters, cut in the middle', `{"${'k'.repeat(5_000)}": 1}`, [`unknown key: ${'k'.repeat(48)}…${'k'.repeat(15)}`]],
    ['200 unknown keys in an entry', `allowedHostPaths:\n  - pathPrefix: /srv\n${Array.from({ length: 200 }, (_, index) => `    k${index}: 1\n`).join('')}`, ['allowedHostPaths[0] has an unknown key: k0, k1, k2, k3, k4 and 195 more']],
    ['several problems at once', 'maxMounts: -2\nhostPathType: x\nextra: 1', [
      'maxMounts must not be negative',
      'hostPathType must be one of auto, Directory, DirectoryOrCreate',
      'unknown key: extra',
    ]],
  ];
  for (const [name, text, problems] of invalid) {
    it(`refuses ${name}`, () => expect(problemsOf(text)).to.deep.equal(problems));
  }

  it('names the file and every problem in one line', () => {
    expect(() => parsePolicy('maxMounts: -1\nfoo: 1', '/etc/mountgate/policy.yaml')).to.throw(
      PolicyError,
      '/etc/mountgate/policy.yaml: invalid policy: maxMounts must not be negative; unknown key: foo',
    );
  });

  // Read as it is written, not cleaned: a byte that is no UTF-8 would otherwise become U+FFFD inside a host path.
  const undecodable: ReadonlyArray<{ name: string; bytes: Buffer; problem: string }> = [
    { name: 'a 0xFF byte in a pathPrefix', bytes: Buffer.concat([Buffer.from('allowedHostPaths:\n  - pathPrefix: /srv/a'), Buffer.from([0xff]), Buffer.from('b\n')]), problem: 'not valid UTF-8 at line 2, column 23' },
    { name: 'an overlong "/" (C0 AF)', bytes: Buffer.concat([Buffer.from('allowedHostPaths:\n  - pathPrefix: /srv'), Buffer.from([0xc0, 0xaf]), Buffer.from('x\n')]), problem: 'not valid UTF-8 at line 2, column 21' },
    { name: 'a surrogate encoded as UTF-8 (ED A0 80)', bytes: Buffer.concat([Buffer.from('maxMounts: 2 # '), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')]), problem: 'not valid UTF-8 at line 1, column 16' },
    { name: 'a character cut short at the end (E2 82)', bytes: Buffer.concat([Buffer.from('maxMounts: 2\n# '), Buffer.from([0xe2, 0x82])]), problem: 'not valid UTF-8 at line 2, column 3' },
  ];
  for (const row of undecodable) {
    it(`refuses ${row.name}, naming the file and where`, async () => {
      await inTempDir(async (dir) => {
        const file = join(dir, 'policy.yaml');
        await writeFile(file, row.bytes);
        await loadPolicyFile(file).then(
          () => expect.fail('a file that is not UTF-8 was accepted'),
          (error: unknown) => expect(String(error)).to.equal(`PolicyError: ${file}: invalid policy: ${row.problem}`),
        );
      });
    });
  }

  it('reads UTF-8 as it is, a byte order mark and U+FFFD written out included', async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, 'policy.yaml');
      await writeFile(file, '\ufeffmaxMounts: 3 # caf\u00e9 \ufffd\n');
      const { policy, text } = await loadPolicyFile(file);
      expect(policy.maxMounts).to.equal(3);
      expect(text).to.equal('\ufeffmaxMounts: 3 # caf\u00e9 \ufffd\n');
    });
  });

  it('reports a missing file by name', async () => {
    await inTempDir(async (dir) => {
      const missing = join(dir, 'nope.yaml');
      await loadPolicyFile(missing).then(
        () => expect.fail('a missing file was accepted'),
        (error: unknown) => expect(String(error)).to.equal(`PolicyError: ${missing}: invalid policy: cannot read the file: no such file`),
      );
      await writeFile(join(dir, 'ok.yaml'), 'maxMounts: 2\n');
      expect((await loadPolicyFile(join(dir, 'ok.yaml'))).policy.maxMounts).to.equal(2);
    });
  });
});

async function inTempDir(use: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-policy-'));
  try {
    await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
