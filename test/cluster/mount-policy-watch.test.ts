import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { MountPolicyTable, type MountPolicyObject } from '../../src/cluster/mount-policy-cache.js';
import { watchMountPolicies, type MountPolicyWatch } from '../../src/cluster/mount-policy-watch.js';

const PATH = '/apis/mountgate.io/v1alpha1/mountpolicies';

/**
 * Just enough of a kube-apiserver for MountPolicies, on loopback: a list, and
 * watches that the server ends cleanly at their timeoutSeconds, as a real one does, unless
 * the test breaks them first or takes the server down. A watch from a
 * resourceVersion older than the compacted history gets the API server's
 * 410 Gone event, sent a moment after the headers as over a real network. A `silent`
 * server opens watches and then neither sends nor closes, as a connection dead on the way does.
 */
class FakeApiServer {
  readonly items = new Map<string, MountPolicyObject>();
  resourceVersion = 1;
  compactedBefore = 0;
  /** Refuses lists and watches, as an API server that is down or out of reach. */
  down = false;
  silent = false;
  watchesOpened = 0;
  /** Each list page served: the limit asked for and the objects it held. */
  readonly pages: Array<{ limit: number; items: number }> = [];
  readonly #watches = new Set<ServerResponse>();
  readonly #server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== PATH) {
      res.writeHead(404).end();
      return;
    }
    if (this.down) {
      res.writeHead(503, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    if (url.searchParams.get('watch') !== 'true') {
      // Pages of `limit` objects, the continue token being the offset of the next (a real one is opaque).
      const limit = Number(url.searchParams.get('limit') ?? 0);
      const offset = Number(url.searchParams.get('continue') ?? 0);
      const all = [...this.items.values()];
      const items = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
      const next = offset + items.length < all.length ? String(offset + items.length) : undefined;
      this.pages.push({ limit, items: items.length });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'MountPolicyList', metadata: { resourceVersion: String(this.resourceVersion), continue: next }, items }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    if (Number(url.searchParams.get('resourceVersion')) < this.compactedBefore) {
      setTimeout(() => res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })}\n`), 50);
      return;
    }
    this.watchesOpened++;
    this.#watches.add(res);
    const timeout = this.silent ? undefined : setTimeout(() => res.end(), Number(url.searchParams.get('timeoutSeconds')) * 1000);
    res.on('close', () => {
      clearTimeout(timeout);
      this.#watches.delete(res);
    });
  });

  async start(): Promise<string> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Cuts every open watch, as a network failure or an API server restart does. */
  breakWatches(): void {
    for (const res of this.#watches) res.destroy();
  }

  /** A change the watchers do not hear of (they are down); the history before it is compacted. */
  changeWhileDown(change: () => void): void {
    change();
    this.resourceVersion++;
    this.compactedBefore = this.resourceVersion;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }
}

function mountPolicy(namespace: string, name: string, spec: unknown): MountPolicyObject {
  return { apiVersion: 'mountgate.io/v1alpha1', kind: 'MountPolicy', metadata: { namespace, name, uid: `uid-${name}`, generation: 1, resourceVersion: '1' }, spec };
}

const CLOSED = mountPolicy('team-a', 'closed', { allowedHostPaths: [] });

function names(table: MountPolicyTable, namespace: string): string[] {
  const layers = table.layersOf(namespace);
  return layers.known ? layers.policies.map((policy) => policy.ref.name) : ['(unknown)'];
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function configFor(server: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return config;
}

const logger = pino({ level: process.env.WATCH_LOG ?? 'silent' });

describe('cluster/mount-policy-watch', () => {
  const rows: ReadonlyArray<{ name: string; before: MountPolicyObject[]; whileDown: (api: FakeApiServer) => void; after: string[] }> = [
    {
      name: 'a MountPolicy created while the watch was down is in force the moment the cache says synced again',
      before: [],
      whileDown: (api) => api.items.set('team-a/closed', CLOSED),
      after: ['closed'],
    },
    {
      name: 'a MountPolicy deleted while the watch was down is gone the moment the cache says synced again',
      before: [CLOSED],
      whileDown: (api) => api.items.delete('team-a/closed'),
      after: [],
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const api = new FakeApiServer();
      for (const object of row.before) api.items.set(`team-a/${object.metadata?.name ?? ''}`, object);
      const table = new MountPolicyTable();
      // What team-a's Pods would be judged by at each moment the cache turns synced.
      const atSync: string[][] = [];
      table.onChange(({ namespace }) => {
        if (namespace === undefined && table.synced) atSync.push(names(table, 'team-a'));
      });
      let watch: MountPolicyWatch | undefined;
      try {
        watch = watchMountPolicies(configFor(await api.start()), table, logger, { retryDelayMs: 20 });
        await until(() => table.synced, 'the first sync');
        expect(atSync).to.deep.equal([row.before.map((object) => object.metadata?.name ?? '')]);

        api.down = true;
        api.breakWatches();
        await until(() => !table.synced, 'the broken watch is noticed');
        api.changeWhileDown(() => row.whileDown(api));
        api.down = false;
        await until(() => atSync.length === 2, 'the cache syncs again');
        expect(atSync[1]).to.deep.equal(row.after);
      } finally {
        await watch?.stop();
        await api.stop();
      }
    });
  }

  it('keeps of each listed object only what it reads: annotations and managedFields are left out', async () => {
    const api = new FakeApiServer();
    const bulky = (name: string): MountPolicyObject => {
      const object = mountPolicy('team-a', name, { maxMounts: 1 });
      const metadata = { ...object.metadata, annotations: { note: 'x'.repeat(100_000) }, managedFields: [{ manager: 'kubectl' }] };
      return { ...object, metadata };
    };
    api.items.set('team-a/listed', bulky('listed'));
    const table = new MountPolicyTable();
    let watch: MountPolicyWatch | undefined;
    try {
      watch = watchMountPolicies(configFor(await api.start()), table, logger, { retryDelayMs: 20 });
      await until(() => table.synced, 'the first sync');
      expect(table.get({ namespace: 'team-a', name: 'listed' })?.object).to.deep.equal(mountPolicy('team-a', 'listed', { maxMounts: 1 }));
    } finally {
      await watch?.stop();
      await api.stop();
    }
  });

  it('lists MountPolicies in pages of 32, so that a page stays small even when every object is at its size bound', async () => {
    const api = new FakeApiServer();
    for (let i = 0; i < 70; i++) api.items.set(`team-a/p${i}`, mountPolicy('team-a', `p${i}`, { maxMounts: 1 }));
    const table = new MountPolicyTable();
    let watch: MountPolicyWatch | undefined;
    try {
      watch = watchMountPolicies(configFor(await api.start()), table, logger, { retryDelayMs: 20 });
      await until(() => table.synced, 'the first sync');
      expect(table.size).to.equal(70);
      expect(api.pages).to.deep.equal([
        { limit: 32, items: 32 },
        { limit: 32, items: 32 },
        { limit: 32, items: 6 },
      ]);
    } finally {
      await watch?.stop();
      await api.stop();
    }
  });

  it('takes a watch that goes silent (never sends, never closes) for dead: unknown, then synced again after a new list', async () => {
    const api = new FakeApiServer();
    const table = new MountPolicyTable();
    const syncs: boolean[] = [];
    table.onChange(({ namespace }) => {
      if (namespace === undefined) syncs.push(table.synced);
    });
    let watch: MountPolicyWatch | undefined;
    try {
      watch = watchMountPolicies(configFor(await api.start()), table, logger, { retryDelayMs: 20, watchTimeoutSeconds: 1, watchGraceMs: 300 });
      await until(() => table.synced && api.watchesOpened >= 2, 'a watch the server ended at its timeout is resumed');
      expect(syncs, 'a watch ended at its timeout is resumed without a gap').to.deep.equal([true]);

      api.silent = true;
      // Made while the watch is silent, and its history compacted: the watch sent again is told too old, and only a new list can bring it.
      api.changeWhileDown(() => api.items.set('team-a/closed', CLOSED));
      await until(() => !table.synced, 'the silent watch is taken for dead');
      expect(api.watchesOpened, 'a silent watch was open').to.be.at.least(3);
      expect(names(table, 'team-a')).to.deep.equal(['(unknown)']);

      api.silent = false;
      await until(() => table.synced, 'the cache syncs again');
      expect(names(table, 'team-a')).to.deep.equal(['closed']);
      expect(syncs).to.deep.equal([true, false, true]);
    } finally {
      await watch?.stop();
      await api.stop();
    }
  });
});
