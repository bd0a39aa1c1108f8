/**
 * The webhook port's connection cap (src/server/connection-cap.ts), on the real server in-process:
 * past the cap the connection longest without a request makes room (kept alive after an answer, or
 * silent past a grace); when none can, the new connection is refused once TLS is up;
 * connections still before TLS do not count; refusals are counted and logged at a bounded rate.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, type TLSSocket } from 'node:tls';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { capConnections, IDLE_GRACE_MS, RefusalLog, REFUSAL_LOG_INTERVAL_MS, SILENT_GRACE_MS, SLOW_BODY_GRACE_MS, type RefusalReport } from '../../src/server/connection-cap.js';
import { MAX_BODY_BYTES } from '../../src/server/app.js';
import { generateDevMaterial, secureContextOptions } from '../../src/server/tls-material.js';
import { logSink } from '../helpers/log-sink.js';
import { withServer, eventually, type TestServer, type TestServerOptions } from '../helpers/server.js';

const CAP = 3;

// For the retention row: a gc() to call from a fresh context.
setFlagsFromString('--expose-gc');

interface Client {
  readonly socket: TLSSocket;
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>;
  received: string;
}

/** A TLS connection to the webhook port; resolves once TLS is up, or rejects when the server closes it first. */
async function open(test: TestServer): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port: test.server.port, ca: test.pki.caCert, servername: 'localhost' });
  const client: Client = { socket, closed: once(socket, 'close').then(() => undefined), received: '' };
  socket.on('data', (chunk: Buffer) => {
    client.received += chunk.toString();
  });
  socket.on('error', () => undefined);
  await Promise.race([
    once(socket, 'secureConnect'),
    client.closed.then(() => {
      throw new Error('closed before TLS was up');
    }),
  ]);
  return client;
}

/** Sends a GET /healthz and waits for its answer: the connection is then kept alive, idle. */
async function answered(client: Client): Promise<void> {
  client.socket.write('GET /healthz HTTP/1.1\r\nHost: mountgate\r\n\r\n');
  await eventually(async () => client.received.endsWith('\r\n\r\nok\n'), 5_000);
  expect(client.received.slice(0, 12)).to.equal('HTTP/1.1 200');
}

/** Whether a new connection is closed once TLS is up, before it can send a request. */
async function refusedAfterTls(test: TestServer): Promise<boolean> {
  const client = await open(test);
  try {
    await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    return isClosed(client) && client.received === '';
  } finally {
    client.socket.destroy();
  }
}

/** The server with `options`, and a list of clients that are all closed at the end, whatever happens. */
async function withClients(options: TestServerOptions, body: (test: TestServer, clients: Client[]) => Promise<void>): Promise<void> {
  await withServer(options, async (test) => {
    const clients: Client[] = [];
    try {
      await body(test, clients);
    } finally {
      for (const client of clients) client.socket.destroy();
    }
  });
}

const fail = (message: string): never => {
  throw new Error(message);
};

const isClosedSocket = (socket: TLSSocket): boolean => socket.destroyed || socket.readyState === 'closed';
const isClosed = (client: Client): boolean => isClosedSocket(client.socket);

async function refusedCount(test: TestServer): Promise<number> {
  const value = await test.server.metrics.connectionsRefused.get();
  return value.values[0]?.value ?? 0;
}

