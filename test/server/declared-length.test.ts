/**
 * A request that declares a body over the limit is answered 413 at once, before
 * a byte of the body is read; body-parser would read (and drop) the whole body
 * first, however long it is. With "Expect: 100-continue" only a body within the
 * limit is invited. A chunked body is answered once it passes the limit. The
 * rest is read and dropped for a bounded while (so a client still sending gets
 * the answer rather than a reset), then the connection is cut. So is the rest of
 * a body refused for its type, charset or encoding, which body-parser would
 * leave unread or read to its end.
 */
import { expect } from 'chai';
import { connect } from 'node:tls';
import { LINGER_BYTES, LINGER_MS, MAX_BODY_BYTES } from '../../src/server/app.js';
import { review, sandboxPod } from '../helpers/pods.js';
import { withServer } from '../helpers/server.js';

interface Exchange {
  /** Everything the server sent until it closed the connection, or until the wait ended. */
  readonly text: string;
  readonly closed: boolean;
}

/** Sends `head` (and `body`, if any, once the server says 100 Continue or at once), then reads for at most `waitMs`. */
function exchange(port: number, ca: string, head: string, body: string | undefined, waitOnContinue: boolean, waitMs: number): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    socket.on('secureConnect', () => {
      socket.write(head);
      if (body !== undefined && !waitOnContinue) socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (body !== undefined && waitOnContinue && text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && text.length === 'HTTP/1.1 100 Continue\r\n\r\n'.length) socket.write(body);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const headOf = (length: number, expectContinue: boolean, close = false): string =>
  [`POST /mutate HTTP/1.1`, 'Host: localhost', 'Content-Type: application/json', `Content-Length: ${length}`, ...(expectContinue ? ['Expect: 100-continue'] : []), ...(close ? ['Connection: close'] : []), '', ''].join('\r\n');

describe('server: a body declared over the limit', () => {
  const tooLong = MAX_BODY_BYTES + 1;
  const rows: ReadonlyArray<{ name: string; length: number; expectContinue: boolean }> = [
    { name: 'the limit plus one, no body sent', length: tooLong, expectContinue: false },
    { name: '100 GB declared, no body sent', length: 100 * 1024 ** 3, expectContinue: false },
    { name: 'over the limit with Expect: 100-continue: no 100 Continue', length: tooLong, expectContinue: true },
  ];
  for (const row of rows) {
    it(`${row.name}: 413 at once, and the connection is cut once the wait for the rest ends`, async () => {
      await withServer({}, async (test) => {
        const answer = await exchange(test.server.port, test.pki.caCert, headOf(row.length, row.expectContinue), undefined, false, LINGER_MS + 1_000);
        expect(answer.text.split('\r\n')[0]).to.equal('HTTP/1.1 413 Payload Too Large');
        expect(answer.text).to.include(`"error":"the body is larger than ${MAX_BODY_BYTES} bytes"`);
        expect(answer.closed, 'closed by the server').to.equal(true);
      });
    });
  }

  it('a body within the limit with Expect: 100-continue is invited and judged', async () => {
    await withServer({}, async (test) => {
      const body = JSON.stringify(review(sandboxPod()));
      const answer = await exchange(test.server.port, test.pki.caCert, headOf(Buffer.byteLength(body), true, true), body, true, 3_000);
      expect(answer.text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), answer.text.slice(0, 80)).to.equal(true);
      const rest = answer.text;
      expect(rest).to.include('"allowed":true');
    });
  });

  // Node joins a repeated Expect into "100-continue, 100-continue" and still holds the body back for the server
  // to invite: left uninvited, the client waits until the request timeout.
  it('a body within the limit with Expect: 100-continue given twice is invited and judged', async () => {
    await withServer({}, async (test) => {
      const body = JSON.stringify(review(sandboxPod()));
      const head = headOf(Buffer.byteLength(body), true, true).replace('Expect: 100-continue\r\n', 'Expect: 100-continue\r\nExpect: 100-continue\r\n');
      const answer = await exchange(test.server.port, test.pki.caCert, head, body, true, 3_000);
      expect(answer.text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), answer.text.slice(0, 80)).to.equal(true);
      expect(answer.text).to.include('"allowed":true');
    });
  });

  // A body body-parser reads (any JSON spelling but the plain one) is invited only once its type and charset pass.
  const invitedOrNot: ReadonlyArray<{ name: string; contentType: string; status: string; error: string }> = [
    { name: 'not JSON (text/plain)', contentType: 'text/plain', status: 'HTTP/1.1 400 Bad Request', error: '"error":"expected a JSON AdmissionReview with Content-Type: application/json"' },
    { name: 'a charset body-parser does not read (latin1)', contentType: 'application/json; charset=latin1', status: 'HTTP/1.1 415 Unsupported Media Type', error: '"error":"unsupported charset \\"LATIN1\\""' },
  ];
  for (const row of invitedOrNot) {
    it(`Expect: 100-continue with a body refused for its type, ${row.name}: answered at once, no 100 Continue`, async () => {
      await withServer({}, async (test) => {
        const head = headOf(1024, true).replace('Content-Type: application/json', `Content-Type: ${row.contentType}`);
        const answer = await exchange(test.server.port, test.pki.caCert, head, undefined, false, LINGER_MS + 1_000);
        expect(answer.text.split('\r\n')[0]).to.equal(row.status);
        expect(answer.text).to.include(row.error);
        expect(answer.closed, 'closed by the server').to.equal(true);
      });
    });
  }

  it('a body within the limit with Expect: 100-continue and a JSON type body-parser reads (charset=utf-8) is invited and judged', async () => {
    await withServer({}, async (test) => {
      const body = JSON.stringify(review(sandboxPod()));
      const head = headOf(Buffer.byteLength(body), true, true).replace('Content-Type: application/json', 'Content-Type: application/json; charset=utf-8');
      const answer = await exchange(test.server.port, test.pki.caCert, head, body, true, 3_000);
      expect(answer.text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), answer.text.slice(0, 80)).to.equal(true);
      expect(answer.text).to.include('"allowed":true');
    });
  });

  // RFC 9110 section 10.1.1: an HTTP/1.0 client cannot read an interim answer; it would take "100 Continue" for the answer.
  it('a body sent over HTTP/1.0 with Expect: 100-continue is judged without a 100 Continue', async () => {
    await withServer({}, async (test) => {
      const body = JSON.stringify(review(sandboxPod()));
      const head = headOf(Buffer.byteLength(body), true).replace('HTTP/1.1', 'HTTP/1.0');
      const answer = await exchange(test.server.port, test.pki.caCert, head, body, false, 3_000);
      expect(answer.text.split('\r\n')[0]).to.equal('HTTP/1.1 200 OK');
      expect(answer.text).to.include('"allowed":true');
    });
  });

  // Section 3: a body *over* 3 MiB is refused; one of exactly 3 MiB is judged, whichever way the edge reads it
  // (the API server's plain type directly, any other spelling through body-parser).
  for (const contentType of ['application/json', 'application/json;charset=utf-8']) {
    it(`a body of exactly the limit (Content-Type: ${contentType}) is judged, not refused`, async () => {
      await withServer({}, async (test) => {
        const json = JSON.stringify(review(sandboxPod()));
        const body = json + ' '.repeat(MAX_BODY_BYTES - Buffer.byteLength(json));
        const head = headOf(MAX_BODY_BYTES, false, true).replace('Content-Type: application/json', `Content-Type: ${contentType}`);
        const answer = await exchange(test.server.port, test.pki.caCert, head, body, false, 10_000);
        expect(answer.text.split('\r\n')[0]).to.equal('HTTP/1.1 200 OK');
        expect(answer.text).to.include('"allowed":true');
      });
    });
  }
});

