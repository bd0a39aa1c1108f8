/**
 * The contract's "the server keeps idle connections for at least 90 s": the
 * API server reuses its connections, and one closed under it costs a request
 * a failed attempt. One TLS connection answers a request, stays idle for 95 s,
 * and answers another, never closed in between.
 */
import { expect } from 'chai';
import { connect, type TLSSocket } from 'node:tls';
import { withServer } from '../helpers/server.js';

const IDLE_MS = 95_000;
const REQUEST = 'GET /healthz HTTP/1.1\r\nHost: mountgate\r\n\r\n';

/** Writes one request and resolves with the status line of its answer, read up to the end of its body ("ok\n"). */
function exchange(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (!text.endsWith('\r\n\r\nok\n')) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(text.split('\r\n')[0] ?? '');
    };
    const onClose = (): void => reject(new Error(`the connection closed before the answer (read so far: ${JSON.stringify(text)})`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(REQUEST);
  });
}

describe('stress: idle keep-alive connections', function () {
  this.timeout(IDLE_MS + 60_000);

  it('keeps a connection idle for 95 s and answers on it again', async () => {
    await withServer({}, async (test) => {
      const socket = connect({ host: '127.0.0.1', port: test.server.port, ca: test.pki.caCert });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('secureConnect', resolve);
          socket.once('error', reject);
        });
        let closedAt: number | undefined;
        socket.once('close', () => (closedAt = Date.now()));
        const start = Date.now();
        expect(await exchange(socket)).to.equal('HTTP/1.1 200 OK');
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        expect(closedAt === undefined ? 'open' : `closed after ${closedAt - start} ms`).to.equal('open');
        expect(await exchange(socket)).to.equal('HTTP/1.1 200 OK');
      } finally {
        socket.destroy();
      }
    });
  });
});
