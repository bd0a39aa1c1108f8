/**
 * The body budget (src/server/body-budget.ts) charges each body its declared
 * length while it is read and must give the charge back however the response
 * ends: answered on a kept-alive connection, answered with the connection
 * closed, cut off mid-body, or queued behind pipelined answers that the client
 * never reads before it leaves. A charge that is never returned shrinks the pool
 * until every review is refused with 503, so each row ends with the pool empty
 * and a body that needs all of it accepted.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { SMALL_BODY_BYTES, withBodyBudget, type BodyBudget } from '../../src/server/body-budget.js';
import { SLOW_BODY_GRACE_MS } from '../../src/server/connection-cap.js';

const POOL_BYTES = 1000;
const BODY = Buffer.alloc(600, 0x61);

interface Harness {
  readonly port: number;
  readonly budget: BodyBudget;
  /** Resolves once the server has received the start of a body (and holds it unanswered). */
  readonly started: Promise<void>;
  readonly server: Server;
}

/** Big enough that a few unread answers fill the socket's buffers and the rest queue in the server. */
const ANSWER = 'r'.repeat(256 * 1024);

/** Answers 200 once the whole body is in; a body that starts with "hold" is never answered, one that starts with "early" at once. */
async function startHarness(): Promise<Harness> {
  let markStarted = (): void => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const budget = withBodyBudget(
    (req, res) => {
      req.once('data', (chunk: Buffer) => {
        const start = chunk.subarray(0, 5).toString();
        if (start.startsWith('hold')) markStarted();
        // As express.json answers 413 to a body over its limit: at once, before the rest arrives.
        if (start === 'early') res.end('too large');
      });
      req.on('end', () => {
        if (!res.writableEnded) res.end(ANSWER);
      });
      req.resume();
    },
    { poolBytes: POOL_BYTES, maxBodyBytes: 3 * 1024 * 1024 },
    () => undefined,
  );
  const server = createServer(budget.listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, budget, started, server };
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly text: string;
}

function answerTo(port: number, body: Buffer, agent: Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { 'Content-Length': String(body.length) }, timeout: 10_000 }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function post(port: number, body: Buffer, agent: Agent | false): Promise<number> {
  return (await answerTo(port, body, agent)).status;
}

/** What a body that does not fit is answered: a Status the API server quotes, a retry in a second, and the connection closed before the body is read. */
const REFUSED = {
  status: 503,
  retryAfter: '1',
  connection: 'close',
  body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 503, reason: 'ServiceUnavailable', message: 'too many request bodies in flight; retry shortly', error: 'too many request bodies in flight; retry shortly' },
};

function refusal(answer: Answer): typeof REFUSED {
  return { status: answer.status, retryAfter: String(answer.headers['retry-after']), connection: String(answer.headers.connection), body: JSON.parse(answer.text) as typeof REFUSED.body };
}

/** Waits until the pool is empty again; the charge comes back on the server's side of the close. */
async function poolEmpties(budget: BodyBudget): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { small, large } = budget.inFlightBytes();
    if (small === 0 && large === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(budget.inFlightBytes()).to.deep.equal({ small: 0, large: 0 });
}

const ROWS: ReadonlyArray<{ readonly title: string; readonly run: (harness: Harness) => Promise<void> }> = [
  {
    title: 'answers on one kept-alive connection',
    run: async ({ port }) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) statuses.push(await post(port, BODY, agent));
        expect(statuses).to.deep.equal([200, 200, 200, 200, 200]);
      } finally {
        agent.destroy();
      }
    },
  },
  {
    title: 'answers on connections closed after each',
    run: async ({ port }) => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push(await post(port, BODY, false));
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200]);
    },
  },
  {
    title: 'pipelined requests whose answers the client never reads before it leaves',
    run: async ({ port, budget }) => {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.pause();
      const body = 'p'.repeat(20);
      // 40 bodies of 20 bytes fit the pool together: none is refused, each is charged.
      socket.write(`POST / HTTP/1.1\r\nHost: budget\r\nContent-Length: ${body.length}\r\n\r\n${body}`.repeat(40));
      for (let attempt = 0; attempt < 100 && budget.inFlightBytes().small === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 300));
      socket.resetAndDestroy();
    },
  },
  {
    title: 'a body answered before it is all in, its client still connected',
    run: async ({ port, budget }) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'Content-Length': String(BODY.length) } });
      req.on('error', () => undefined);
      try {
        const answered = new Promise<number>((resolve) => req.once('response', (res: IncomingMessage) => resolve(res.statusCode ?? 0)));
        req.write('early');
        expect(await answered).to.equal(200);
        await poolEmpties(budget);
      } finally {
        req.destroy();
      }
    },
  },
  {
    title: 'a body cut off by its client',
    run: async ({ port, started, budget }) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'Content-Length': String(BODY.length) } });
      req.on('error', () => undefined);
      req.write('hold');
      await started;
      expect(budget.inFlightBytes().small).to.equal(BODY.length);
      // While it is held, a second body does not fit. Its client would keep the connection: the server closes it.
      const keepAlive = new Agent({ keepAlive: true });
      try {
        expect(refusal(await answerTo(port, BODY, keepAlive))).to.deep.equal(REFUSED);
      } finally {
        keepAlive.destroy();
      }
      req.destroy();
    },
  },
];

