/**
 * deer-flow's provisioner as a local process: a venv from requirements.lock (venv.sh beside this
 * file), and uvicorn serving the copied app.py on 127.0.0.1 with exactly the env it is given.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../controlplane.js';
import { freePort, startProc, waitFor, type Proc } from '../../processes.js';

const execFileAsync = promisify(execFile);

const VENV_SCRIPT = path.join(REPO_ROOT, 'test', 'e2e', 'tools', 'deer-flow', 'venv.sh');
/** A first install downloads and unpacks about 35 packages; later runs reuse the venv. */
const VENV_TIMEOUT_MS = 15 * 60_000;
/** Its start loads the kubeconfig and reads its namespace (about 2 s here). */
const START_TIMEOUT_MS = 60_000;

/** The venv's python, made or brought up to date by venv.sh (with PYTHON when given). */
export async function provisionerPython(python: string | undefined): Promise<string> {
  const env = python === undefined ? process.env : { ...process.env, PYTHON: python };
  try {
    const { stdout } = await execFileAsync('bash', [VENV_SCRIPT], { env, timeout: VENV_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    const lines = stdout.trim().split('\n');
    const venvPython = lines[lines.length - 1];
    if (venvPython === undefined || venvPython === '') throw new Error('venv.sh printed no python');
    return venvPython;
  } catch (error) {
    const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`${VENV_SCRIPT} failed: ${error instanceof Error ? error.message : String(error)}\n${stderr}`);
  }
}

export interface Provisioner {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly proc: Proc;
}

export interface ProvisionerOptions {
  /** Where its log goes. */
  readonly dir: string;
  /** Names the log file (provisioner-NAME.log). */
  readonly name: string;
  readonly python: string;
  /** The folder holding app.py. */
  readonly appDir: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Starts uvicorn and waits for /health. `env -i`: the provisioner reads much of its setting from
 * the environment, so nothing of this shell's (a KUBECONFIG, a DEER_FLOW_* variable) may leak in.
 */
export async function startProvisioner(options: ProvisionerOptions): Promise<Provisioner> {
  const port = await freePort();
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: options.dir, ...options.env };
  const proc = await startProc(options.dir, `provisioner-${options.name}`, 'env', [
    '-i',
    ...Object.entries(env).map(([name, value]) => `${name}=${value}`),
    options.python, '-m', 'uvicorn', 'app:app',
    '--app-dir', options.appDir,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--log-level', 'info',
  ]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`the provisioner (${options.name}) at ${url}/health`, [proc], START_TIMEOUT_MS, async () => {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      return response.ok;
    });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { url, proc };
}
