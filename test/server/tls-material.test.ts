import { expect } from 'chai';
import { generate } from 'selfsigned';
import { CertificateError, parseTlsMaterial } from '../../src/server/tls-material.js';

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