describe('body budget: what a body is charged, before a byte of it is read', () => {
  const MAX = 3 * 1024 * 1024;
  const rows: ReadonlyArray<{ name: string; head: readonly string[]; charged: { small: number; large: number } }> = [
    { name: 'a declared length: that many bytes, from the pool of small bodies', head: ['POST / HTTP/1.1', 'Content-Length: 600'], charged: { small: 600, large: 0 } },
    { name: 'the largest small body', head: ['POST / HTTP/1.1', `Content-Length: ${SMALL_BODY_BYTES}`], charged: { small: SMALL_BODY_BYTES, large: 0 } },
    { name: 'a byte more: from the pool of large bodies', head: ['POST / HTTP/1.1', `Content-Length: ${SMALL_BODY_BYTES + 1}`], charged: { small: 0, large: SMALL_BODY_BYTES + 1 } },
    { name: 'a chunked body: the whole limit, from the pool of large ones', head: ['POST / HTTP/1.1', 'Transfer-Encoding: chunked'], charged: { small: 0, large: MAX } },
    { name: 'an encoded body: the whole limit, whatever it declares (it may inflate to that)', head: ['POST / HTTP/1.1', 'Content-Encoding: gzip', 'Content-Length: 10'], charged: { small: 0, large: MAX } },
    { name: 'Content-Encoding: identity is no encoding', head: ['POST / HTTP/1.1', 'Content-Encoding: identity', 'Content-Length: 10'], charged: { small: 10, large: 0 } },
    // As the edge reads the body: such a body is read as unencoded, not refused.
    { name: 'Content-Encoding: IDENTITY, in any case, is no encoding', head: ['POST / HTTP/1.1', 'Content-Encoding: IDENTITY', 'Content-Length: 10'], charged: { small: 10, large: 0 } },
    { name: 'an empty Content-Encoding is no encoding', head: ['POST / HTTP/1.1', 'Content-Encoding: ', 'Content-Length: 10'], charged: { small: 10, large: 0 } },
    { name: 'a length over the limit: the limit (it is answered 413 unread)', head: ['POST / HTTP/1.1', `Content-Length: ${MAX + 1}`], charged: { small: 0, large: MAX } },
    { name: 'a GET: nothing', head: ['GET / HTTP/1.1'], charged: { small: 0, large: 0 } },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const seen: Array<{ small: number; large: number }> = [];
      const budget = withBodyBudget(
        (req, res) => {
          seen.push(budget.inFlightBytes());
          req.resume();
          req.on('end', () => res.end('ok'));
        },
        { poolBytes: 4 * 1024 * 1024, maxBodyBytes: MAX },
        () => undefined,
      );
      const server = createServer(budget.listener);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      socket.on('error', () => undefined);
      try {
        await once(socket, 'connect');
        socket.write([...row.head, 'Host: budget', '', ''].join('\r\n'));
        for (let attempt = 0; attempt < 200 && seen.length === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(seen).to.deep.equal([row.charged]);
      } finally {
        socket.destroy();
        server.closeAllConnections();
        server.close();
      }
    });
  }
});

describe('body budget: bodies still coming after the grace make room', () => {
  it('a held body is cut for one that does not fit only once it has been coming SLOW_BODY_GRACE_MS', async () => {
    let time = 0;
    let markStarted = (): void => undefined;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const cut: number[] = [];
    const budget = withBodyBudget(
      (req, res) => {
        req.once('data', (chunk: Buffer) => {
          if (chunk.subarray(0, 4).toString() === 'hold') markStarted();
        });
        req.on('end', () => res.end('ok'));
        req.resume();
      },
      { poolBytes: POOL_BYTES, maxBodyBytes: 3 * 1024 * 1024 },
      () => undefined,
      (_req, charge) => cut.push(charge),
      () => time,
    );
    const server = createServer(budget.listener);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const held = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'Content-Length': String(BODY.length) } });
    held.on('error', () => undefined);
    try {
      held.write('hold');
      await started;
      time = SLOW_BODY_GRACE_MS - 1;
      expect(await post(port, BODY, false), 'within the grace').to.equal(503);
      time = SLOW_BODY_GRACE_MS;
      expect(await post(port, BODY, false), 'after it').to.equal(200);
      expect(cut).to.deep.equal([BODY.length]);
      await poolEmpties(budget);
    } finally {
      held.destroy();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('body budget: charges come back', () => {
  for (const row of ROWS) {
    it(row.title, async () => {
      const harness = await startHarness();
      try {
        await row.run(harness);
        await poolEmpties(harness.budget);
        expect(await post(harness.port, Buffer.alloc(POOL_BYTES, 0x62), false), 'a body of the whole pool').to.equal(200);
      } finally {
        harness.server.closeAllConnections();
        harness.server.close();
      }
    });
  }
});
