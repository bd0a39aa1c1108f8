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
