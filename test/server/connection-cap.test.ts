/**
 * The webhook port's connection cap (src/server/connection-cap.ts), on the real server in-process:
 * past the cap a connection is refused as it arrives and the kept-alive ones are closed with it,
 * while a request in progress keeps its place; refusals are counted and logged at a bounded rate.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer } from 'node:https';
import { Writable } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import type { Logger } from '../../src/server/logger.js';
import { capConnections, REFUSAL_LOG_INTERVAL_MS, type RefusalReport } from '../../src/server/connection-cap.js';
import { withServer, eventually, type TestServer } from '../helpers/server.js';

const CAP = 3;

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

/** Whether a new connection is closed before TLS is up. */
function refusedAtOnce(test: TestServer): Promise<boolean> {
  return open(test).then(
    (client) => {
      client.socket.destroy();
      return false;
    },
    () => true,
  );
}

const isClosed = (client: Client): boolean => client.socket.destroyed || client.socket.readyState === 'closed';

function logSink(): { lines: Array<Record<string, unknown>>; logger: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ base: undefined, timestamp: false }, sink) };
}

async function refusedCount(test: TestServer): Promise<number> {
  const value = await test.server.metrics.connectionsRefused.get();
  return value.values[0]?.value ?? 0;
}

describe('server: the connection cap', function () {
  this.timeout(30_000);

  it('refuses a connection past the cap and closes the kept-alive ones with it; the next one is served', async () => {
    const { lines, logger } = logSink();
    await withServer({ maxConnections: CAP, logger }, async (test) => {
      const idle: Client[] = [];
      try {
        for (let i = 0; i < CAP; i++) {
          const client = await open(test);
          idle.push(client);
          await answered(client);
        }
        expect(await refusedAtOnce(test), 'the connection past the cap').to.equal(true);
        await eventually(async () => idle.every(isClosed));
        expect(await refusedCount(test)).to.equal(1);

        const next = await open(test);
        idle.push(next);
        await answered(next);
      } finally {
        for (const client of idle) client.socket.destroy();
      }
    });
    expect(lines.filter((line) => line.msg?.toString().startsWith('connections refused')).map(({ level, refused, maxConnections }) => ({ level, refused, maxConnections }))).to.deep.equal([
      { level: 40, refused: 1, maxConnections: CAP },
    ]);
  });

  it('keeps a connection whose request is in progress, which is then answered', async () => {
    await withServer({ maxConnections: CAP }, async (test) => {
      const clients: Client[] = [];
      try {
        const busy = await open(test);
        clients.push(busy);
        const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
        busy.socket.write(`POST /validate HTTP/1.1\r\nHost: mountgate\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
        for (let i = 1; i < CAP; i++) {
          const client = await open(test);
          clients.push(client);
          await answered(client);
        }
        expect(await refusedAtOnce(test), 'the connection past the cap').to.equal(true);
        await eventually(async () => clients.slice(1).every(isClosed));
        expect(isClosed(busy), 'the connection with a request in progress').to.equal(false);
        busy.socket.write(body.slice(10));
        await eventually(async () => busy.received.startsWith('HTTP/1.1 '));
        expect(busy.received.slice(0, 12)).to.equal('HTTP/1.1 400');
      } finally {
        for (const client of clients) client.socket.destroy();
      }
    });
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
        const server = createServer();
        let time = 0;
        let counted = 0;
        const reports: RefusalReport[] = [];
        capConnections(server, 5, () => counted++, (report) => reports.push(report), () => time);
        expect(server.maxConnections).to.equal(5);
        for (const at of row.at) {
          time = at;
          server.emit('drop');
        }
        expect(counted, 'every refusal is counted').to.equal(row.at.length);
        expect(reports).to.deep.equal(row.reports);
      });
    }
  });
});
