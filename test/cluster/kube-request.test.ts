/**
 * kubeRequest's one deadline (src/cluster/request-deadline.ts) against a loopback server: a
 * credential lookup that never returns, an address that never accepts the connection, an answer
 * that never comes or never ends, each fails the request with a message naming the step.
 * lease-store.test.ts covers what it does with the answers it gets.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { kubeRequest, type KubeRequestConfig } from '../../src/cluster/kube-request.js';
import { loopbackKubeConfig } from '../helpers/loopback-kubeconfig.js';
import { stalledAddress } from '../helpers/stalled-address.js';

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/mg/leases/status';
const TIMEOUT_MS = 200;

interface Row {
  readonly name: string;
  /** How the server answers; `never` leaves the request unanswered. */
  readonly answer: (res: ServerResponse) => void;
  readonly stall?: 'credentials' | 'connection';
  /** The error's message, or the answer; `PORT` stands for the stalled address's port. */
  readonly expected: string | object;
}

const never = (): void => undefined;

const rows: readonly Row[] = [
  { name: 'answers within the deadline', answer: (res) => res.writeHead(200).end('{"kind":"Lease"}'), expected: { kind: 'Lease' } },
  { name: 'a credential lookup that never returns fails the request', answer: (res) => res.writeHead(200).end('{}'), stall: 'credentials', expected: `PUT ${LEASE}: no credentials from the kubeconfig (exec plugin or auth provider) in 0.2 s` },
  { name: 'an address that never accepts the connection fails the request', answer: never, stall: 'connection', expected: `PUT ${LEASE}: no connection to 127.0.0.1:PORT in 0.2 s` },
  { name: 'an answer that never comes fails the request', answer: never, expected: `PUT ${LEASE}: no answer in 0.2 s` },
  { name: 'an answer that never ends fails the request', answer: (res) => res.writeHead(200).write('{"kind":'), expected: `PUT ${LEASE}: answer not complete in 0.2 s` },
  {
    name: 'an answer over the size bound fails the request, naming it',
    answer: (res) => res.writeHead(200).end(Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)),
    expected: `PUT ${LEASE}: answer larger than 4194304 bytes`,
  },
  { name: 'an error status names the request and quotes the Status message', answer: (res) => res.writeHead(409).end('{"kind":"Status","message":"the object has been modified"}'), expected: `PUT ${LEASE}: HTTP 409: the object has been modified` },
  { name: 'an answer that is not JSON names the request', answer: (res) => res.writeHead(200).end('<html>'), expected: `PUT ${LEASE}: the answer is not JSON` },
];

describe('cluster/kube-request deadline', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const server = createServer((req, res) => {
        req.resume();
        row.answer(res);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const stalled = row.stall === 'connection' ? await stalledAddress() : undefined;
      try {
        const real = loopbackKubeConfig(stalled?.port ?? (server.address() as AddressInfo).port);
        const config: KubeRequestConfig = {
          getCurrentCluster: () => real.getCurrentCluster(),
          applyToHTTPSOptions: (options) => (row.stall === 'credentials' ? new Promise<void>(() => undefined) : real.applyToHTTPSOptions(options)),
        };
        const started = performance.now();
        const outcome = await kubeRequest(config, 'PUT', LEASE, { kind: 'Lease' }, TIMEOUT_MS).catch((error: unknown) => (error instanceof Error ? error.message : error));
        expect(outcome).to.deep.equal(typeof row.expected === 'string' ? row.expected.replace('PORT', String(stalled?.port)) : row.expected);
        // Room for a slow machine; the kernel gives a stalled connection up only after minutes.
        expect(performance.now() - started).to.be.below(TIMEOUT_MS + 2_000);
      } finally {
        server.closeAllConnections();
        server.close();
        await stalled?.close();
      }
    });
  }
});

/** One request as the server saw it. */
interface Seen {
  readonly method: string;
  readonly body: string;
}

/** A loopback server answering the requests in turn from `answers`, the last one for any beyond; records what it was sent. */
async function scriptedServer(answers: ReadonlyArray<(res: ServerResponse) => void>): Promise<{ port: number; seen: Seen[]; close: () => void }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      seen.push({ method: req.method ?? '', body: Buffer.concat(chunks).toString('utf8') });
      answers[Math.min(seen.length, answers.length) - 1]?.(res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A refusal as API Priority and Fairness (429) or an API server shutting down (503) answers, with a Retry-After header unless it is undefined. */
const refused = (code: number, retryAfter?: string) => (res: ServerResponse): void => {
  if (retryAfter !== undefined) res.setHeader('Retry-After', retryAfter);
  res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code, message: `status ${code}` }));
};
const leaseAnswer = (res: ServerResponse): void => void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"Lease","metadata":{"resourceVersion":"7"}}');

interface RetryRow {
  readonly name: string;
  readonly method: 'GET' | 'PUT';
  readonly answers: ReadonlyArray<(res: ServerResponse) => void>;
  readonly timeoutMs?: number;
  /** The answer, or the error's message. */
  readonly expected: string | object;
  /** The waits (ms) asked of the injected wait, which takes none of them. */
  readonly waits: readonly number[];
  readonly requests: number;
}

const LEASE_BODY = { kind: 'Lease', metadata: { name: 'status', resourceVersion: '6' }, spec: { holderIdentity: 'a' } };
const ANSWER = { kind: 'Lease', metadata: { resourceVersion: '7' } };

