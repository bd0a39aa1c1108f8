/**
 * The list and watch loop (src/cluster/list-watch.ts) against the real kube-apiserver: it follows
 * namespaces by watch, and when its connection breaks it reports unsynced, then lists again and
 * ends up with what changed meanwhile. The connection goes through a TCP relay on loopback that
 * the test can cut and hold shut.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { once } from 'node:events';
import { KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startListWatch, type ListWatchTable } from '../../src/cluster/list-watch.js';
import { sleep } from './controlplane.js';
import { uniqueName } from './env.js';
import { e2e } from './hooks.js';

const LABEL = 'mountgate.io/list-watch-test';

interface Relay {
  readonly port: number;
  /** Cuts every open connection and refuses new ones until open() is called. */
  cut(): void;
  open(): void;
  close(): Promise<void>;
}

async function relayTo(host: string, port: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let shut = false;
  const server = net.createServer((client) => {
    if (shut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    cut() {
      shut = true;
      for (const socket of sockets) socket.destroy();
    },
    open() {
      shut = false;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Namespaces carrying the test label, name to label value. */
class Labelled implements ListWatchTable<{ name: string; value: string | undefined }> {
  readonly names = new Map<string, string | undefined>();
  replace(objects: ReadonlyArray<{ name: string; value: string | undefined }>): void {
    this.names.clear();
    for (const object of objects) this.upsert(object);
  }
  upsert(object: { name: string; value: string | undefined }): void {
    if (object.value === undefined) this.names.delete(object.name);
    else this.names.set(object.name, object.value);
  }
  remove(object: { name: string }): void {
    this.names.delete(object.name);
  }
}

function decode(value: unknown): { name: string; value: string | undefined } | undefined {
  if (typeof value !== 'object' || value === null || !('metadata' in value)) return undefined;
  const metadata: unknown = value.metadata;
  if (typeof metadata !== 'object' || metadata === null || !('name' in metadata) || typeof metadata.name !== 'string') return undefined;
  const labels: unknown = 'labels' in metadata ? metadata.labels : undefined;
  const label: unknown = typeof labels === 'object' && labels !== null && LABEL in labels ? (labels as Record<string, unknown>)[LABEL] : undefined;
  return { name: metadata.name, value: typeof label === 'string' ? label : undefined };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (condition()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function relabel(name: string, value: string): Promise<void> {
  await e2e().core.patchNamespace({ name, body: { metadata: { labels: { [LABEL]: value } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
}

describe('e2e: list and watch against the API server', () => {
  it('follows namespaces by watch; after the connection breaks it reports unsynced, lists again and has what changed meanwhile', async () => {
    const { cp, core } = e2e();
    const server = new URL(cp.server);
    const relay = await relayTo(server.hostname, Number(server.port));
    const config = new KubeConfig();
    const text = await readFile(cp.kubeconfigPath, 'utf8');
    config.loadFromString(text.split(cp.server).join(`https://127.0.0.1:${relay.port}`));
    const table = new Labelled();
    const syncChanges: boolean[] = [];
    const watch = startListWatch({ config, path: '/api/v1/namespaces', decode, table, retryDelayMs: 200, onSyncChange: (synced) => syncChanges.push(synced) });
    const before = uniqueName('mg-lw-before');
    const during = uniqueName('mg-lw-during');
    const created: string[] = [];
    try {
      await until(() => watch.synced, 'the first list');
      await core.createNamespace({ body: { metadata: { name: before, labels: { [LABEL]: 'one' } } } });
      created.push(before);
      await until(() => table.names.get(before) === 'one', 'the watch to see the new namespace');
      await relabel(before, 'two');
      await until(() => table.names.get(before) === 'two', 'the watch to see the label change');

      relay.cut();
      await until(() => !watch.synced, 'the broken watch to be reported');
      await relabel(before, 'changed-while-cut');
      await core.createNamespace({ body: { metadata: { name: during, labels: { [LABEL]: 'three' } } } });
      created.push(during);
      // Still cut off: the table cannot have seen either change.
      expect(table.names.get(before)).to.equal('two');
      expect(table.names.has(during)).to.equal(false);

      relay.open();
      await until(() => watch.synced, 'the list after the break');
      expect(table.names.get(during)).to.equal('three');
      expect(table.names.get(before)).to.equal('changed-while-cut');
      expect(syncChanges.slice(0, 3)).to.deep.equal([true, false, true]);
    } finally {
      await watch.stop();
      await relay.close();
      for (const name of created) await core.deleteNamespace({ name }).catch(() => undefined);
    }
  });
});
