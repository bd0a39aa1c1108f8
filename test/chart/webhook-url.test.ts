/**
 * webhook.url with a certificate the chart has issued (certs.mode helm or certManager): the API
 * server checks the serving certificate against the URL's host, so that host is among the
 * certificate's names, or every call would fail TLS verification and, with failurePolicy Fail,
 * every Pod of the selected namespaces would be refused.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { FULLNAME, NAMESPACE, failureText, get, list, obj, one, parseManifests, str, template, webhookOf } from './helm.js';

const rows = [
  { name: 'a DNS name', url: 'https://mountgate.example.com:8443', dnsNames: ['mountgate.example.com'], ipAddresses: [], check: (c: X509Certificate) => c.checkHost('mountgate.example.com') },
  { name: 'a DNS name without a port', url: 'https://mountgate.example.com', dnsNames: ['mountgate.example.com'], ipAddresses: [], check: (c: X509Certificate) => c.checkHost('mountgate.example.com') },
  { name: 'an IPv4 address', url: 'https://127.0.0.1:18443', dnsNames: [], ipAddresses: ['127.0.0.1'], check: (c: X509Certificate) => c.checkIP('127.0.0.1') },
  { name: 'an IPv6 address', url: 'https://[::1]:18443/base', dnsNames: [], ipAddresses: ['::1'], check: (c: X509Certificate) => c.checkIP('::1') },
];

const SERVICE_NAMES = [FULLNAME, `${FULLNAME}.${NAMESPACE}`, `${FULLNAME}.${NAMESPACE}.svc`, `${FULLNAME}.${NAMESPACE}.svc.cluster.local`];

describe('webhook.url with a serving certificate the chart issues', function () {
  for (const row of rows) {
    it(`certs.mode helm, url host ${row.name}: the serving certificate carries that host besides the Service's names`, function () {
      const res = template({ values: { webhook: { url: row.url } } });
      expect(res.status, failureText(res)).to.equal(0);
      const docs = parseManifests(res.stdout);
      expect(get(webhookOf(one(docs, 'MutatingWebhookConfiguration')), 'clientConfig.url')).to.equal(`${row.url}/mutate`);
      const data = obj(one(docs, 'Secret', `${FULLNAME}-tls`)['data'], 'tls data');
      const cert = new X509Certificate(Buffer.from(str(data['tls.crt'], 'tls.crt'), 'base64'));
      expect(row.check(cert), `serving certificate SANs: ${cert.subjectAltName ?? ''}`).not.to.equal(undefined);
      for (const name of SERVICE_NAMES) expect(cert.checkHost(name), `still names ${name}`).to.equal(name);
    });

    it(`certs.mode certManager, url host ${row.name}: the Certificate asks for that host besides the Service's names`, function () {
      const res = template({ values: { webhook: { url: row.url }, certs: { mode: 'certManager' } } });
      expect(res.status, failureText(res)).to.equal(0);
      const certificate = one(parseManifests(res.stdout), 'Certificate', `${FULLNAME}-serving`);
      expect(list(get(certificate, 'spec.dnsNames'), 'dnsNames')).to.deep.equal([...SERVICE_NAMES, ...row.dnsNames]);
      expect(get(certificate, 'spec.ipAddresses') ?? []).to.deep.equal(row.ipAddresses);
    });
  }

  it('certs.extraIpAddresses and a url on the same address: the address once', function () {
    const res = template({ values: { webhook: { url: 'https://127.0.0.1:18443' }, certs: { mode: 'certManager', extraIpAddresses: ['127.0.0.1', '10.0.0.1'] } } });
    expect(res.status, failureText(res)).to.equal(0);
    expect(get(one(parseManifests(res.stdout), 'Certificate', `${FULLNAME}-serving`), 'spec.ipAddresses')).to.deep.equal(['127.0.0.1', '10.0.0.1']);
  });
});
