/** A test CA and serving certificates for 127.0.0.1, and a client that trusts the CA. */
import { X509Certificate } from 'node:crypto';
import { request, type Agent } from 'node:https';
import { TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';

export interface TestPki {
  readonly caCert: string;
  readonly caKey: string;
}

export interface ServingPair {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
}

export async function createCa(): Promise<TestPki> {
  const ca = await generate([{ name: 'commonName', value: 'mountgate-test-ca' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  });
  return { caCert: ca.cert, caKey: ca.private };
}

/** `notBeforeDate`: when it starts to be valid (now by default). */
export async function issueServingPair(pki: TestPki, commonName = 'mountgate', notBeforeDate?: Date): Promise<ServingPair> {
  const pair = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...(notBeforeDate === undefined ? {} : { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + 365 * 24 * 3600 * 1000) }),
    ca: { cert: pki.caCert, key: pki.caKey },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { cert: pair.cert, key: pair.private, fingerprint: new X509Certificate(pair.cert).fingerprint256 };
}

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly fingerprint: string;
}

export interface HttpsCall {
  readonly port: number;
  readonly path: string;
  readonly ca: string;
  readonly method?: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  readonly agent?: Agent;
}

export function httpsCall(call: HttpsCall): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: call.port,
        path: call.path,
        method: call.method ?? (call.body === undefined ? 'GET' : 'POST'),
        ca: call.ca,
        agent: call.agent ?? false,
        headers: call.body === undefined ? {} : { 'Content-Type': call.contentType ?? 'application/json' },
        timeout: 10_000,
      },
      (res) => {
        const socket = res.socket;
        const fingerprint = socket instanceof TLSSocket ? (socket.getPeerX509Certificate()?.fingerprint256 ?? '') : '';
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), fingerprint });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(call.body);
  });
}
