/**
 * `mountgate serve` and a stdout its log cannot be written to. A full disk (ENOSPC) or a terminal gone
 * (EIO) stops the process at once with one line on stderr and exit 2: the decision log is the audit
 * trail, and a webhook that can no longer write it neither goes on unheard nor hangs. A reader that
 * goes away (EPIPE) stays pino's own case: the log stops and the webhook goes on serving.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_OK, EXIT_USAGE } from '../../src/cli/usage.js';
import { BASE_POLICY } from '../helpers/policies.js';
import { eventually } from '../helpers/server.js';
import { createCa, httpsCall, issueServingPair } from '../helpers/tls.js';

const MAIN = join(process.cwd(), 'src/cli/main.ts');

/**
 * Node's start with tsx on a loaded machine, and the exit after: what "promptly" allows. Without the
 * exit the process never ends, so any bound tells the two apart.
 */
const EXIT_BOUND_MS = 30_000;

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly ms: number;
}

/** Waits for the child to end, or kills it once `bound` ms have passed (then `signal` is SIGKILL). */
async function ended(child: ChildProcess, stderr: () => string, bound: number): Promise<Ended> {
  const started = Date.now();
  const timer = setTimeout(() => child.kill('SIGKILL'), bound);
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stderr: stderr(), ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

describe('cli: mountgate serve when its log cannot be written', function () {
  this.timeout(120_000);

  let dir: string;
  let policy: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mountgate-serve-log-'));
    policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify(BASE_POLICY));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stdout on a full device (ENOSPC): one line on stderr and exit 2, promptly, not a hang', async () => {
    const full = openSync('/dev/full', 'w');
    let stderr = '';
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', policy, '--dev', '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1'], {
        env: { PATH: process.env.PATH },
        stdio: ['ignore', full, 'pipe'],
      });
    } finally {
      closeSync(full);
    }
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const result = await ended(child, () => stderr, EXIT_BOUND_MS);
    expect(result.signal, `still running after ${EXIT_BOUND_MS} ms; stderr: ${result.stderr}`).to.equal(null);
    expect({ code: result.code, stderr: result.stderr }).to.deep.equal({
      code: EXIT_USAGE,
      stderr: 'mountgate: cannot write the log to stdout: ENOSPC: no space left on device, write; stopping\n',
    });
  });

  it('stdout whose reader is gone (EPIPE): the log stops, the webhook goes on serving and drains to exit 0', async () => {
    const pki = await createCa();
    const pair = await issueServingPair(pki);
    await writeFile(join(dir, 'tls.crt'), pair.cert);
    await writeFile(join(dir, 'tls.key'), pair.key);
    const port = 20000 + Math.floor(Math.random() * 20000);
    let stderr = '';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'serve', '--config', policy, '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0', '--shutdown-delay', '0'],
      { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Node starts (and tsx loads) long after this: the reader is gone before the first log line.
    child.stdout?.destroy();
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = ended(child, () => stderr, 90_000);
    try {
      const readyz = (): Promise<number> => httpsCall({ port, path: '/readyz', ca: pki.caCert }).then((answer) => answer.status);
      // A wait for the start, not a measurement; an exit meanwhile (the log's EPIPE taken for a failure) fails at once.
      const gone = exit.then((result) => Promise.reject(new Error(`exited before it was ready: ${JSON.stringify(result)}`)));
      gone.catch(() => undefined);
      await Promise.race([eventually(() => readyz().then((status) => status === 200, () => false), 60_000), gone]);
      child.kill('SIGTERM');
      const result = await exit;
      expect({ code: result.code, signal: result.signal, stderr: result.stderr }).to.deep.equal({ code: EXIT_OK, signal: null, stderr: '' });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