/** Streams a body of up to `maxBytes` (64 KiB chunks, with backpressure), chunked or with a declared length, until the server closes the connection. */
function streamChunked(
  port: number,
  ca: string,
  maxBytes: number,
  waitMs: number,
  declared?: number,
  contentType = 'application/json',
  moreHeaders: readonly string[] = [],
  requestLine = 'POST /validate HTTP/1.1',
): Promise<Exchange & { readonly sentBytes: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let text = '';
    let sentBytes = 0;
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false, sentBytes });
    }, waitMs);
    const pump = (): void => {
      while (!closed && sentBytes < maxBytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, maxBytes - sentBytes));
        sentBytes += piece.length;
        if (declared === undefined) socket.write(`${piece.length.toString(16)}\r\n`);
        const more = socket.write(piece);
        if (!(declared === undefined ? socket.write('\r\n') : more)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!closed && declared === undefined) socket.write('0\r\n\r\n');
    };
    socket.on('secureConnect', () => {
      const length = declared === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
      socket.write([requestLine, 'Host: localhost', `Content-Type: ${contentType}`, ...moreHeaders, length, '', ''].join('\r\n'));
      pump();
    });
    socket.on('data', (data: Buffer) => {
      text += data.toString('latin1');
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ text, closed: true, sentBytes });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server closing while we still write: the answer is already in.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe('server: a body over the limit, sent right away', () => {
  const cap = 64 * 1024 * 1024;
  const rows: ReadonlyArray<[string, number | undefined]> = [
    ['chunked: answered 413 once the limit is passed', undefined],
    ['declared (64 MiB) and sent without waiting for 100 Continue: the 413 still reaches the client', cap],
  ];
  it('one byte over, declared and sent at once: the 413 reaches the client, which sends it all', async () => {
    await withServer({}, async (test) => {
      const answer = await streamChunked(test.server.port, test.pki.caCert, MAX_BODY_BYTES + 1, 3_000, MAX_BODY_BYTES + 1);
      expect(answer.text.split('\r\n')[0]).to.equal('HTTP/1.1 413 Payload Too Large');
    });
  });
  for (const [name, declared] of rows) {
    it(`${name}, and the connection closes before the rest is sent`, async () => {
      await withServer({}, async (test) => {
        const answer = await streamChunked(test.server.port, test.pki.caCert, cap, 10_000, declared);
        expect(answer.text.split('\r\n')[0]).to.equal('HTTP/1.1 413 Payload Too Large');
        expect(answer.text).to.include(`"error":"the body is larger than ${MAX_BODY_BYTES} bytes"`);
        expect(answer.closed, 'closed by the server').to.equal(true);
        expect(answer.sentBytes, 'bytes sent before the close').to.be.below(MAX_BODY_BYTES + LINGER_BYTES + 8 * 1024 * 1024);
      });
    });
  }
});

