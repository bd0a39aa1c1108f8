/**
 * Requests to the API server share kept-alive connections (src/cluster/kept-alive.ts): against a
 * loopback HTTPS server that counts its TLS connections and reads each one's client certificate.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { apiRequest, readAnswer } from '../../src/cluster/api-request.js';
import { IDLE_CONNECTION_MS, keptAliveAgent } from '../../src/cluster/kept-alive.js';
import { kubeRequest } from '../../src/cluster/kube-request.js';
import { loopbackKubeConfig } from '../helpers/loopback-kubeconfig.js';
import { createCa, issueServingPair, type ServingPair, type TestPki } from '../helpers/tls.js';

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/mg/leases/status';

interface FakeApiServer {
  readonly port: number;
  /** TLS connections accepted so far. */
  connections(): number;
  /** The fingerprint of the client certificate each request came with, in order. */
  readonly clientCertificates: string[];
  close(): Promise<void>;
}

/** `drop(n)` says whether to cut the connection instead of answering its n-th request (from 1). */
async function fakeApiServer(pki: TestPki, drop: (requestOnConnection: number) => boolean = () => false): Promise<FakeApiServer> {
  const serving = await issueServingPair(pki);
  let connections = 0;
  const clientCertificates: string[] = [];
  const served = new WeakMap<object, number>();
  const server = https.createServer({ cert: serving.cert, key: serving.key, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    req.resume();
    const count = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, count);
    if (drop(count)) {
      req.socket.destroy();
      return;
    }
    const socket = req.socket;
    clientCertificates.push(socket instanceof TLSSocket ? (socket.getPeerX509Certificate()?.fingerprint256 ?? 'none') : 'plain');
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"Lease"}');
  });
  server.on('secureConnection', () => (connections += 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    clientCertificates,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A kubeconfig that trusts the test CA and presents the client certificate in `certDir`. */
function kubeConfigFor(port: number, pki: TestPki, certDir: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caData: Buffer.from(pki.caCert).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', certFile: path.join(certDir, 'client.crt'), keyFile: path.join(certDir, 'client.key') }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

async function writeClientPair(certDir: string, pair: ServingPair): Promise<string> {
  await writeFile(path.join(certDir, 'client.crt'), pair.cert);
  await writeFile(path.join(certDir, 'client.key'), pair.key);
  return new X509Certificate(pair.cert).fingerprint256;
}

/** The code of the error `request` fails with (ECONNRESET, ...), or "answered". */
function errorCodeOf(request: Promise<unknown>): Promise<unknown> {
  return request.then(
    () => 'answered',
    (error: unknown) => (error instanceof Error && 'code' in error ? error.code : error),
  );
}

describe('cluster/kept-alive', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let certDir = '';
  let firstClient = '';
  let secondClient: ServingPair;

  before(async () => {
    pki = await createCa();
    certDir = await mkdtemp(path.join(tmpdir(), 'mountgate-kept-alive-'));
    firstClient = await writeClientPair(certDir, await issueServingPair(pki, 'client-one'));
    secondClient = await issueServingPair(pki, 'client-two');
  });
  after(async () => {
    await rm(certDir, { recursive: true, force: true });
  });

  it('sends one KubeConfig requests over one TLS connection, with its client certificate', async () => {
    const server = await fakeApiServer(pki);
    try {
      const config = kubeConfigFor(server.port, pki, certDir);
      for (let i = 0; i < 4; i++) expect(await kubeRequest(config, 'PUT', LEASE, { kind: 'Lease' })).to.deep.equal({ kind: 'Lease' });
      expect(server.connections()).to.equal(1);
      expect(server.clientCertificates).to.deep.equal([firstClient, firstClient, firstClient, firstClient]);
    } finally {
      await server.close();
    }
  });

  it('gives a rotated client certificate a connection of its own', async () => {
    const server = await fakeApiServer(pki);
    const rotatedDir = await mkdtemp(path.join(tmpdir(), 'mountgate-kept-alive-rotated-'));
    try {
      const before = await writeClientPair(rotatedDir, await issueServingPair(pki, 'client-before'));
      const config = kubeConfigFor(server.port, pki, rotatedDir);
      await kubeRequest(config, 'PUT', LEASE, { kind: 'Lease' });
      const after = await writeClientPair(rotatedDir, secondClient);
      await kubeRequest(config, 'PUT', LEASE, { kind: 'Lease' });
      await kubeRequest(config, 'PUT', LEASE, { kind: 'Lease' });
      expect(server.clientCertificates).to.deep.equal([before, after, after]);
      expect(server.connections()).to.equal(2);
    } finally {
      await server.close();
      await rm(rotatedDir, { recursive: true, force: true });
    }
  });

  it('sends a GET again when the server has cut the idle connection it was given', async () => {
    const server = await fakeApiServer(pki, (requestOnConnection) => requestOnConnection === 2);
    try {
      const config = kubeConfigFor(server.port, pki, certDir);
      await kubeRequest(config, 'GET', LEASE);
      expect(await kubeRequest(config, 'GET', LEASE)).to.deep.equal({ kind: 'Lease' });
      expect(server.connections()).to.equal(2);
      expect(server.clientCertificates).to.have.length(2);
    } finally {
      await server.close();
    }
  });

  it('does not send a write again when its reused connection is cut: the server may have acted on it', async () => {
    const server = await fakeApiServer(pki, (requestOnConnection) => requestOnConnection === 2);
    try {
      const config = kubeConfigFor(server.port, pki, certDir);
      await kubeRequest(config, 'PUT', LEASE, { kind: 'Lease' });
      expect(await errorCodeOf(kubeRequest(config, 'PUT', LEASE, { kind: 'Lease' }))).to.equal('ECONNRESET');
      expect(server.connections()).to.equal(1);
    } finally {
      await server.close();
    }
  });

  it('names the connection step when a GET sent again gets a new connection that never completes', async () => {
    const server = await fakeApiServer(pki, (requestOnConnection) => requestOnConnection === 2);
    // In front of the server: the first connection is passed through, later ones are accepted and never answered.
    let accepted = 0;
    const held: Socket[] = [];
    const front = createNetServer((client) => {
      accepted += 1;
      if (accepted > 1) {
        held.push(client);
        return;
      }
      const upstream = connect(server.port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    try {
      const port = (front.address() as AddressInfo).port;
      const config = kubeConfigFor(port, pki, certDir);
      await kubeRequest(config, 'GET', LEASE, undefined, 1_000);
      const outcome = await kubeRequest(config, 'GET', LEASE, undefined, 1_000).then(
        () => 'answered',
        (error: unknown) => (error instanceof Error ? error.message : error),
      );
      expect(outcome).to.equal(`GET ${LEASE}: no connection to 127.0.0.1:${port} in 1 s`);
      expect(accepted).to.equal(2);
    } finally {
      for (const socket of held) socket.destroy();
      front.close();
      await server.close();
    }
  });

  it('does not send a request again when a new connection is cut', async () => {
    const server = await fakeApiServer(pki, () => true);
    try {
      const config = kubeConfigFor(server.port, pki, certDir);
      expect(await errorCodeOf(kubeRequest(config, 'PUT', LEASE, { kind: 'Lease' }))).to.equal('ECONNRESET');
      expect(server.connections()).to.equal(1);
    } finally {
      await server.close();
    }
  });

  describe('keptAliveAgent', () => {
    interface Row {
      readonly name: string;
      readonly given: () => http.Agent | boolean | undefined;
      /** 'kept' for the config's kept-alive agent of that protocol, 'given' for what was given. */
      readonly expected: { readonly kind: 'kept'; readonly protocol: 'http' | 'https' } | { readonly kind: 'given' };
    }
    class ProxyAgent extends https.Agent {}
    const rows: readonly Row[] = [
      { name: 'a plain https.Agent becomes the kept-alive one', given: () => new https.Agent(), expected: { kind: 'kept', protocol: 'https' } },
      { name: 'a plain http.Agent becomes the kept-alive one', given: () => new http.Agent(), expected: { kind: 'kept', protocol: 'http' } },
      { name: "a proxy's agent (a subclass) is left alone", given: () => new ProxyAgent(), expected: { kind: 'given' } },
      { name: 'no agent stays none', given: () => undefined, expected: { kind: 'given' } },
      { name: 'agent: false stays false', given: () => false, expected: { kind: 'given' } },
    ];
    for (const row of rows) {
      it(row.name, () => {
        const config = {};
        const given = row.given();
        const chosen = keptAliveAgent(config, given);
        if (row.expected.kind === 'given') {
          expect(chosen).to.equal(given);
          return;
        }
        expect(chosen).to.not.equal(given);
        expect(chosen).to.be.instanceOf(row.expected.protocol === 'https' ? https.Agent : http.Agent);
        expect(chosen).to.equal(keptAliveAgent(config, row.given()), 'the same agent for every request of one config');
        expect(chosen).to.not.equal(keptAliveAgent({}, row.given()), 'another config gets its own');
        const options = (chosen as http.Agent & { options: { keepAlive?: boolean; timeout?: number } }).options;
        expect([options.keepAlive, options.timeout]).to.deep.equal([true, IDLE_CONNECTION_MS]);
      });
    }
  });

  describe('a GET whose answer had begun when its reused connection was reset', () => {
    // The server has acted on it and was answering: sending it again would open a request whose answer nobody reads.
    interface ResetRow {
      readonly name: string;
      /** What the server sends on the reused connection before it resets it. */
      readonly before: (res: http.ServerResponse) => void;
    }
    const resetRows: readonly ResetRow[] = [
      { name: 'a watch reset after its headers is not sent again', before: (res) => res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders() },
      {
        name: 'a list page reset halfway through its body is not sent again',
        before: (res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write('{"kind":"ThingList","items":[');
        },
      },
    ];
    for (const row of resetRows) {
      it(row.name, async () => {
        let requests = 0;
        const server = http.createServer((req, res) => {
          requests += 1;
          if (requests === 1) {
            res.end('{"kind":"ThingList","metadata":{"resourceVersion":"1"},"items":[]}');
            return;
          }
          row.before(res);
          if (requests === 2) setTimeout(() => req.socket.resetAndDestroy(), 50);
        });
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        try {
          const config = loopbackKubeConfig((server.address() as AddressInfo).port);
          const get = (): Promise<string> =>
            apiRequest(config, { method: 'GET', pathAndQuery: '/apis/example.com/v1/things', headers: {}, timeoutMs: 2_000 }, (answer, target) => readAnswer(answer, target, 1024 * 1024));
          await get();
          expect(await errorCodeOf(get())).to.equal('ECONNRESET');
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(requests, 'requests the server got').to.equal(2);
        } finally {
          server.closeAllConnections();
          server.close();
        }
      });
    }
  });
});
