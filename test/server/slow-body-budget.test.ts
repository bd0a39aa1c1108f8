/**
 * The body budget (src/server/body-budget.ts) on the real server in-process: bodies that are still coming a
 * while after their headers cannot keep the API server's reviews out. Declaring 256 KiB and sending a byte
 * now and then is enough to hold a place in the pool of small bodies until the request timeout, and 128 such
 * connections, far below the connection cap, fill it.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';
import { DEFAULT_POOL_BYTES, SMALL_BODY_BYTES } from '../../src/server/body-budget.js';
import { SLOW_BODY_GRACE_MS } from '../../src/server/connection-cap.js';
import { review, sandboxPod } from '../helpers/pods.js';
import { withServer, type TestServer } from '../helpers/server.js';
import { httpsCall } from '../helpers/tls.js';

/** A POST /mutate that declares `length` bytes and sends one. */
async function startSlowBody(test: TestServer, length: number): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port: test.server.port, ca: test.pki.caCert, servername: 'localhost' });
  socket.on('error', () => undefined);
  await once(socket, 'secureConnect');
  socket.write(['POST /mutate HTTP/1.1', 'Host: mountgate', 'Content-Type: application/json', `Content-Length: ${length}`, '', '{'].join('\r\n'));
  return socket;
}

describe('server: bodies still coming long after their headers', function () {
  this.timeout(30_000);

  it('make room for a review when the pool of small bodies is full', async () => {
    await withServer({ maxConnections: 1024 }, async (test) => {
      const slow: TLSSocket[] = [];
      try {
        for (let i = 0; i < DEFAULT_POOL_BYTES / SMALL_BODY_BYTES; i++) slow.push(await startSlowBody(test, SMALL_BODY_BYTES));
        await new Promise((resolve) => setTimeout(resolve, SLOW_BODY_GRACE_MS + 200));
        const body = JSON.stringify(review(sandboxPod()));
        const answer = await httpsCall({ port: test.server.port, path: '/mutate', ca: test.pki.caCert, body });
        expect(answer.status, answer.text).to.equal(200);
        expect(slow.filter((socket) => socket.destroyed || socket.readableEnded).length, 'slow bodies cut').to.be.at.least(1);
      } finally {
        for (const socket of slow) socket.destroy();
      }
    });
  });
});
