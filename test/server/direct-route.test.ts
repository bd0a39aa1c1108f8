/**
 * POST /mutate and /validate skip express's router (src/server/app.ts); other
 * spellings of the same routes (/MUTATE, /mutate/) still go through it. Sending
 * the same request both ways must give the same answer, byte for byte (the
 * Date header aside), whatever the body: this is what makes the shortcut safe.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { createApp } from '../../src/server/app.js';
import { LiveState } from '../../src/server/live-state.js';
import { createMetrics } from '../../src/server/metrics.js';
import { silentLogger } from '../../src/server/logger.js';
import { generateDevMaterial } from '../../src/server/tls-material.js';
import { policyOf } from '../helpers/policies.js';
import { review, sandboxPod } from '../helpers/pods.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const { date: _date, ...rest } = res.headers;
        resolve({ status: res.statusCode ?? 0, headers: rest, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'Content-Type': 'application/json' };
const allowed = JSON.stringify(review(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/work' }] })));
const denied = JSON.stringify(review(sandboxPod({ mounts: [{ hostPath: '/etc', mountPath: '/work' }] })));

const CASES: ReadonlyArray<{ readonly title: string; readonly headers: Record<string, string>; readonly body?: Buffer; readonly query?: string }> = [
  { title: 'an allowed review', headers: json, body: Buffer.from(allowed) },
  { title: 'a denied review', headers: json, body: Buffer.from(denied) },
  { title: 'the API server query string', headers: json, body: Buffer.from(allowed), query: '?timeout=10s' },
  { title: 'a charset parameter', headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: Buffer.from(allowed) },
  { title: 'an unsupported charset', headers: { 'Content-Type': 'application/json; charset=latin1' }, body: Buffer.from(allowed) },
  { title: 'a gzip body', headers: { ...json, 'Content-Encoding': 'gzip' }, body: gzipSync(allowed) },
  { title: 'an unknown encoding', headers: { ...json, 'Content-Encoding': 'br2' }, body: Buffer.from(allowed) },
  { title: 'invalid JSON', headers: json, body: Buffer.from('{"apiVersion": ') },
  { title: 'a JSON string (strict mode)', headers: json, body: Buffer.from('"AdmissionReview"') },
  { title: 'a JSON array', headers: json, body: Buffer.from('[]') },
  { title: 'an empty body', headers: { ...json, 'Content-Length': '0' } },
  { title: 'no body at all', headers: {} },
  { title: 'text/plain', headers: { 'Content-Type': 'text/plain' }, body: Buffer.from(allowed) },
  { title: 'not an AdmissionReview', headers: json, body: Buffer.from('{"kind":"Pod"}') },
  { title: 'a body over 3 MiB', headers: json, body: Buffer.alloc(3 * 1024 * 1024 + 10, 0x20) },
];

describe('server: the direct admission route answers as the express route does', function () {
  this.timeout(60_000);
  let server: Server;
  let port = 0;

  before(async () => {
    const state = new LiveState(policyOf(), await generateDevMaterial());
    server = createServer(createApp({ state, metrics: createMetrics(), logger: silentLogger(), lifecycle: { ready: true, closing: false } }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    port = address.port;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  for (const route of ['/mutate', '/validate']) {
    for (const testCase of CASES) {
      it(`${route}: ${testCase.title}`, async () => {
        const query = testCase.query ?? '';
        const direct = await send(port, 'POST', `${route}${query}`, testCase.headers, testCase.body);
        for (const spelling of [route.toUpperCase(), `${route}/`]) {
          const throughExpress = await send(port, 'POST', `${spelling}${query}`, testCase.headers, testCase.body);
          expect(throughExpress).to.deep.equal(direct);
        }
      });
    }
  }

  it('still answers other methods and paths through express', async () => {
    expect((await send(port, 'GET', '/mutate', {}, undefined)).status).to.equal(405);
    expect((await send(port, 'POST', '/constructor', json, Buffer.from('{}'))).status).to.equal(404);
    expect((await send(port, 'POST', '/nowhere', json, Buffer.from('{}'))).status).to.equal(404);
    expect((await send(port, 'GET', '/healthz', {}, undefined)).body).to.equal('ok\n');
  });
});