describe('server: a body refused for its type, charset or encoding, still being sent', () => {
  // body-parser leaves such a body unread; without a bound, the server read and dropped it until the request timeout.
  const cap = 64 * 1024 * 1024;
  const encoded = (coding: string): string => `"error":"the body is encoded (Content-Encoding: ${coding}); mountgate reads AdmissionReviews as the API server sends them, unencoded"`;
  const rows: ReadonlyArray<{ name: string; contentType: string; headers?: readonly string[]; declared?: number; status: string; error: string }> = [
    {
      name: 'not JSON (text/plain), chunked',
      contentType: 'text/plain',
      status: 'HTTP/1.1 400 Bad Request',
      error: '"error":"expected a JSON AdmissionReview with Content-Type: application/json"',
    },
    {
      name: 'a charset body-parser does not read (latin1), chunked',
      contentType: 'application/json; charset=latin1',
      status: 'HTTP/1.1 415 Unsupported Media Type',
      error: '"error":"unsupported charset \\"LATIN1\\""',
    },
    // body-parser inflated these, and answered a broken or oversized one only at the end of the body.
    {
      name: 'encoded (gzip), chunked: refused before a byte is read',
      contentType: 'application/json',
      headers: ['Content-Encoding: gzip'],
      status: 'HTTP/1.1 415 Unsupported Media Type',
      error: encoded('gzip'),
    },
    {
      name: 'encoded (deflate), 64 MiB declared',
      contentType: 'application/json',
      headers: ['Content-Encoding: deflate'],
      declared: cap,
      status: 'HTTP/1.1 413 Payload Too Large',
      error: `"error":"the body is larger than ${MAX_BODY_BYTES} bytes"`,
    },
    {
      name: 'encoded (br, spelled in capitals), chunked',
      contentType: 'application/json',
      headers: ['Content-Encoding: BR'],
      status: 'HTTP/1.1 415 Unsupported Media Type',
      error: encoded('BR'),
    },
  ];
  for (const row of rows) {
    it(`${row.name}: answered, and the connection is cut once the wait for the rest ends`, async () => {
      await withServer({}, async (test) => {
        const started = Date.now();
        const answer = await streamChunked(test.server.port, test.pki.caCert, cap, 10_000, row.declared, row.contentType, row.headers);
        expect(answer.text.split('\r\n')[0]).to.equal(row.status);
        expect(answer.text).to.include(row.error);
        expect(answer.closed, 'closed by the server').to.equal(true);
        expect(answer.sentBytes, 'bytes sent before the close').to.be.below(LINGER_BYTES + 8 * 1024 * 1024);
        expect(Date.now() - started, 'ms until the close').to.be.below(LINGER_MS + 5_000);
      });
    });
  }
});

