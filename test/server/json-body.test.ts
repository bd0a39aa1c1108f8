/**
 * readPlainJson must give what express.json (body-parser) gives for the same
 * request: the same value, or an error with the same status and message. Each
 * body is sent over HTTP to a server of each kind and the two outcomes are
 * compared whole.
 */
import { expect } from 'chai';
import express from 'express';
import fc from 'fast-check';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { MAX_BODY_BYTES } from '../../src/server/app.js';
import { plainJsonLength, readPlainJson } from '../../src/server/json-body.js';

type Outcome = { readonly value: unknown } | { readonly status: unknown; readonly message: string };

function outcomeOf(error: unknown, value: unknown): Outcome {
  if (error === undefined) return { value };
  const status = typeof error === 'object' && error !== null && 'status' in error ? error.status : undefined;
  return { status, message: error instanceof Error ? error.message : String(error) };
}

/** Every outcome each server reached, answered or not (a client that went away gets no answer). */
const seen = { direct: [] as Outcome[], bodyParser: [] as Outcome[] };

const reply =
  (outcomes: Outcome[], read: (req: IncomingMessage, done: (error: unknown, value: unknown) => void) => void): RequestListener =>
  (req, res) =>
    read(req, (error, value) => {
      const outcome = outcomeOf(error, value);
      outcomes.push(outcome);
      res.end(JSON.stringify(outcome));
    });

const bodyParser = express.json({ limit: MAX_BODY_BYTES, type: 'application/json', strict: true });
const throughBodyParser = reply(seen.bodyParser, (req, done) => bodyParser(req, Object.create(null), (error?: unknown) => done(error, 'body' in req ? req.body : undefined)));
const direct = reply(seen.direct, (req, done) => {
  const length = plainJsonLength(req, MAX_BODY_BYTES);
  if (length === undefined) done(new Error('not a plain JSON request'), undefined);
  else readPlainJson(req, length, done);
});

async function listen(listener: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

function send(port: number, headers: Record<string, string>, body: Buffer): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'Content-Length': String(body.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Outcome));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The same request, its body written in pieces with a pause between them, so that the server reads it in several chunks. */
function sendInPieces(port: number, body: Buffer, cuts: readonly number[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Outcome));
    });
    req.on('error', reject);
    const ends = [...cuts, body.length];
    const writePiece = (index: number, from: number): void => {
      const to = ends[index] ?? body.length;
      if (index === ends.length - 1) {
        req.end(body.subarray(from, to));
        return;
      }
      req.write(body.subarray(from, to));
      setTimeout(() => writePiece(index + 1, to), 5);
    };
    writePiece(0, 0);
  });
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const JSON_TYPE = { 'Content-Type': 'application/json' };

