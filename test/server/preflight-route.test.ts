import { expect } from 'chai';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createApp } from '../../src/server/app.js';
import { LiveState } from '../../src/server/live-state.js';
import { createMetrics } from '../../src/server/metrics.js';
import { silentLogger } from '../../src/server/logger.js';
import type { NamespaceLevels } from '../../src/server/namespace-cache.js';
import { generateDevMaterial } from '../../src/server/tls-material.js';
import { policyOf } from '../helpers/policies.js';
import { review, sandboxPod } from '../helpers/pods.js';

/** The routes over plain HTTP on loopback, with a namespace cache in the state the test says. */
const ASKING = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/w' }] });

async function reviewWith(levels: NamespaceLevels, path = '/mutate', pod: unknown = ASKING): Promise<{ allowed: boolean; skipped: number }> {
  const metrics = createMetrics();
  const state = new LiveState(policyOf(), await generateDevMaterial());
  const app = createApp({ state, metrics, logger: silentLogger(), lifecycle: { ready: true, closing: false }, namespaceLevels: levels });
  const server = createServer(app).listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const response = await fetch(`http://127.0.0.1:${address.port}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(review(pod)),
    });
    const body = (await response.json()) as { response: { allowed: boolean } };
    const skipped = (await metrics.podSecurityPreflightSkipped.get()).values[0]?.value ?? 0;
    return { allowed: body.response.allowed, skipped };
  } finally {
    server.close();
  }
}

describe('server: Pod Security preflight on the route', () => {
  it('never blocks while the namespace cache is not synced, and counts it', async () => {
    expect(await reviewWith({ synced: false, levelOf: () => 'restricted' })).to.deep.equal({ allowed: true, skipped: 1 });
  });

  it('denies once synced and the namespace forbids hostPath', async () => {
    expect(await reviewWith({ synced: true, levelOf: (namespace) => (namespace === 'agents' ? 'baseline' : undefined) })).to.deep.equal({ allowed: false, skipped: 0 });
  });

  // The preflight is part of /mutate only: a /validate while the cache is not synced skipped nothing.
  it('does not count a /validate as a preflight skipped', async () => {
    expect(await reviewWith({ synced: false, levelOf: () => 'restricted' }, '/validate', sandboxPod())).to.deep.equal({ allowed: true, skipped: 0 });
  });
});
