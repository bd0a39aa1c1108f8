import { expect } from 'chai';
import { generate } from 'selfsigned';
import { CertificateError, notYetValid, parseTlsMaterial, secureContextOptions } from '../../src/server/tls-material.js';

const FILES = { certPath: '/etc/mountgate/tls/tls.crt', keyPath: '/etc/mountgate/tls/tls.key' };
const DAY = 24 * 3600 * 1000;
const NOW = new Date('2026-12-05T12:00:00Z');

async function pairValid(from: Date, to: Date): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'mountgate' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: from, notAfterDate: to });
  return { cert: pems.cert, key: pems.private };
}

describe('server/tls-material: the validity dates', () => {
  const rows: ReadonlyArray<{ name: string; from: Date; to: Date; refused?: string }> = [
    { name: 'valid now: taken', from: new Date(NOW.getTime() - DAY), to: new Date(NOW.getTime() + DAY) },
    // Issuers' and nodes' clocks differ: a certificate from a few seconds ahead is fine a few seconds later.
    { name: 'not valid for another minute: taken', from: new Date(NOW.getTime() + 60_000), to: new Date(NOW.getTime() + DAY) },
    { name: 'expired a day ago: refused, naming the file and the date', from: new Date(NOW.getTime() - 2 * DAY), to: new Date(NOW.getTime() - DAY), refused: '/etc/mountgate/tls/tls.crt: the certificate expired on 2026-12-04T12:00:00.000Z' },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const { cert, key } = await pairValid(row.from, row.to);
      const outcome = (() => {
        try {
          return parseTlsMaterial(cert, key, FILES, NOW).notAfter.toISOString();
        } catch (error) {
          if (error instanceof CertificateError) return `refused: ${error.message}`;
          throw error;
        }
      })();
      expect(outcome).to.equal(row.refused === undefined ? row.to.toISOString().replace(/\.\d{3}Z$/, '.000Z') : `refused: ${row.refused}`);
    });
  }
});

describe('server/tls-material: a certificate that starts later', () => {
  const rows: ReadonlyArray<{ name: string; from: Date; warning?: string }> = [
    { name: 'valid since yesterday: nothing to say', from: new Date(NOW.getTime() - DAY) },
    { name: 'valid in a minute (clocks differ): nothing to say', from: new Date(NOW.getTime() + 60_000) },
    { name: 'valid in five minutes exactly: nothing to say', from: new Date(NOW.getTime() + 5 * 60_000) },
    {
      name: 'valid in five minutes and a second: said',
      from: new Date(NOW.getTime() + 5 * 60_000 + 1000),
      warning: 'the certificate is not valid until 2026-12-05T12:05:01.000Z: the API server refuses it until then (a clock is off, or it was issued ahead of time)',
    },
    {
      name: 'valid in an hour: said, with the time',
      from: new Date(NOW.getTime() + 3600_000),
      warning: 'the certificate is not valid until 2026-12-05T13:00:00.000Z: the API server refuses it until then (a clock is off, or it was issued ahead of time)',
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const { cert, key } = await pairValid(row.from, new Date(NOW.getTime() + 2 * DAY));
      const material = parseTlsMaterial(cert, key, FILES, NOW);
      expect(material.notBefore.toISOString()).to.equal(row.from.toISOString().replace(/\.\d{3}Z$/, '.000Z'));
      expect(notYetValid(material, NOW)).to.equal(row.warning);
    });
  }
});

describe('server/tls-material: secureContextOptions, what the listener starts with and each reload sets', () => {
  // OpenSSL's default security level fails a TLS 1.1 handshake here whatever mountgate asks; only the alert
  // tells mountgate's floor apart (protocol_version, not internal_error: test/server/server.test.ts), and only
  // at start. The options the server starts with and each reload sets must carry it.
  it('hold TLS 1.2 as the lowest version, with the certificate and key as loaded', async () => {
    const { cert, key } = await pairValid(new Date(NOW.getTime() - DAY), new Date(NOW.getTime() + DAY));
    const material = parseTlsMaterial(cert, key, FILES, NOW);
    expect(secureContextOptions(material)).to.deep.equal({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' });
  });
});
