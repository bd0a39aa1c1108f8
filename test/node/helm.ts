/**
 * helm against the node's cluster. Asynchronous (test/chart/helm.ts blocks): while helm waits
 * for a hook Job or a rollout, the suite keeps answering DNS and creating Pods.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { helmPath } from '../chart/helm.js';
import { run, type Output } from './commands.js';

export async function helm(kubeconfig: string, args: readonly string[], timeoutMs = 300_000): Promise<Output> {
  // A private HELM_* home so the user's repositories and plugins play no part.
  const home = await mkdtemp(path.join(tmpdir(), 'mountgate-node-helm-'));
  try {
    return await run(helmPath(), [...args, '--kubeconfig', kubeconfig], timeoutMs, {
      ...process.env,
      HELM_CACHE_HOME: path.join(home, 'cache'),
      HELM_CONFIG_HOME: path.join(home, 'config'),
      HELM_DATA_HOME: path.join(home, 'data'),
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
