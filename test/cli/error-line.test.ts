import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELP } from '../../src/cli/commands.js';
import { run } from '../../src/cli/run.js';
import { EXIT_USAGE } from '../../src/cli/usage.js';
import { captured, usageOf, type Outcome } from '../helpers/cli.js';

function mountgate(argv: readonly string[], io: { stdout?: (text: string) => void } = {}): Promise<Outcome> {
  return captured(run, argv, io);
}

describe('cli: an error is one line, its control characters escaped', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mountgate-error-line-'));
    await writeFile(join(dir, 'keys.json'), JSON.stringify({ 'a\nb\u001b[31m': 1 }));
    await writeFile(join(dir, 'policy.json'), '{}');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // The file name, the key or the value as given; what stderr says of it.
  const rows: Array<{ name: string; argv: () => string[]; stderr: () => string }> = [
    {
      name: 'a policy key with a newline and an escape sequence (PolicyError)',
      argv: () => ['check', '--config', join(dir, 'keys.json'), '-f', 'pod.yaml'],
      stderr: () => `mountgate: ${join(dir, 'keys.json')}: invalid policy: unknown key: a\\nb\\u001b[31m\n`,
    },
    {
      name: 'a --config file name with a carriage return, a tab and a C1 CSI',
      argv: () => ['backstop', '--config', join(dir, 'no\rsuch\tfile\u009b2J')],
      stderr: () => `mountgate: ${join(dir, 'no\\rsuch\\tfile\\u009b2J')}: invalid policy: cannot read the file: no such file\n`,
    },
    {
      name: 'a Pod file name with DEL and a line separator (UsageError)',
      argv: () => ['check', '--config', join(dir, 'policy.json'), '-f', join(dir, 'pod\u007f\u2028.yaml')],
      stderr: () => `mountgate: ${join(dir, 'pod\\u007f\\u2028.yaml')}: cannot read the file: no such file\n`,
    },
    {
      name: 'a flag value with a newline and ESC (ArgumentError), the usage after',
      argv: () => ['serve', '--config', 'p', '--dev', '--port', '1\n\u001b[2J'],
      stderr: () => `mountgate: serve: --port must be a port number from 0 to 65535, not "1\\n\\u001b[2J"\n\n${usageOf('serve')}`,
    },
    {
      name: 'an unknown command with a bell and a NUL, the overview after',
      argv: () => ['\u0007x\u0000'],
      stderr: () => `mountgate: unknown command "\\u0007x\\u0000"\n\n${HELP}`,
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      expect(await mountgate(row.argv())).to.deep.equal({ code: EXIT_USAGE, stdout: '', stderr: row.stderr() });
    });
  }

  it('an unexpected error: its first line, escaped', async () => {
    const result = await mountgate(['version'], {
      stdout: () => {
        throw new Error('a\rb\u2028c\u001b]0;title\u0007\n    at somewhere');
      },
    });
    expect(result).to.deep.equal({ code: EXIT_USAGE, stdout: '', stderr: 'mountgate: unexpected error: a\\rb\\u2028c\\u001b]0;title\\u0007\n' });
  });
});
