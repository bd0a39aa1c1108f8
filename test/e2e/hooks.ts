/**
 * Mocha root hooks (loaded through "require" in test/e2e/.mocharc.json): one environment for the
 * whole run. Test files call e2e() to reach it.
 */
import { setUp, type E2E } from './env.js';

let current: E2E | undefined;
let tearDown: (() => Promise<void>) | undefined;

export function e2e(): E2E {
  if (current === undefined) throw new Error('the e2e environment is not set up (is test/e2e/hooks.ts in "require"?)');
  return current;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    // The first run builds etcd and kube-apiserver from Go modules: tens of minutes on 2 cores.
    this.timeout(80 * 60_000);
    const started = await setUp();
    current = started.env;
    const env = started.env;
    console.log(
      `      e2e: ${env.cp.existing ? 'existing cluster' : 'local etcd + kube-apiserver'} at ${env.cp.server}; ` +
        `mountgate at ${env.mountgate.url}; webhook configurations ${env.webhookSource}`,
    );
    tearDown = started.tearDown;
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    const stop = tearDown;
    current = undefined;
    tearDown = undefined;
    if (stop !== undefined) await stop();
  },
};
