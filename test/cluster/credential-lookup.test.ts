/**
 * Credential lookups shared per KubeConfig (src/cluster/request-deadline.ts). A lookup the deadline
 * gives up keeps running, and @kubernetes/client-node starts a new exec plugin on every lookup that
 * finds no cached token: without sharing, each retry leaves one more plugin behind; with one shared
 * for good, a plugin that hung once would fail every later request. So a request joins a lookup
 * younger than its deadline, and otherwise starts one, at most MAX_LOOKUPS_IN_FLIGHT at a time.
 * Real exec plugins (sh) record their pid in a file, so the rows count the processes started.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from '../../src/cluster/kube-request.js';
import { startListWatch } from '../../src/cluster/list-watch.js';
import { MAX_LOOKUPS_IN_FLIGHT, RequestDeadline, type CredentialOptions } from '../../src/cluster/request-deadline.js';

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/mg/leases/status';
let users = 0;

/** A kubeconfig whose exec plugin is `script` run by sh, after appending its pid to `pids`. The user name is new each time: the library caches tokens by it. */
function execKubeConfig(port: number, pids: string, script: string): KubeConfig {
  const config = new KubeConfig();
  const user = `exec-${process.pid}-${++users}`;
  config.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: user, exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'sh', args: ['-c', `echo $$ >> '${pids}'; ${script}`], interactiveMode: 'Never' } }],
    contexts: [{ name: 'c', cluster: 'c', user }],
    currentContext: 'c',
  });
  return config;
}

