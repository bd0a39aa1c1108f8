/**
 * The certificate and key files are read the same way at start and at each reload: a file that
 * starts the server is never called unreadable later, and one that would start a server is taken.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTlsFiles } from '../../src/server/tls-material.js';
import { eventually, metricsText, withServer } from '../helpers/server.js';
import { httpsCall, issueServingPair } from '../helpers/tls.js';

/** As `openssl pkcs12 -nodes` writes a bundle: text before the PEM block, here with a Latin-1 byte (0xE4) in a friendly name. */
function withBagAttributes(pem: string): Buffer {
  return Buffer.concat([Buffer.from('Bag Attributes\n    friendlyName: mountg'), Buffer.from([0xe4]), Buffer.from('te\n'), Buffer.from(pem)]);
}

describe('server: start and reload read the certificate files alike', function () {
  this.timeout(30_000);

  it('does not call a certificate file it started with unreadable while the file stays as it was', async () => {
    await withServer({ certificateFile: withBagAttributes }, async (test) => {
      expect((await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).fingerprint, 'served at start').to.equal(test.pair.fingerprint);
      // Many reload intervals; nothing on disk changes.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const metrics = await metricsText(test.server.metricsPort);
      expect(metrics, 'the files on disk are the ones in force').to.include('mountgate_reload_last_successful{kind="certificate"} 1');
      expect(metrics, 'no reload failed: nothing changed').to.not.include('mountgate_reloads_total{kind="certificate",result="failure"}');
    });
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