describe('server: a body sent to no admission route, still being sent', () => {
  // Node reads and drops the rest of a body its handler left unread, until the request timeout: as after an early
  // 413, only a bounded rest is dropped before the connection is cut.
  const cap = 64 * 1024 * 1024;
  const rows: ReadonlyArray<{ name: string; requestLine: string; declared?: number; status: string; error: string }> = [
    { name: 'POST to no route, 64 MiB declared', requestLine: 'POST /nowhere HTTP/1.1', declared: cap, status: 'HTTP/1.1 404 Not Found', error: '"error":"no route for /nowhere"' },
    { name: 'POST to no route, chunked', requestLine: 'POST /nowhere HTTP/1.1', status: 'HTTP/1.1 404 Not Found', error: '"error":"no route for /nowhere"' },
    { name: 'PUT to /mutate, chunked', requestLine: 'PUT /mutate HTTP/1.1', status: 'HTTP/1.1 405 Method Not Allowed', error: '"error":"/mutate takes POST"' },
    { name: 'POST to /healthz, 64 MiB declared', requestLine: 'POST /healthz HTTP/1.1', declared: cap, status: 'HTTP/1.1 405 Method Not Allowed', error: '"error":"/healthz takes GET or HEAD"' },
  ];
  for (const row of rows) {
    it(`${row.name}: answered, and the connection is cut once the wait for the rest ends`, async () => {
      await withServer({}, async (test) => {
        const started = Date.now();
        const answer = await streamChunked(test.server.port, test.pki.caCert, cap, 10_000, row.declared, 'application/json', [], row.requestLine);
        expect(answer.text.split('\r\n')[0]).to.equal(row.status);
        expect(answer.text).to.include(row.error);
        expect(answer.closed, 'closed by the server').to.equal(true);
        expect(answer.sentBytes, 'bytes sent before the close').to.be.below(LINGER_BYTES + 8 * 1024 * 1024);
        expect(Date.now() - started, 'ms until the close').to.be.below(LINGER_MS + 5_000);
      });
    });
  }
});

interface Sent extends Exchange {
  /** The error a write met, if the server closed while the client still wrote. */
  readonly writeError: string | undefined;
}

/** Writes `parts` in order (with backpressure), then reads until the server closes or `waitMs` ends. */
function sendAll(port: number, ca: string, parts: readonly Buffer[], waitMs: number): Promise<Sent> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    let text = '';
    let writeError: string | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, writeError });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    const queue = [...parts];
    const pump = (): void => {
      for (let part = queue.shift(); part !== undefined; part = queue.shift()) {
        if (!socket.write(part)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.on('secureConnect', pump);
    socket.on('data', (data: Buffer) => {
      text += data.toString('latin1');
    });
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      writeError ??= error.code ?? error.message;
    });
  });
}