async function startedPids(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map(Number);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type CredentialSource = Parameters<RequestDeadline['credentials']>[0];

/** One request's credentials under a deadline of `ms`: its Authorization header, or why it has none. */
async function authorizationOf(config: CredentialSource, ms: number): Promise<string> {
  const deadline = new RequestDeadline('GET /', '127.0.0.1:9', ms);
  const options: CredentialOptions = { headers: { Accept: 'application/json' } };
  try {
    await deadline.credentials(config, options);
    return String(options.headers?.Authorization);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    deadline.clear();
  }
}

/** The longest a row keeps retrying for the failures it wants; each takes about 0.1 s, so this is room for a stalled machine. */
const HUNG_BOUND_MS = 10_000;

/** Whether a row retrying since `started` (performance.now()) goes on: for at least `ms`, then until `wanted` failures, within HUNG_BOUND_MS. */
function retrying(started: number, ms: number, failures: number, wanted: number): boolean {
  const elapsed = performance.now() - started;
  return elapsed < HUNG_BOUND_MS && (elapsed < ms || failures < wanted);
}

/** Requests that give a hung plugin up again and again, for at least `ms` and until `wanted` of them failed; returns how many failed. */
const hungRows: ReadonlyArray<{ name: string; retry: (config: KubeConfig, ms: number, wanted: number) => Promise<number> }> = [
  {
    name: 'a list-watch retrying under a 100 ms deadline starts at most MAX_LOOKUPS_IN_FLIGHT hung plugins, and stop() leaves no more',
    retry: async (config, ms, wanted) => {
      let failures = 0;
      const watch = startListWatch({
        config,
        path: '/api/v1/things',
        decode: () => undefined,
        table: { replace: () => undefined, upsert: () => undefined, remove: () => undefined },
        retryDelayMs: 20,
        requestTimeoutMs: 100,
        onError: () => failures++,
      });
      try {
        for (const started = performance.now(); retrying(started, ms, failures, wanted); ) await sleep(10);
      } finally {
        await watch.stop();
      }
      return failures;
    },
  },
  {
    name: 'Lease requests one after another under a 100 ms deadline start at most MAX_LOOKUPS_IN_FLIGHT hung plugins',
    retry: async (config, ms, wanted) => {
      let failures = 0;
      for (const started = performance.now(); retrying(started, ms, failures, wanted) && failures < 50; ) {
        await kubeRequest(config, 'GET', LEASE, undefined, 100).catch(() => failures++);
      }
      return failures;
    },
  },
];

/** Concurrent and later requests against a plugin that prints a token naming its pid. */
const tokenRows: ReadonlyArray<{ name: string; together: number; after: number }> = [
  { name: 'requests sent together share one plugin run, and each carries its token and its own headers', together: 5, after: 0 },
  { name: 'a request after the lookup settled starts a new plugin run and gets its token', together: 3, after: 2 },
];

describe('cluster/request-deadline credential lookups', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mountgate-exec-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const row of hungRows) {
    it(row.name, async () => {
      const pids = join(dir, 'pids');
      const config = execKubeConfig(9, pids, 'exec sleep 600');
      try {
        const failures = await row.retry(config, 1_000, MAX_LOOKUPS_IN_FLIGHT + 2);
        expect(failures, 'requests given up').to.be.at.least(MAX_LOOKUPS_IN_FLIGHT + 2);
        const started = await startedPids(pids);
        expect(started, 'plugins started').to.have.length(MAX_LOOKUPS_IN_FLIGHT);
        expect(started.filter(running), 'plugins still running').to.have.length.at.most(MAX_LOOKUPS_IN_FLIGHT);
      } finally {
        for (const pid of await startedPids(pids)) if (running(pid)) process.kill(pid, 'SIGKILL');
      }
    });
  }

  for (const row of tokenRows) {
    it(row.name, async () => {
      const seen: IncomingHttpHeaders[] = [];
      const server = createServer((req, res) => {
        seen.push(req.headers);
        req.resume();
        req.once('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const pids = join(dir, 'pids');
      try {
        // The pause keeps the first run going while the others join it.
        const token = `sleep 0.2; printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"token-%s"}}' $$`;
        const config = execKubeConfig((server.address() as AddressInfo).port, pids, token);
        await Promise.all(Array.from({ length: row.together }, () => kubeRequest(config, 'POST', LEASE, { kind: 'Lease' }, 10_000)));
        for (let i = 0; i < row.after; i++) await kubeRequest(config, 'POST', LEASE, { kind: 'Lease' }, 10_000);
        const started = await startedPids(pids);
        expect(started, 'plugin runs').to.have.length(1 + row.after);
        const expected = [...Array<number>(row.together).fill(started[0] ?? 0), ...started.slice(1)].map((pid) => ({ authorization: `Bearer token-${pid}`, 'content-type': 'application/json' }));
        expect(seen.map((headers) => ({ authorization: headers.authorization, 'content-type': headers['content-type'] }))).to.deep.equal(expected);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  }

  const fakeRows: ReadonlyArray<{ name: string; lookup: (options: CredentialOptions, call: number) => Promise<void>; outcomes: string[]; lookups: number }> = [
    {
      name: 'a lookup that fails fails every request waiting for it, and the next request starts a new one',
      lookup: async (options, call) => {
        await sleep(20);
        if (call === 1) throw new Error('plugin failed');
        options.headers = { Authorization: `Bearer ${call}` };
      },
      outcomes: ['plugin failed', 'plugin failed', 'Bearer 2'],
      lookups: 2,
    },
    {
      name: 'a lookup that throws at once does not stay in flight',
      lookup: (options, call) => {
        if (call === 1) throw new Error('no such user');
        options.headers = { Authorization: `Bearer ${call}` };
        return Promise.resolve();
      },
      outcomes: ['no such user', 'no such user', 'Bearer 2'],
      lookups: 2,
    },
  ];
  it('a lookup that hangs once: a request after a whole deadline starts another, and gets its answer', async () => {
    let calls = 0;
    const config = {
      applyToHTTPSOptions: (options: CredentialOptions): Promise<void> => {
        calls++;
        if (calls === 1) return new Promise<void>(() => undefined);
        options.headers = { Authorization: `Bearer ${calls}` };
        return Promise.resolve();
      },
    };
    expect(await authorizationOf(config, 50)).to.equal('GET /: no credentials from the kubeconfig (exec plugin or auth provider) in 0.05 s');
    // A retry comes after a pause (the watch's retry delay): a timer may fire a hair before the lookup is 50 ms old.
    await sleep(20);
    expect(await authorizationOf(config, 50)).to.equal('Bearer 2');
    expect(calls).to.equal(2);
  });

  for (const row of fakeRows) {
    it(row.name, async () => {
      let calls = 0;
      const config = { applyToHTTPSOptions: (options: CredentialOptions) => row.lookup(options, ++calls) };
      const together = await Promise.all([authorizationOf(config, 5_000), authorizationOf(config, 5_000)]);
      expect([...together, await authorizationOf(config, 5_000)]).to.deep.equal(row.outcomes);
      expect(calls).to.equal(row.lookups);
    });
  }
});
