/**
 * kubernetesLeaseStore over node:https (src/cluster/kube-request.ts) against a Lease endpoint on
 * loopback with the API server's rules: 404 for a missing Lease, 409 for a create of one that
 * exists or an update from a stale resourceVersion. test/e2e/mount-policy.test.ts runs it against
 * a real kube-apiserver.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeStatusError } from '../../src/cluster/kube-request.js';
import { LeaseConflict, type LeaseRecord, type LeaseStore } from '../../src/cluster/lease.js';
import { kubernetesLeaseStore } from '../../src/cluster/lease-store.js';

const COLLECTION = '/apis/coordination.k8s.io/v1/namespaces/mg/leases';
const ONE = `${COLLECTION}/status`;
const TOKEN = 'lease-token';

class FakeLeases {
  lease: Record<string, unknown> | undefined;
  version = 0;
  /** Answers every request with this instead, when set. */
  override: ((res: ServerResponse) => void) | undefined;
  readonly authorizations: string[] = [];
  readonly #server: Server = createServer((req, res) => void this.#handle(req, res));

  async start(): Promise<KubeConfig> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'fake', token: TOKEN }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return config;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.authorizations.push(req.headers.authorization ?? '');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.override !== undefined) return this.override(res);
    const body: unknown = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const sent = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const sentVersion = (sent.metadata as Record<string, unknown> | undefined)?.resourceVersion;
    if (req.method === 'GET' && req.url === ONE) return this.lease === undefined ? status(res, 404) : json(res, 200, this.lease);
    if (req.method === 'POST' && req.url === COLLECTION) return this.lease !== undefined ? status(res, 409) : json(res, 201, this.#store(sent));
    if (req.method === 'PUT' && req.url === ONE) {
      const current = (this.lease?.metadata as Record<string, unknown> | undefined)?.resourceVersion;
      return current === undefined || current !== sentVersion ? status(res, 409) : json(res, 200, this.#store(sent));
    }
    status(res, 405);
  }

  #store(sent: Record<string, unknown>): Record<string, unknown> {
    this.lease = { ...sent, metadata: { ...(sent.metadata as object), resourceVersion: String(++this.version) } };
    return this.lease;
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number): void {
  json(res, code, { kind: 'Status', status: 'Failure', code, message: `the server says ${code}` });
}

const RECORD: LeaseRecord = { holderIdentity: 'replica-a', leaseDurationSeconds: 15, acquireTime: '2026-12-05T03:00:00.123000Z', renewTime: '2026-12-05T03:00:01.456000Z', leaseTransitions: 2 };

describe('cluster/lease-store', () => {
  const rows: ReadonlyArray<{ name: string; run: (store: LeaseStore, leases: FakeLeases) => Promise<unknown>; expected: unknown }> = [
    { name: 'reads a missing Lease as none', run: (store) => store.read(), expected: undefined },
    {
      name: 'creates a Lease and reads back the record as written, MicroTimes untouched',
      run: async (store, leases) => [await store.create(RECORD), await store.read(), leases.lease],
      expected: [
        { resourceVersion: '1', record: RECORD },
        { resourceVersion: '1', record: RECORD },
        // The object the server stored: what was sent, and the resourceVersion it gave.
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'status', namespace: 'mg', resourceVersion: '1' },
          spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15, leaseTransitions: 2, acquireTime: '2026-12-05T03:00:00.123000Z', renewTime: '2026-12-05T03:00:01.456000Z' },
        },
      ],
    },
    {
      name: 'updates from the resourceVersion it read',
      run: async (store, leases) => {
        const created = await store.create(RECORD);
        return [await store.update(created.resourceVersion, { ...RECORD, holderIdentity: 'replica-b' }), leases.lease];
      },
      expected: [
        { resourceVersion: '2', record: { ...RECORD, holderIdentity: 'replica-b' } },
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'status', namespace: 'mg', resourceVersion: '2' },
          spec: { holderIdentity: 'replica-b', leaseDurationSeconds: 15, leaseTransitions: 2, acquireTime: '2026-12-05T03:00:00.123000Z', renewTime: '2026-12-05T03:00:01.456000Z' },
        },
      ],
    },
    {
      name: 'takes a 409 on create (another replica made it first) for a LeaseConflict',
      run: async (store) => {
        await store.create(RECORD);
        return store.create(RECORD).catch((error: unknown) => error instanceof LeaseConflict);
      },
      expected: true,
    },
    {
      name: 'takes a 409 on update (a stale resourceVersion) for a LeaseConflict',
      run: async (store) => {
        await store.create(RECORD);
        return store.update('0', RECORD).catch((error: unknown) => error instanceof LeaseConflict);
      },
      expected: true,
    },
    {
      name: 'fails on a server error with its status code and message',
      run: (store, leases) => {
        leases.override = (res) => status(res, 500);
        return store.read().catch((error: unknown) => (error instanceof KubeStatusError ? [error.code, error.message] : error));
      },
      expected: [500, `GET ${ONE}: HTTP 500: the server says 500`],
    },
    {
      name: 'fails with a clear message on an answer that is not a Lease',
      run: (store, leases) => {
        leases.override = (res) => json(res, 200, { kind: 'Lease', metadata: {} });
        return store.read().catch((error: unknown) => (error instanceof Error ? error.message : error));
      },
      expected: "the API server's Lease: metadata.resourceVersion is a required field",
    },
    {
      name: 'fails with a clear message on an answer that is not JSON',
      run: (store, leases) => {
        leases.override = (res) => res.writeHead(200).end('<html>');
        return store.read().catch((error: unknown) => (error instanceof Error ? error.message : error));
      },
      expected: `GET ${ONE}: the answer is not JSON`,
    },
    // An API server that never answers: each call ends when its signal aborts, not at the 30 s deadline.
    ...(
      [
        ['read', (store: LeaseStore, signal: AbortSignal) => store.read(signal)],
        ['create', (store: LeaseStore, signal: AbortSignal) => store.create(RECORD, signal)],
        ['update', (store: LeaseStore, signal: AbortSignal) => store.update('1', RECORD, signal)],
      ] as const
    ).map(([call, send]) => ({
      name: `ends ${call === 'update' ? 'an' : 'a'} ${call} the server never answers when its signal aborts`,
      run: async (store: LeaseStore, leases: FakeLeases) => {
        leases.override = () => undefined;
        const started = Date.now();
        const error = await send(store, AbortSignal.timeout(200)).then(
          () => 'answered',
          (failure: unknown) => (failure instanceof Error ? failure.name : String(failure)),
        );
        return [error, Date.now() - started < 2_000];
      },
      expected: ['AbortError', true],
    })),
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const leases = new FakeLeases();
      try {
        const store = kubernetesLeaseStore(await leases.start(), 'mg', 'status');
        expect(await row.run(store, leases)).to.deep.equal(row.expected);
        expect(leases.authorizations.every((header) => header === `Bearer ${TOKEN}`), 'the kubeconfig token on every request').to.equal(true);
        expect(leases.authorizations.length).to.be.greaterThan(0);
      } finally {
        await leases.stop();
      }
    });
  }
});
