/**
 * A scratch folder for one benchmark run: the serving certificate (the test
 * helpers' CA and P-256 pair, the default of certs/gen-certs.sh), the policy
 * and the request bodies. Removed by the caller in a finally.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCa, issueServingPair } from '../test/helpers/tls.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const EXAMPLE_POLICY = path.join(REPO_ROOT, 'examples', 'deer-flow-policy.yaml');

export interface Workspace {
  readonly dir: string;
  readonly caCert: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly policyPath: string;
  remove(): Promise<void>;
}

export async function createWorkspace(): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mountgate-bench-'));
  try {
    const pki = await createCa();
    const pair = await issueServingPair(pki);
    const certPath = path.join(dir, 'tls.crt');
    const keyPath = path.join(dir, 'tls.key');
    const policyPath = path.join(dir, 'policy.yaml');
    await writeFile(certPath, pair.cert);
    await writeFile(keyPath, pair.key, { mode: 0o600 });
    await writeFile(policyPath, await readFile(EXAMPLE_POLICY, 'utf8'));
    return { dir, caCert: pki.caCert, certPath, keyPath, policyPath, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