const retryRows: readonly RetryRow[] = [
  { name: 'a 429 with Retry-After: 1 is waited 1 s and the same request sent again', method: 'PUT', answers: [refused(429, '1'), leaseAnswer], expected: ANSWER, waits: [1_000], requests: 2 },
  { name: 'a 503 with Retry-After: 2 is waited 2 s and the same request sent again', method: 'PUT', answers: [refused(503, '2'), leaseAnswer], expected: ANSWER, waits: [2_000], requests: 2 },
  { name: 'a GET answered 429 with Retry-After: 0 is sent again at once', method: 'GET', answers: [refused(429, '0'), leaseAnswer], expected: ANSWER, waits: [0], requests: 2 },
  { name: 'refusals one after another are each waited for, up to the last answer', method: 'PUT', answers: [refused(429, '1'), refused(503, '3'), leaseAnswer], expected: ANSWER, waits: [1_000, 3_000], requests: 3 },
  { name: 'the request is sent again at most three times', method: 'PUT', answers: [refused(429, '1')], expected: `PUT ${LEASE}: HTTP 429: status 429`, waits: [1_000, 1_000, 1_000], requests: 4 },
  // What is not delta-seconds is not read (client-go reads only those too): the request fails as it did without the header.
  { name: 'a 429 with Retry-After as an HTTP-date fails at once', method: 'PUT', answers: [refused(429, 'Wed, 21 Oct 2015 07:28:00 GMT'), leaseAnswer], expected: `PUT ${LEASE}: HTTP 429: status 429`, waits: [], requests: 1 },
  { name: 'a 429 without Retry-After fails at once', method: 'PUT', answers: [refused(429), leaseAnswer], expected: `PUT ${LEASE}: HTTP 429: status 429`, waits: [], requests: 1 },
  { name: 'a 503 with Retry-After: 1.5 fails at once', method: 'PUT', answers: [refused(503, '1.5'), leaseAnswer], expected: `PUT ${LEASE}: HTTP 503: status 503`, waits: [], requests: 1 },
  { name: 'a 500 with Retry-After: 1 fails at once (only 429 and 503 are sent again)', method: 'PUT', answers: [refused(500, '1'), leaseAnswer], expected: `PUT ${LEASE}: HTTP 500: status 500`, waits: [], requests: 1 },
  { name: 'a Retry-After that would end past the deadline fails at once, without waiting', method: 'PUT', answers: [refused(429, '5'), leaseAnswer], timeoutMs: 2_000, expected: `PUT ${LEASE}: HTTP 429: status 429`, waits: [], requests: 1 },
  { name: 'a Retry-After of 400 digits fails at once', method: 'PUT', answers: [refused(503, '9'.repeat(400)), leaseAnswer], expected: `PUT ${LEASE}: HTTP 503: status 503`, waits: [], requests: 1 },
];

describe('cluster/kube-request Retry-After', () => {
  for (const row of retryRows) {
    it(row.name, async () => {
      const server = await scriptedServer(row.answers);
      try {
        const waits: number[] = [];
        const wait = async (ms: number): Promise<void> => void waits.push(ms);
        const body = row.method === 'PUT' ? LEASE_BODY : undefined;
        const started = performance.now();
        const outcome = await kubeRequest(loopbackKubeConfig(server.port), row.method, LEASE, body, row.timeoutMs, undefined, wait).catch((error: unknown) => (error instanceof Error ? error.message : error));
        expect(outcome).to.deep.equal(row.expected);
        expect(waits, 'waits (ms)').to.deep.equal(row.waits);
        expect(server.seen, 'requests: each the same').to.deep.equal(Array.from({ length: row.requests }, () => ({ method: row.method, body: body === undefined ? '' : JSON.stringify(body) })));
        expect(performance.now() - started).to.be.below(1_000);
      } finally {
        server.close();
      }
    });
  }

  it("a request sent again that then fails says it was sent again, within what was left of the deadline", async () => {
    const server = await scriptedServer([refused(429, '0'), never]);
    try {
      const wait = async (): Promise<void> => undefined;
      const outcome = await kubeRequest(loopbackKubeConfig(server.port), 'PUT', LEASE, LEASE_BODY, TIMEOUT_MS, undefined, wait).catch((error: unknown) => (error instanceof Error ? error.message : error));
      expect(outcome).to.match(/^PUT \S+: no answer in 0\.[0-9]+ s \(sent again after a Retry-After, in the rest of the request's 0\.2 s\)$/);
      expect(server.seen).to.have.length(2);
    } finally {
      server.close();
    }
  });

  it('a stop during the wait rejects at once with the stop reason', async () => {
    const server = await scriptedServer([refused(429, '20'), leaseAnswer]);
    try {
      const stop = new AbortController();
      const outcome = kubeRequest(loopbackKubeConfig(server.port), 'PUT', LEASE, LEASE_BODY, 60_000, stop.signal).catch((error: unknown) => (error instanceof Error ? error.message : error));
      for (let i = 0; i < 200 && server.seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const stoppedAt = performance.now();
      stop.abort(new Error('the Lease elector stopped'));
      expect(await outcome).to.equal('the Lease elector stopped');
      expect(performance.now() - stoppedAt).to.be.below(500);
      expect(server.seen).to.have.length(1);
    } finally {
      server.close();
    }
  });
});
