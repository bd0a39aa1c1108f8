/**
 * The ceiling: the least an HTTPS admission webhook in Node can do. It reads
 * the body, parses it, and answers an AdmissionReview carrying a fixed patch
 * (mountgate's own patch for the benchmark Pod, so the bytes on the wire are
 * the same) to /mutate*, and no patch to any other path or when the patch file
 * is empty. Same certificate, TLS floor and keep-alive settings as mountgate.
 *
 *   node --import tsx bench/ceiling-server.ts CERT KEY PATCH_BASE64_FILE [BUSY_MICROS]
 * prints "listening PORT" once it accepts connections on 127.0.0.1. With
 * BUSY_MICROS it busy-waits that long on each review before answering: work
 * that stands in for another server's, so that the ceiling answers at that
 * server's rate (bench/http-bench.ts, the paced ceiling).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

// The values of src/server/index.ts, copied rather than imported so this process loads nothing else.
const KEEP_ALIVE_TIMEOUT_MS = 120_000;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 3 * 1024 * 1024;

const [certPath, keyPath, patchPath, busyArgument = '0'] = process.argv.slice(2);
const busyMicros = Number(busyArgument);
if (certPath === undefined || keyPath === undefined || patchPath === undefined || !Number.isInteger(busyMicros) || busyMicros < 0) {
  process.stderr.write('usage: ceiling-server.ts CERT KEY PATCH_BASE64_FILE [BUSY_MICROS]\n');
  process.exit(2);
}
const busyNanos = BigInt(busyMicros) * 1000n;

function busyWait(): void {
  if (busyNanos === 0n) return;
  const until = process.hrtime.bigint() + busyNanos;
  while (process.hrtime.bigint() < until);
}
const patch = readFileSync(patchPath, 'utf8').trim();

function uidOf(review: unknown): string {
  if (typeof review !== 'object' || review === null || !('request' in review)) return '';
  const request: unknown = review.request;
  if (typeof request !== 'object' || request === null || !('uid' in request)) return '';
  return typeof request.uid === 'string' ? request.uid : '';
}

const server = createServer(
  { cert: readFileSync(certPath), key: readFileSync(keyPath), minVersion: 'TLSv1.2' },
  (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      let review: unknown;
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        // mountgate's error shape (src/server/error-body.ts), written out so that nothing is imported.
        const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'not JSON', reason: 'BadRequest', code: 400, error: 'not JSON' };
        res.writeHead(400, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(status));
        return;
      }
      busyWait();
      // Only mutating calls get the patch: a validating webhook must not send one.
      const mutating = (req.url ?? '').startsWith('/mutate');
      const response = patch === '' || !mutating ? { uid: uidOf(review), allowed: true } : { uid: uidOf(review), allowed: true, patchType: 'JSONPatch', patch };
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
    });
  },
);
server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
server.headersTimeout = HEADERS_TIMEOUT_MS;
server.requestTimeout = REQUEST_TIMEOUT_MS;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