describe('server: plain JSON bodies read directly', function () {
  this.timeout(60_000);
  let servers: Array<{ server: Server; port: number }> = [];

  before(async () => {
    servers = [await listen(direct), await listen(throughBodyParser)];
  });
  after(() => {
    for (const { server } of servers) server.close();
  });

  async function expectSameOutcome(body: Buffer, headers: Record<string, string> = JSON_TYPE): Promise<Outcome> {
    const [ours, theirs] = await Promise.all(servers.map(({ port }) => send(port, headers, body)));
    expect(ours).to.deep.equal(theirs);
    return ours ?? { value: undefined };
  }

  const rows: ReadonlyArray<readonly [string, Buffer]> = [
    ['an AdmissionReview', Buffer.from('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"}}')],
    ['an array', Buffer.from('[1,2]')],
    ['leading whitespace', Buffer.from(' \t\r\n{"a":1}')],
    ['a byte order mark', Buffer.concat([BOM, Buffer.from('{"a":1}')])],
    ['only a byte order mark', BOM],
    ['two byte order marks', Buffer.concat([BOM, BOM, Buffer.from('{}')])],
    ['a number', Buffer.from('42')],
    ['a string', Buffer.from('"AdmissionReview"')],
    ['true after whitespace', Buffer.from('  true')],
    ['null', Buffer.from('null')],
    ['only whitespace', Buffer.from('   ')],
    ['text that is not JSON', Buffer.from('{"apiVersion": ')],
    ['a trailing comma', Buffer.from('{"a":1,}')],
    ['garbage after the object', Buffer.from('{"a":1} x')],
    ['a stray character first', Buffer.from('x{"a":1}')],
    ['invalid UTF-8 in a string', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')])],
    ['a truncated UTF-8 sequence at the end', Buffer.concat([Buffer.from('{"a":1}'), Buffer.from([0xe2, 0x82])])],
    ['non-ASCII text', Buffer.from('{"path":"/srv/données/模型"}')],
    ['a long body', Buffer.from(JSON.stringify({ items: Array.from({ length: 20_000 }, (_, index) => ({ index, name: `item-${index}` })) }))],
  ];
  for (const [name, body] of rows) {
    it(`gives what body-parser gives: ${name}`, async () => {
      await expectSameOutcome(body);
    });
  }

  const inPieces: ReadonlyArray<readonly [string, Buffer, readonly number[]]> = [
    ['a byte order mark split byte by byte', Buffer.concat([BOM, Buffer.from('{"a":1}')]), [1, 2, 3]],
    ['a three-byte character split inside', Buffer.from('{"path":"/srv/模型"}'), [15, 16]],
    ['an invalid sequence split across pieces', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xe2, 0x82]), Buffer.from([0x28]), Buffer.from('"}')]), [7, 8]],
    ['broken JSON split in the middle', Buffer.from('{"apiVersion": "admission.k8s.io/v1", '), [5, 20]],
  ];
  for (const [name, body, cuts] of inPieces) {
    it(`gives what body-parser gives for a body sent in pieces: ${name}`, async () => {
      const [ours, theirs] = await Promise.all(servers.map(({ port }) => sendInPieces(port, body, cuts)));
      expect(ours).to.deep.equal(theirs);
    });
  }

  it('gives what body-parser gives for the charset spelling it reads directly', async () => {
    const outcome = await expectSameOutcome(Buffer.from('{"a":1}'), { 'Content-Type': 'Application/JSON; charset=UTF-8' });
    expect(outcome).to.deep.equal({ value: { a: 1 } });
  });

  it('gives what body-parser gives for any JSON text, whitespace or byte order mark around it', async () => {
    const around = fc.constantFrom('', ' ', '\n\t', '\r\n  ');
    await fc.assert(
      fc.asyncProperty(fc.boolean(), around, fc.json(), around, async (bom, before, text, after) => {
        await expectSameOutcome(Buffer.concat([bom ? BOM : Buffer.alloc(0), Buffer.from(`${before}${text}${after}`)]));
      }),
      { numRuns: 150 },
    );
  });

  it('gives what body-parser gives for broken JSON', async () => {
    const pieces = fc.constantFrom('{', '}', '[', ']', '"', ':', ',', ' ', 'a', '1', 'true', 'null', '\\', '\u00e9', '#', '\n');
    await fc.assert(
      fc.asyncProperty(fc.array(pieces, { minLength: 1, maxLength: 24 }), async (parts) => {
        await expectSameOutcome(Buffer.from(parts.join('')));
      }),
      { numRuns: 150 },
    );
  });

  it('gives what body-parser gives for arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (bytes) => {
        await expectSameOutcome(Buffer.from(bytes));
      }),
      { numRuns: 150 },
    );
  });

  it('gives what body-parser gives when the client goes away in the middle of the body', async () => {
    const before = { direct: seen.direct.length, bodyParser: seen.bodyParser.length };
    for (const { port } of servers) {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { ...JSON_TYPE, 'Content-Length': '100' } });
      req.on('error', () => undefined);
      req.write('{"apiVersion":');
      await new Promise((resolve) => setTimeout(resolve, 50));
      req.destroy();
    }
    const deadline = Date.now() + 5_000;
    while ((seen.direct.length === before.direct || seen.bodyParser.length === before.bodyParser) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(seen.direct.slice(before.direct)).to.deep.equal([{ status: 400, message: 'request aborted' }]);
    expect(seen.bodyParser.slice(before.bodyParser)).to.deep.equal([{ status: 400, message: 'request aborted' }]);
  });

  describe('which requests it reads', () => {
    const MAX = MAX_BODY_BYTES;
    const cases: ReadonlyArray<readonly [string, Record<string, string>, number | undefined]> = [
      ['application/json with a length', { 'content-type': 'application/json', 'content-length': '12' }, 12],
      ['with charset=utf-8', { 'content-type': 'application/json; charset=utf-8', 'content-length': '12' }, 12],
      ['in capitals', { 'content-type': 'APPLICATION/JSON', 'content-length': '12' }, 12],
      ['the largest body allowed', { 'content-type': 'application/json', 'content-length': String(MAX) }, MAX],
      ['a body over the limit (body-parser answers 413)', { 'content-type': 'application/json', 'content-length': String(MAX + 1) }, undefined],
      ['an empty body', { 'content-type': 'application/json', 'content-length': '0' }, undefined],
      ['a length with a leading zero', { 'content-type': 'application/json', 'content-length': '012' }, undefined],
      ['no length (chunked)', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, undefined],
      ['gzip', { 'content-type': 'application/json', 'content-length': '12', 'content-encoding': 'gzip' }, undefined],
      ['identity spelled out', { 'content-type': 'application/json', 'content-length': '12', 'content-encoding': 'identity' }, undefined],
      ['another charset', { 'content-type': 'application/json; charset=latin1', 'content-length': '12' }, undefined],
      ['another parameter', { 'content-type': 'application/json; foo=bar', 'content-length': '12' }, undefined],
      ['no space before the charset', { 'content-type': 'application/json;charset=utf-8', 'content-length': '12' }, undefined],
      ['a JSON suffix type', { 'content-type': 'application/merge-patch+json', 'content-length': '12' }, undefined],
      ['text/plain', { 'content-type': 'text/plain', 'content-length': '12' }, undefined],
      ['no content type', { 'content-length': '12' }, undefined],
    ];
    for (const [name, headers, expected] of cases) {
      it(`${name}: ${expected === undefined ? 'left to body-parser' : `reads ${expected} bytes`}`, () => {
        const req = { headers } as unknown as IncomingMessage;
        expect(plainJsonLength(req, MAX)).to.equal(expected);
      });
    }
  });
});
