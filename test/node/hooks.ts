/**
 * Mocha root hooks (loaded through "require" in test/node/.mocharc.json): one node for the whole
 * run, stopped at the end also when a test fails. Test files call node() to reach it.
 */
import { setUpNode, type NodeEnv } from './env.js';

let current: NodeEnv | undefined;

export function node(): NodeEnv {
  if (current === undefined) throw new Error('the node is not set up (is test/node/hooks.ts in "require"?)');
  return current;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    // A cold machine builds the node's binaries from Go modules first (test/e2e/tools/build.sh).
    this.timeout(80 * 60_000);
    const started = Date.now();
    current = await setUpNode();
    console.log(`      node: localhost Ready in ${Math.round((Date.now() - started) / 1000)} s (folder ${current.cluster.dir})`);
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(300_000);
    const env = current;
    current = undefined;
    if (env !== undefined) await env.cluster.stop();
  },
};
