import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { backstopCommand } from '../../src/cli/backstop.js';
import { parseBackstopArgs } from '../../src/cli/backstop-options.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from '../../src/cli/usage.js';
import { backstop, DEFAULT_BACKSTOP_OPTIONS } from '../../src/backstop/policy.js';
import { PolicyError } from '../../src/policy/load.js';
import { BASE_POLICY, policyOf } from '../helpers/policies.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function withPolicy<T>(text: string, body: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-backstop-'));
  try {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, text);
    return await body(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function printed(argv: string[], policy = JSON.stringify(BASE_POLICY)): Promise<unknown[]> {
  return withPolicy(policy, async (file) => {
    let stdout = '';
    const code = await backstopCommand(['--config', file, ...argv], { stdout: (text) => (stdout += text) });
    expect(code).to.equal(EXIT_OK);
    return parseAllDocuments(stdout).map((document) => {
      if (!('toJS' in document)) throw new Error('not a YAML document');
      expect(document.errors).to.deep.equal([]);
      return document.toJS() as unknown;
    });
  });
}

describe('cli: mountgate backstop', () => {
  it('prints the policy and its binding as a YAML stream, as the generator makes them', async () => {
    const objects = backstop(policyOf());
    expect(await printed([])).to.deep.equal([objects.policy, objects.binding]);
  });

  const rows: Array<{ name: string; argv: string[]; expected: Partial<typeof DEFAULT_BACKSTOP_OPTIONS> }> = [
    { name: 'defaults', argv: [], expected: DEFAULT_BACKSTOP_OPTIONS },
    { name: '--name', argv: ['--name', 'sandbox-hostpaths'], expected: { name: 'sandbox-hostpaths' } },
    { name: '--action, several', argv: ['--action', 'Audit', '--action', 'Warn'], expected: { validationActions: ['Audit', 'Warn'] } },
    {
      name: '--namespace-label replaces the default label',
      argv: ['--namespace-label', 'team=sandbox', '--namespace-label', 'example.com/tier='],
      expected: { namespaceSelector: { matchLabels: { team: 'sandbox', 'example.com/tier': '' } } },
    },
    { name: '--all-namespaces', argv: ['--all-namespaces'], expected: { namespaceSelector: {} } },
    { name: '--exclude-namespace adds to kube-system', argv: ['--exclude-namespace', 'mountgate'], expected: { excludedNamespaces: ['kube-system', 'mountgate'] } },
  ];
  for (const row of rows) {
    it(`reads ${row.name}`, () => {
      const settings = parseBackstopArgs(['--config', 'p.yaml', ...row.argv]);
      expect(settings.configPath).to.equal('p.yaml');
      expect(settings.options).to.deep.equal({ ...DEFAULT_BACKSTOP_OPTIONS, ...row.expected });
    });
  }

  const usage: Array<[string, string[], string]> = [
    ['no --config', [], 'backstop: --config FILE is required'],
    ['an unknown flag', ['--config', 'p.yaml', '--verbose'], "backstop: Unknown option '--verbose'"],
    ['an unknown action', ['--config', 'p.yaml', '--action', 'deny'], 'backstop: --action "deny" must be one of Deny, Warn, Audit'],
    ['Deny with Warn', ['--config', 'p.yaml', '--action', 'Deny', '--action', 'Warn'], 'backstop: --action Deny and --action Warn cannot be combined'],
    ['an action twice', ['--config', 'p.yaml', '--action', 'Audit', '--action', 'Audit'], 'backstop: --action Audit is given twice'],
    ['a label without "="', ['--config', 'p.yaml', '--namespace-label', 'team'], 'backstop: --namespace-label "team" must be KEY=VALUE with a valid label key and value'],
    ['a label value with a space', ['--config', 'p.yaml', '--namespace-label', 'team=a b'], 'backstop: --namespace-label "team=a b" must be KEY=VALUE with a valid label key and value'],
    // A namespace carries one value of a label: the last of two would silently leave the namespaces with the first unjudged.
    ['a label key given twice with two values', ['--config', 'p.yaml', '--namespace-label', 'team=a', '--namespace-label', 'team=b'], 'backstop: --namespace-label team is given twice ("team=a", "team=b"): a namespace carries one value of a label'],
    ['a label given twice', ['--config', 'p.yaml', '--namespace-label', 'team=a', '--namespace-label', 'team=a'], 'backstop: --namespace-label team is given twice ("team=a", "team=a"): a namespace carries one value of a label'],
    ['labels and every namespace', ['--config', 'p.yaml', '--all-namespaces', '--namespace-label', 'a=b'], 'backstop: --all-namespaces and --namespace-label cannot be combined'],
    ['a bad name', ['--config', 'p.yaml', '--name', 'Backstop'], 'backstop: --name "Backstop" must be a DNS subdomain (lower case letters, digits, "-" and ".")'],
    ['a bad namespace', ['--config', 'p.yaml', '--exclude-namespace', 'a_b'], 'backstop: --exclude-namespace "a_b" is not a namespace name'],
  ];
  for (const [name, argv, message] of usage) {
    it(`is a usage error: ${name}`, () => {
      expect(() => parseBackstopArgs(argv)).to.throw(UsageError).with.property('message', message);
    });
  }

  it('is a policy error, naming the file and field, for an invalid policy', async () => {
    await withPolicy('allowedHostPaths: [{pathPrefix: srv}]\n', async (file) => {
      const error = await backstopCommand(['--config', file], { stdout: () => {} }).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(PolicyError);
      expect((error as Error).message).to.equal(`${file}: invalid policy: allowedHostPaths[0].pathPrefix is not absolute`);
    });
  });

  it('is a policy error, naming the file and field, for a prefix CEL cannot hold (a lone surrogate, not a canonical path)', async () => {
    await withPolicy('builtinHostPaths: [{pathPrefix: "/a\\uD800"}]\n', async (file) => {
      const error = await backstopCommand(['--config', file], { stdout: () => {} }).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(PolicyError);
      expect((error as Error).message).to.equal(`${file}: invalid policy: builtinHostPaths[0].pathPrefix is not well-formed Unicode (it has a lone UTF-16 surrogate)`);
    });
  });

  // The parser refuses a lone surrogate itself (the row above): what only the backstop refuses is a policy too big for one CEL expression.
  it('is a policy error, naming the file and field, for lists too long for one CEL expression', async () => {
    const trustedProvisioners = Array.from({ length: 2000 }, (_, i) => `system:serviceaccount:sandboxes-${i}:provisioner`);
    await withPolicy(JSON.stringify({ ...BASE_POLICY, trustedProvisioners }), async (file) => {
      const error = await backstopCommand(['--config', file], { stdout: () => {} }).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(PolicyError);
      const head = `${file}: invalid policy: `;
      expect((error as Error).message.slice(0, head.length)).to.equal(head);
      expect((error as Error).message.slice(head.length)).to.match(
        /^trustedProvisioners make the backstop's CEL variable trustedProvisioners 1\d{5} characters long, over the 100000 the API server compiles in one expression/,
      );
    });
  });

  it('the process exits 2 with one line naming the file and field', async () => {
    await withPolicy('maxMounts: -1\n', async (file) => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'backstop', '--config', file], { encoding: 'utf8' });
      expect(result.status).to.equal(EXIT_USAGE);
      expect(result.stdout).to.equal('');
      expect(result.stderr).to.equal(`mountgate: ${file}: invalid policy: maxMounts must not be negative\n`);
    });
  });
});
