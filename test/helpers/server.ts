/** Runs the real server in-process on loopback, port 0, with files in a temp dir. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, type RunningServer } from '../../src/server/index.js';
import { silentLogger, type Logger } from '../../src/server/logger.js';
import { BASE_POLICY } from './policies.js';
import { createCa, issueServingPair, type ServingPair, type TestPki } from './tls.js';

export interface TestServer {
  readonly server: RunningServer;
  readonly dir: string;
  readonly pki: TestPki;
  readonly pair: ServingPair;
  readonly paths: { readonly config: string; readonly cert: string; readonly key: string };
}

export interface TestServerOptions {
  readonly policy?: unknown;
  readonly shutdownDelaySeconds?: number;
  readonly maxConnections?: number;
  /** Silent when absent. */
  readonly logger?: Logger;
  /** When the serving certificate starts to be valid (now when absent). */
  readonly notBefore?: Date;
  /** The certificate file's contents made from the certificate's PEM (the PEM alone when absent). */
  readonly certificateFile?: (pem: string) => string | Buffer;
}

export async function withServer<T>(options: TestServerOptions, body: (test: TestServer) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-server-'));
  let server: RunningServer | undefined;
  try {
    const pki = await createCa();
    const pair = await issueServingPair(pki, 'mountgate', options.notBefore);
    const paths = { config: join(dir, 'policy.json'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    await writeFile(paths.config, JSON.stringify(options.policy ?? BASE_POLICY));
    await writeFile(paths.cert, options.certificateFile?.(pair.cert) ?? pair.cert);
    await writeFile(paths.key, pair.key);
    server = await start({
      configPath: paths.config,
      tls: { certPath: paths.cert, keyPath: paths.key },
      host: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      shutdownDelaySeconds: options.shutdownDelaySeconds ?? 0,
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      reloadIntervalMs: 100,
      logger: options.logger ?? silentLogger(),
    });
    return await body({ server, dir, pki, pair, paths });
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls `probe` until it returns true, for at most `timeoutMs`. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The metrics listener's text, over plain HTTP on loopback. */
export function metricsText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}
