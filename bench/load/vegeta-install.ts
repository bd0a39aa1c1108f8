/**
 * Where the orchestrator gets vegeta from: bench/tools/install-vegeta.sh, which
 * reuses the cached binary of the pinned version or builds it with Go. There is
 * no fallback generator: without vegeta the fixed-rate and reconnect scenarios fail, saying why.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { REPO_ROOT } from '../workspace.js';

const INSTALLER = path.join(REPO_ROOT, 'bench', 'tools', 'install-vegeta.sh');
/** A build from an empty Go module cache downloads and compiles vegeta's dependencies. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;

export async function installVegeta(log: (line: string) => void): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(INSTALLER, [], { cwd: REPO_ROOT, timeout: INSTALL_TIMEOUT_MS, encoding: 'utf8' });
    const binary = stdout.trim().split('\n').pop() ?? '';
    if (binary === '') throw new Error(`it printed no path (${stderr.trim()})`);
    log(stderr.trim().split('\n').pop() ?? `vegeta: ${binary}`);
    return binary;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(
      `the fixed-rate and reconnect scenarios (rate1000, reconnect) run vegeta, and ${path.relative(REPO_ROOT, INSTALLER)} could not provide it: ${detail.trim()}\n` +
        'It needs the Go toolchain and the Go module proxy, or the pinned vegeta already in ~/.cache/mountgate/bin; ' +
        'or leave them out (BENCH_SCENARIOS=c1,c10,c100).',
    );
  }
}