describe('server: the connection cap', function () {
  this.timeout(30_000);

  it('past the cap, the kept-alive connection longest without a request makes room, one per new connection', async () => {
    await withClients({ maxConnections: CAP }, async (test, clients) => {
      for (let i = 0; i < CAP; i++) {
        const client = await open(test);
        clients.push(client);
        await answered(client);
      }
      await new Promise((resolve) => setTimeout(resolve, IDLE_GRACE_MS + 100));
      // The first is used again: the second is now the longest without a request, and the first is too recent to make room.
      await answered(clients[0] ?? fail('no client'));
      const fourth = await open(test);
      clients.push(fourth);
      await answered(fourth);
      await eventually(async () => isClosed(clients[1] ?? fail('no client')));
      expect(clients.map(isClosed), 'closed: only the second').to.deep.equal([false, true, false, false]);
      await new Promise((resolve) => setTimeout(resolve, IDLE_GRACE_MS + 100));
      const fifth = await open(test);
      clients.push(fifth);
      await answered(fifth);
      await eventually(async () => isClosed(clients[2] ?? fail('no client')));
      expect(clients.map(isClosed), 'closed: the second, then the third').to.deep.equal([false, true, true, false, false]);
      expect(await refusedCount(test)).to.equal(0);
    });
  });

  it('a connection silent since its handshake makes room once SILENT_GRACE_MS have passed, not before', async () => {
    await withClients({ maxConnections: CAP }, async (test, clients) => {
      for (let i = 0; i < CAP; i++) clients.push(await open(test));
      expect(await refusedAfterTls(test), 'a connection past the cap while the silent ones are fresh').to.equal(true);
      await new Promise((resolve) => setTimeout(resolve, SILENT_GRACE_MS + 100));
      const next = await open(test);
      clients.push(next);
      await answered(next);
      expect(clients.filter(isClosed), 'silent connections closed to make room').to.have.length(1);
      expect(isClosed(clients[0] ?? fail('no client')), 'the oldest').to.equal(true);
      expect(await refusedCount(test)).to.equal(1);
    });
  });

  it('a connection that behaves as no real caller does makes room before a kept-alive one: silent since its handshake, or slow with its body', async () => {
    await withClients({ maxConnections: CAP + 1 }, async (test, clients) => {
      const keptAlive = await open(test);
      clients.push(keptAlive);
      await answered(keptAlive);
      const slow = await open(test);
      clients.push(slow);
      slow.socket.write('POST /validate HTTP/1.1\r\nHost: mountgate\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"apiVersion"');
      const silent = await open(test);
      clients.push(silent);
      await new Promise((resolve) => setTimeout(resolve, SLOW_BODY_GRACE_MS + 100));
      const recent = await open(test);
      clients.push(recent);
      await answered(recent);
      // Full: the slow one (its headers came before the silent one's handshake) goes first, then the silent one, then the kept-alive one.
      for (const expected of [[false, true, false, false, false], [false, true, true, false, false, false], [true, true, true, false, false, false, false]]) {
        const next = await open(test);
        clients.push(next);
        await answered(next);
        await eventually(async () => clients.filter(isClosed).length === expected.filter(Boolean).length);
        expect(clients.map(isClosed)).to.deep.equal(expected);
      }
      expect(await refusedCount(test)).to.equal(0);
    });
  });

  it('a connection answered less than IDLE_GRACE_MS ago keeps its place: the new one is refused instead', async () => {
    await withClients({ maxConnections: CAP }, async (test, clients) => {
      for (let i = 0; i < CAP; i++) {
        const client = await open(test);
        clients.push(client);
        await answered(client);
      }
      expect(await refusedAfterTls(test), 'the connection past the cap').to.equal(true);
      expect(clients.map(isClosed)).to.deep.equal(clients.map(() => false));
      expect(await refusedCount(test)).to.equal(1);
    });
  });

  it('refuses the new connection when none may make room: a request in progress and fresh connections keep their place', async () => {
    const { lines, logger } = logSink();
    await withClients({ maxConnections: CAP, logger }, async (test, clients) => {
      const busy = await open(test);
      clients.push(busy);
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
      busy.socket.write(`POST /validate HTTP/1.1\r\nHost: mountgate\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
      // All within SILENT_GRACE_MS and SLOW_BODY_GRACE_MS.
      for (let i = 1; i < CAP; i++) clients.push(await open(test));
      expect(await refusedAfterTls(test), 'the connection past the cap').to.equal(true);
      expect(clients.map(isClosed), 'the connections that held their place').to.deep.equal(clients.map(() => false));
      expect(await refusedCount(test)).to.equal(1);
      busy.socket.write(body.slice(10));
      await eventually(async () => busy.received.startsWith('HTTP/1.1 '));
      expect(busy.received.slice(0, 12)).to.equal('HTTP/1.1 400');
      await answered(clients[1] ?? fail('no client'));
    });
    expect(lines.filter((line) => line.msg?.toString().startsWith('connections refused')).map(({ level, refused, maxConnections }) => ({ level, refused, maxConnections }))).to.deep.equal([
      { level: 40, refused: 1, maxConnections: CAP },
    ]);
  });

  it('a connection whose answer went out less than IDLE_GRACE_MS ago keeps its place, however long its request took', async () => {
    await withServer({ maxConnections: 2 }, async (test) => {
      const clients: Client[] = [];
      const other = await open(test);
      clients.push(other);
      // Never without a request for IDLE_GRACE_MS: it may not make room.
      const keepBusy = setInterval(() => other.socket.write('GET /healthz HTTP/1.1\r\nHost: mountgate\r\n\r\n'), 300);
      try {
        // A body over 1.3 s: its headers came more than IDLE_GRACE_MS before its answer.
        const slowButDone = await open(test);
        clients.push(slowButDone);
        const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', padding: 'x'.repeat(100) });
        slowButDone.socket.write(`POST /validate HTTP/1.1\r\nHost: mountgate\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        for (let i = 0; i < 13; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          slowButDone.socket.write(body.slice(i * 10, (i + 1) * 10));
        }
        slowButDone.socket.write(body.slice(130));
        await eventually(async () => slowButDone.received.startsWith('HTTP/1.1 400'));
        expect(await refusedAfterTls(test), 'the newcomer, as the one answered just now keeps its place').to.equal(true);
        expect(clients.map(isClosed)).to.deep.equal([false, false]);
      } finally {
        clearInterval(keepBusy);
        for (const client of clients) client.socket.destroy();
      }
    });
  });

  it('keeps nothing of a request once it is answered: answered kept-alive connections hold no bodies', async () => {
    // express.json parses these (the charset), so an answered request kept alive would hold a parsed 3 MiB array.
    const body = `[${Array.from({ length: Math.floor((MAX_BODY_BYTES - 2) / 3) }, () => '{}').join(',')}]`;
    const gc = runInNewContext('gc') as () => void;
    const retained = async (): Promise<number> => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.external;
    };
    await withClients({}, async (test, clients) => {
      const before = await retained();
      for (let i = 0; i < 4; i++) {
        const client = await open(test);
        clients.push(client);
        client.socket.write(`POST /validate HTTP/1.1\r\nHost: mountgate\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        await eventually(async () => client.received.includes('\r\n\r\n'), 20_000);
      }
      const held = (await retained()) - before;
      // Each parsed array takes some 60 MiB; what is left is buffers and caches.
      expect(held / (1024 * 1024), 'MiB held by four answered, idle connections').to.be.below(10);
    });
  });

  it('does not count connections still before their TLS handshake: a flood of bare TCP connections keeps no one out', async () => {
    await withServer({ maxConnections: CAP }, async (test) => {
      const bare: Socket[] = [];
      const clients: Client[] = [];
      try {
        for (let i = 0; i < 5 * CAP; i++) {
          const socket = createConnection({ host: '127.0.0.1', port: test.server.port });
          socket.on('error', () => undefined);
          bare.push(socket);
          await once(socket, 'connect');
        }
        for (let i = 0; i < CAP; i++) {
          const client = await open(test);
          clients.push(client);
          await answered(client);
        }
        expect(await refusedCount(test)).to.equal(0);
      } finally {
        for (const socket of bare) socket.destroy();
        for (const client of clients) client.socket.destroy();
      }
    });
  });

  it('a request whose body is all in keeps its place while its answer is still being worked out, however long that takes', async () => {
    // The decision, not the client, is slow here: the server holds the answer until the test lets it go.
    const held: ServerResponse[] = [];
    const server = createHttpsServer(secureContextOptions(await generateDevMaterial()), (req, res) => {
      req.resume();
      req.once('end', () => held.push(res));
    });
    let refused = 0;
    capConnections(server, 1, () => refused++, () => undefined);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const sockets: TLSSocket[] = [];
    const openRaw = async (): Promise<{ socket: TLSSocket; closed: Promise<void>; received: () => string }> => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      sockets.push(socket);
      socket.on('error', () => undefined);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const closed = once(socket, 'close').then(() => undefined);
      // The newcomer may be closed before its client sees the handshake end: that is a refusal too.
      await Promise.race([once(socket, 'secureConnect'), closed]);
      return { socket, closed, received: () => text };
    };
    try {
      const waiting = await openRaw();
      waiting.socket.write('POST /validate HTTP/1.1\r\nHost: mountgate\r\nContent-Length: 2\r\n\r\n{}');
      await eventually(async () => held.length === 1);
      await new Promise((resolve) => setTimeout(resolve, SLOW_BODY_GRACE_MS + 200));
      const newcomer = await openRaw();
      await Promise.race([newcomer.closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      expect([isClosedSocket(newcomer.socket), isClosedSocket(waiting.socket), refused], 'newcomer closed, the waiting one open, refusals').to.deep.equal([true, false, 1]);
      held[0]?.end('judged');
      await eventually(async () => waiting.received().endsWith('\r\n\r\njudged'));
      expect(waiting.received().slice(0, 15)).to.equal('HTTP/1.1 200 OK');
    } finally {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

  describe('the refusal log', () => {
    interface Row {
      readonly name: string;
      /** When each refusal comes, in ms. */
      readonly at: readonly number[];
      readonly reports: readonly RefusalReport[];
    }
    const I = REFUSAL_LOG_INTERVAL_MS;
    const rows: readonly Row[] = [
      { name: 'reports the first refusal at once', at: [0], reports: [{ refused: 1, maxConnections: 5 }] },
      { name: 'holds the refusals within an interval for the next report, which counts them', at: [0, 1, 2, I - 1, I], reports: [{ refused: 1, maxConnections: 5 }, { refused: 4, maxConnections: 5 }] },
      { name: 'reports refusals an interval apart one by one', at: [0, I, 2 * I], reports: [1, 1, 1].map((refused) => ({ refused, maxConnections: 5 })) },
    ];
    for (const row of rows) {
      it(row.name, () => {
        let time = 0;
        const reports: RefusalReport[] = [];
        const log = new RefusalLog(5, (report) => reports.push(report), () => time);
        for (const at of row.at) {
          time = at;
          log.refused();
        }
        expect(reports).to.deep.equal(row.reports);
      });
    }
  });
});
