/**
 * The list and watch loop (src/cluster/list-watch.ts) against the real kube-apiserver: it follows
 * namespaces by watch, and when its connection breaks and new ones are reset it reports unsynced,
 * then lists again and ends up with what changed meanwhile. When a watch the server ended is followed by refused
 * connections (an API server restarting), it reports unsynced, watches again from the last
 * resourceVersion it saw without a list (the API server's own count of namespace LISTs, on its
 * /metrics, does not move) and ends up with what changed meanwhile. The connection goes through a
 * TCP relay on loopback that the test can cut (connections closed, new ones accepted and closed at
 * once) and stop listening on (new connections refused by the kernel).
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { once } from 'node:events';
import { KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { apiRequest, readAnswer } from '../../src/cluster/api-request.js';
import { startListWatch, type ListWatchTable } from '../../src/cluster/list-watch.js';
import { sleep } from './controlplane.js';
import { uniqueName } from './env.js';
import { e2e } from './hooks.js';
import { metricSum } from './mountgate-process.js';

const LABEL = 'mountgate.io/list-watch-test';

interface Relay {
  readonly port: number;
  /** Cuts every open connection and refuses new ones until open() is called. */
  cut(): void;
  open(): void;
  /**
   * Stops listening, so that the kernel refuses new connections (ECONNREFUSED), as for an API server that is down.
   * A connection already open is closed the next time its client sends on it: the answer in flight, a watch, runs
   * to its end, as an API server shutting down ends its watches, and the next request on it meets a closed
   * connection. listen() listens again on the same port.
   */
  refuse(): void;
  listen(): Promise<void>;
  close(): Promise<void>;
}

