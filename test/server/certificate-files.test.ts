/**
 * The certificate and key files are read the same way at start and at each reload: a file that
 * starts the server is never called unreadable later, and one that would start a server is taken.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, type RunningServer } from '../../src/server/index.js';
import { loadTlsFiles } from '../../src/server/tls-material.js';
import { silentLogger } from '../../src/server/logger.js';
import { BASE_POLICY } from '../helpers/policies.js';
import { eventually, withServer } from '../helpers/server.js';
import { createCa, httpsCall, issueServingPair } from '../helpers/tls.js';

/** As `openssl pkcs12 -nodes` writes a bundle: text before the PEM block, here with a Latin-1 byte (0xE4) in a friendly name. */
function withBagAttributes(pem: string): Buffer {
  return Buffer.concat([Buffer.from('Bag Attributes\n    friendlyName: mountg'), Buffer.from([0xe4]), Buffer.from('te\n'), Buffer.from(pem)]);
}

function metricsText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

describe('server: start and reload read the certificate files alike', function () {
  this.timeout(30_000);

  it('does not call a certificate file it started with unreadable while the file stays as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mountgate-edge-'));
    let server: RunningServer | undefined;
    try {
      const pki = await createCa();
      const pair = await issueServingPair(pki);
      const paths = { config: join(dir, 'policy.json'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
      await writeFile(paths.config, JSON.stringify(BASE_POLICY));
      // Start reads such a file and serves its certificate.
      await writeFile(paths.cert, withBagAttributes(pair.cert));
      await writeFile(paths.key, pair.key);
      server = await start({
        configPath: paths.config,
        tls: { certPath: paths.cert, keyPath: paths.key },
        host: '127.0.0.1',
        port: 0,
        metricsPort: 0,
        shutdownDelaySeconds: 0,
        reloadIntervalMs: 100,
        logger: silentLogger(),
      });
      expect((await httpsCall({ port: server.port, path: '/healthz', ca: pki.caCert })).fingerprint, 'served at start').to.equal(pair.fingerprint);
      // Many reload intervals; nothing on disk changes.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const metrics = await metricsText(server.metricsPort);
      expect(metrics, 'the files on disk are the ones in force').to.include('mountgate_reload_last_successful{kind="certificate"} 1');
      expect(metrics, 'no reload failed: nothing changed').to.not.include('mountgate_reloads_total{kind="certificate",result="failure"}');
    } finally {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves a renewed certificate that a start would serve', async () => {
    await withServer({}, async (test) => {
      const next = await issueServingPair(test.pki, 'mountgate-renewed');
      const renewed = { certPath: join(test.dir, 'renewed.crt'), keyPath: join(test.dir, 'renewed.key') };
      await writeFile(renewed.certPath, withBagAttributes(next.cert));
      await writeFile(renewed.keyPath, next.key);
      // A replica started now on these files would serve the renewed certificate.
      expect((await loadTlsFiles(renewed)).fingerprint).to.equal(next.fingerprint);
      await writeFile(test.paths.key, next.key);
      await writeFile(test.paths.cert, withBagAttributes(next.cert));
      await eventually(async () => (await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).fingerprint === next.fingerprint, 3_000);
    });
  });
});
