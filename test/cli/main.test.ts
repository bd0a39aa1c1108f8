import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.js';
import { EXIT_DENIED, EXIT_OK, EXIT_USAGE } from '../../src/cli/usage.js';
import { BASE_POLICY } from '../helpers/policies.js';
import { sandboxPod } from '../helpers/pods.js';

const MAIN = join(process.cwd(), 'src/cli/main.ts');

/** Where the child's stdout and stderr go: read, closed by the reader before the child writes, or a full device. */
type Sink = 'read' | 'closed' | 'full';

async function mountgate(argv: readonly string[], sinks: { stdout: Sink; stderr: Sink }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const full = openSync('/dev/full', 'w');
  try {
    const stdio = (sink: Sink): 'pipe' | number => (sink === 'full' ? full : 'pipe');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...argv], { stdio: ['ignore', stdio(sinks.stdout), stdio(sinks.stderr)] });
    let stdout = '';
    let stderr = '';
    // Node starts (and tsx loads) long after this: the reader is gone before the first write.
    if (sinks.stdout === 'closed') child.stdout?.destroy();
    else child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    if (sinks.stderr === 'closed') child.stderr?.destroy();
    else child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout, stderr };
  } finally {
    closeSync(full);
  }
}

describe('cli: the process, its output and unexpected errors', function () {
  this.timeout(120_000);

  let dir: string;
  let policy: string;
  let allowed: string;
  let denied: string;
  let specless: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mountgate-main-'));
    policy = join(dir, 'policy.json');
    allowed = join(dir, 'allowed.json');
    denied = join(dir, 'denied.json');
    specless = join(dir, 'specless.yaml');
    await writeFile(policy, JSON.stringify(BASE_POLICY));
    await writeFile(allowed, JSON.stringify(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/a' }] })));
    await writeFile(denied, JSON.stringify(sandboxPod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] })));
    await writeFile(specless, 'kind: Pod\nmetadata:\n  name: p\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // The exit code a closed reader leaves is the command's own: `check ... | true` used to exit 1 ("denied") on EPIPE.
  const rows: Array<{ name: string; argv: () => string[]; stdout: Sink; stderr: Sink; code: number; stderrText?: RegExp }> = [
    { name: 'check, allowed, stdout closed: 0', argv: () => ['check', '--config', policy, '-f', allowed], stdout: 'closed', stderr: 'read', code: EXIT_OK, stderrText: /^warning \(policy\): volumeRoot: requested \(the default\) [^\n]+\nallowed \(2 patch operations\)\n$/ },
    { name: 'check, allowed, stdout and stderr closed: 0', argv: () => ['check', '--config', policy, '-f', allowed], stdout: 'closed', stderr: 'closed', code: EXIT_OK },
    { name: 'check, denied, stderr closed: 1', argv: () => ['check', '--config', policy, '-f', denied], stdout: 'read', stderr: 'closed', code: EXIT_DENIED },
    { name: 'check, a missing Pod file, stderr closed: 2', argv: () => ['check', '--config', policy, '-f', join(dir, 'missing.yaml')], stdout: 'read', stderr: 'closed', code: EXIT_USAGE },
    // A bad input, not a verdict: 2 and one line naming the file, not 1 ("denied") with the server's 400.
    { name: 'check, a Pod without spec: 2', argv: () => ['check', '--config', policy, '-f', specless], stdout: 'read', stderr: 'read', code: EXIT_USAGE, stderrText: /^mountgate: [^\n]*specless\.yaml: not a readable Pod: spec must be an object\n$/ },
    { name: 'backstop, stdout closed: 0', argv: () => ['backstop', '--config', policy], stdout: 'closed', stderr: 'read', code: EXIT_OK, stderrText: /^$/ },
    { name: 'help, stdout closed: 0', argv: () => ['help'], stdout: 'closed', stderr: 'read', code: EXIT_OK, stderrText: /^$/ },
    // Lost output is no verdict: exit 2 with one line, not 1 and a stack trace.
    {
      name: 'check, allowed, stdout on a full device: 2',
      argv: () => ['check', '--config', policy, '-f', allowed],
      stdout: 'full',
      stderr: 'read',
      code: EXIT_USAGE,
      stderrText: /^warning \(policy\): volumeRoot: requested \(the default\) [^\n]+\nallowed \(2 patch operations\)\nmountgate: cannot write to stdout: ENOSPC: no space left on device, write\n$/,
    },
    { name: 'version, stdout on a full device: 2', argv: () => ['version'], stdout: 'full', stderr: 'read', code: EXIT_USAGE, stderrText: /^mountgate: cannot write to stdout: ENOSPC[^\n]*\n$/ },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const result = await mountgate(row.argv(), { stdout: row.stdout, stderr: row.stderr });
      expect(result.code, result.stderr).to.equal(row.code);
      if (row.stderrText !== undefined) expect(result.stderr).to.match(row.stderrText);
    });
  }

  describe('an error run does not know is one line and exit 2, never 1 ("denied")', () => {
    const unexpected: Array<[string, unknown, string]> = [
      ['an Error', new Error('boom'), 'mountgate: unexpected error: boom\n'],
      ['an Error of several lines: the first', new TypeError('first\n    at somewhere'), 'mountgate: unexpected error: first\n'],
      ['something thrown that is no Error', 'a string', 'mountgate: unexpected error: a string\n'],
    ];
    for (const [name, thrown, stderr] of unexpected) {
      it(name, async () => {
        let written = '';
        const code = await run(['version'], {
          stdout: () => {
            throw thrown;
          },
          stderr: (text) => (written += text),
          readStdin: () => Promise.resolve(''),
        });
        expect({ code, stderr: written }).to.deep.equal({ code: EXIT_USAGE, stderr });
      });
    }
  });
});

describe('cli: the installed command', () => {
  // npm links `mountgate` (and `npx mountgate`) to package.json's bin; the build keeps the source's first line.
  it('is package.json bin.mountgate, the build of src/cli/main.ts, which starts with a node shebang', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(manifest.bin).to.deep.equal({ mountgate: 'dist/cli/main.js' });
    const source = await readFile(join(root, 'src', 'cli', 'main.ts'), 'utf8');
    expect(source.split('\n')[0]).to.equal('#!/usr/bin/env node');
  });
});