async function relayTo(host: string, port: number): Promise<Relay> {
  /** Each open client connection and its upstream. */
  const pairs = new Map<net.Socket, net.Socket>();
  let shut = false;
  const relay = (client: net.Socket): void => {
    if (shut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, host);
    pairs.set(client, upstream);
    client.on('close', () => pairs.delete(client));
    for (const socket of [client, upstream]) socket.on('error', () => undefined);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  const listenOn = async (on: number): Promise<net.Server> => {
    const server = net.createServer(relay);
    server.listen(on, '127.0.0.1');
    try {
      await once(server, 'listening');
    } catch (error) {
      // Nothing holds the port while the relay refuses: another process (or an outgoing connection) may take it.
      throw new Error(`the relay cannot listen again on 127.0.0.1:${on}, taken while it refused connections: ${String(error)}`);
    }
    return server;
  };
  let server: net.Server | undefined = await listenOn(0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const relayPort = address.port;
  const destroyAll = (): void => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
  };
  return {
    port: relayPort,
    cut() {
      shut = true;
      destroyAll();
    },
    open() {
      shut = false;
    },
    refuse() {
      server?.close();
      server = undefined;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        client.on('data', () => client.destroy());
        client.resume();
      }
    },
    async listen() {
      if (server === undefined) server = await listenOn(relayPort);
    },
    async close() {
      destroyAll();
      const last = server;
      server = undefined;
      if (last === undefined) return;
      last.close();
      await once(last, 'close');
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

/**
 * How many LISTs of namespaces the API server has answered, over all its clients: the sum of its own counter
 * apiserver_request_total{verb="LIST",resource="namespaces"} over every label set (codes, scopes), read on /metrics
 * as the admin, directly (not through the relay).
 */
async function namespaceLists(): Promise<number> {
  const { cp } = e2e();
  const text = await apiRequest(cp.admin, { method: 'GET', pathAndQuery: '/metrics', headers: { Accept: 'text/plain' }, timeoutMs: 10_000 }, async (answer, target) => {
    const body = await readAnswer(answer, target, 64 * 1024 * 1024);
    if (answer.statusCode !== 200) throw new Error(`${target.label}: HTTP ${String(answer.statusCode)}: ${body.slice(0, 300)}`);
    return body;
  });
  return metricSum(text, 'apiserver_request_total', { verb: 'LIST', group: '', resource: 'namespaces', subresource: '' });
}

async function relabel(name: string, value: string): Promise<void> {
  await e2e().core.patchNamespace({ name, body: { metadata: { labels: { [LABEL]: value } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
}

/** A relay in front of the suite's API server, and the admin's kubeconfig pointed at it. */
async function relayedKubeConfig(): Promise<{ relay: Relay; config: KubeConfig }> {
  const { cp } = e2e();
  const server = new URL(cp.server);
  const relay = await relayTo(server.hostname, Number(server.port));
  const config = new KubeConfig();
  const text = await readFile(cp.kubeconfigPath, 'utf8');
  config.loadFromString(text.split(cp.server).join(`https://127.0.0.1:${relay.port}`));
  return { relay, config };
}

describe('e2e: list and watch against the API server', () => {
  it('follows namespaces by watch; after the connection breaks it reports unsynced, lists again and has what changed meanwhile', async () => {
    const { core } = e2e();
    const { relay, config } = await relayedKubeConfig();
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

  it('after a watch whose connection is refused (the API server restarting), watches again from the last resourceVersion, without a list, and has what changed meanwhile', async () => {
    const { core } = e2e();
    const { relay, config } = await relayedKubeConfig();
    const table = new Labelled();
    const syncChanges: boolean[] = [];
    const errors: string[] = [];
    const listsAtStart = await namespaceLists();
    // Watches the server ends every 2 s, so that the next watch is the one refused (a watch cut in the middle is
    // watched again without a list too, but the relay cannot cut it without also resetting the next connection).
    const watch = startListWatch({
      config,
      path: '/api/v1/namespaces',
      decode,
      table,
      retryDelayMs: 200,
      watchTimeoutSeconds: 2,
      onSyncChange: (synced) => syncChanges.push(synced),
      onError: (error) => errors.push(error.message),
    });
    const before = uniqueName('mg-lw-refused-before');
    const during = uniqueName('mg-lw-refused-during');
    const created: string[] = [];
    try {
      await until(() => watch.synced, 'the first list');
      const made = await core.createNamespace({ body: { metadata: { name: before, labels: { [LABEL]: 'one' } } } });
      created.push(before);
      await until(() => table.names.get(before) === 'one', 'the watch to see the new namespace');
      // The counter moves for this loop's list (else "no list" below would prove nothing). Read after the list was
      // answered and a watch event came after it, so the API server has counted it.
      const listsBefore = await namespaceLists();
      expect(listsBefore - listsAtStart, 'LISTs of namespaces counted for the first list').to.be.at.least(1);

      relay.refuse();
      await until(() => !watch.synced, 'the refused watch to be reported');
      await until(() => errors.length >= 2, 'a second refused watch');
      await relabel(before, 'changed-while-refused');
      await core.createNamespace({ body: { metadata: { name: during, labels: { [LABEL]: 'three' } } } });
      created.push(during);
      // Still refused: the table cannot have seen either change.
      expect(table.names.get(before)).to.equal('one');
      expect(table.names.has(during)).to.equal(false);

      await relay.listen();
      await until(() => watch.synced, 'the watch sent again to be answered');
      // Synced at the watch's answer; the events since its resourceVersion follow it.
      await until(() => table.names.get(before) === 'changed-while-refused' && table.names.get(during) === 'three', 'the changes made while refused');
      expect(syncChanges.slice(0, 3)).to.deep.equal([true, false, true]);

      // Each failure was a refused watch, sent again after 200 ms and up to half of that again (the jitter), from
      // one resourceVersion: the last the loop saw, not older than the namespace it saw created.
      const refused = new RegExp(`^connect ECONNREFUSED 127\\.0\\.0\\.1:${relay.port}; watching again from resourceVersion (\\d+) in (\\d+) ms$`);
      expect(errors).to.not.be.empty;
      const versions = errors.map((message) => {
        const match = refused.exec(message);
        expect(match, message).to.not.equal(null);
        const [, version = '', delay = ''] = match ?? [];
        expect(Number(delay), message).to.be.within(200, 300);
        return version;
      });
      expect(new Set(versions).size, versions.join(', ')).to.equal(1);
      // etcd's revisions: the resourceVersions of one API server grow as integers.
      const seen = made.metadata?.resourceVersion;
      expect(seen).to.match(/^\d+$/);
      expect(Number(versions[0])).to.be.at.least(Number(seen));

      // No second list, by the API server's own count. The counter is the API server's, over all clients, and the
      // shared mountgate follows namespaces too (its Pod Security preflight); it lists only at its start or after
      // a failure of its own watch, which nothing here causes.
      expect(await namespaceLists(), 'LISTs of namespaces since the refusal').to.equal(listsBefore);
    } finally {
      await watch.stop();
      await relay.close();
      for (const name of created) await core.deleteNamespace({ name }).catch(() => undefined);
    }
  });
});