describe('server: after an early 413 the rest of the body is dropped, and then', () => {
  const oneOver = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
  const head = Buffer.from(headOf(oneOver.length, false));
  // An answer's status line follows the previous answer's body directly.
  const statusLines = (text: string): string[] => text.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? [];

  it('the same connection serves the next request', async () => {
    await withServer({}, async (test) => {
      const body = JSON.stringify(review(sandboxPod()));
      const next = Buffer.from([...headOf(Buffer.byteLength(body), false, true).split('\r\n').slice(0, -1), body].join('\r\n'));
      const answer = await sendAll(test.server.port, test.pki.caCert, [head, oneOver, next], 5_000);
      expect(statusLines(answer.text)).to.deep.equal(['HTTP/1.1 413 Payload Too Large', 'HTTP/1.1 200 OK']);
      expect(answer.writeError).to.equal(undefined);
    });
  });

  it('an empty Content-Encoding or "identity" is no encoding: the review is judged', async () => {
    await withServer({}, async (test) => {
      const body = JSON.stringify(review(sandboxPod()));
      for (const coding of ['', 'identity', 'IDENTITY']) {
        const head = headOf(Buffer.byteLength(body), false, true).replace('Content-Type', `Content-Encoding: ${coding}\r\nContent-Type`);
        const answer = await sendAll(test.server.port, test.pki.caCert, [Buffer.from(head), Buffer.from(body)], 5_000);
        expect(statusLines(answer.text), `Content-Encoding: "${coding}"`).to.deep.equal(['HTTP/1.1 200 OK']);
        expect(answer.text).to.include('"allowed":true');
      }
    });
  });

  it('a chunked body refused for its type, then the next request: the same connection serves it', async () => {
    await withServer({}, async (test) => {
      const piece = Buffer.alloc(256 * 1024, 0x20);
      const chunked = [
        Buffer.from(['POST /validate HTTP/1.1', 'Host: localhost', 'Content-Type: text/plain', 'Transfer-Encoding: chunked', '', ''].join('\r\n')),
        ...Array.from({ length: 4 }, () => Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])),
        Buffer.from('0\r\n\r\n'),
      ];
      const body = JSON.stringify(review(sandboxPod()));
      const next = Buffer.from([...headOf(Buffer.byteLength(body), false, true).split('\r\n').slice(0, -1), body].join('\r\n'));
      const answer = await sendAll(test.server.port, test.pki.caCert, [...chunked, next], 5_000);
      expect(statusLines(answer.text)).to.deep.equal(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 200 OK']);
      expect(answer.writeError).to.equal(undefined);
    });
  });

  it('a small body sent to no route, then the next request: the same connection serves it', async () => {
    await withServer({}, async (test) => {
      const stray = JSON.stringify({ hello: 'there' });
      const first = Buffer.from(['POST /nowhere HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(stray)}`, '', stray].join('\r\n'));
      const body = JSON.stringify(review(sandboxPod()));
      const next = Buffer.from([...headOf(Buffer.byteLength(body), false, true).split('\r\n').slice(0, -1), body].join('\r\n'));
      const answer = await sendAll(test.server.port, test.pki.caCert, [first, next], 5_000);
      expect(statusLines(answer.text)).to.deep.equal(['HTTP/1.1 404 Not Found', 'HTTP/1.1 200 OK']);
      expect(answer.writeError).to.equal(undefined);
    });
  });

  // More than the socket buffers hold, within what is dropped: closing at once would reset the client mid-write.
  const long = Buffer.alloc(LINGER_BYTES - 1024 * 1024, 0x20);
  const drainingRows: ReadonlyArray<{ name: string; head: string; status: string }> = [
    { name: 'a body over the limit (413)', head: headOf(long.length, false), status: 'HTTP/1.1 413 Payload Too Large' },
    { name: 'a body sent to no route (404)', head: headOf(long.length, false).replace('POST /mutate', 'POST /nowhere'), status: 'HTTP/1.1 404 Not Found' },
    { name: 'a body sent with a method the route does not take (405)', head: headOf(long.length, false).replace('POST /mutate', 'PUT /mutate'), status: 'HTTP/1.1 405 Method Not Allowed' },
  ];
  for (const row of drainingRows) {
    it(`a draining server closes the connection only once the body is in, so the client gets the answer: ${row.name}`, async () => {
      await withServer({ shutdownDelaySeconds: 5 }, async (test) => {
        const draining = test.server.drain();
        try {
          const answer = await sendAll(test.server.port, test.pki.caCert, [Buffer.from(row.head), long], 4_000);
          expect(statusLines(answer.text)).to.deep.equal([row.status]);
          expect(answer.writeError, 'the client could write its whole body').to.equal(undefined);
          expect(answer.closed, 'closed by the server').to.equal(true);
        } finally {
          await test.server.stop();
          await draining;
        }
      });
    });
  }
});
