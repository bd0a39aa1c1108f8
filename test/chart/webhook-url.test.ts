/**
 * webhook.url with a certificate the chart issues (certs.mode helm): the API server checks the
 * serving certificate against the URL's host, so that host must be among the certificate's names,
 * or every call fails TLS verification and, with failurePolicy Fail, every Pod of the selected
 * namespaces is refused.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { FULLNAME, failureText, get, obj, one, parseManifests, str, template, webhookOf } from './helm.js';

describe('webhook.url with a chart-issued serving certificate', function () {
  const rows = [
    { name: 'a DNS name', url: 'https://mountgate.example.com:8443', check: (c: X509Certificate) => c.checkHost('mountgate.example.com') },
    { name: 'an IP address', url: 'https://127.0.0.1:18443', check: (c: X509Certificate) => c.checkIP('127.0.0.1') },
  ];
  for (const row of rows) {
    it(`certs.mode helm, url host ${row.name} not in certs.extraDnsNames/extraIpAddresses: refused at render, or the serving certificate carries that host`, function () {
      const res = template({ values: { webhook: { url: row.url } } });
      if (res.status !== 0) {
        expect(failureText(res)).to.match(/extraDnsNames|extraIpAddresses/);
        return;
      }
      const docs = parseManifests(res.stdout);
      expect(get(webhookOf(one(docs, 'MutatingWebhookConfiguration')), 'clientConfig.url')).to.equal(`${row.url}/mutate`);
      const data = obj(one(docs, 'Secret', `${FULLNAME}-tls`)['data'], 'tls data');
      const cert = new X509Certificate(Buffer.from(str(data['tls.crt'], 'tls.crt'), 'base64'));
      expect(row.check(cert), `serving certificate SANs: ${cert.subjectAltName ?? ''}`).not.to.equal(undefined);
    });
  }
});
