/**
 * certs.mode=helm renewal, decided by mountgate.helmCerts (templates/_certs.tpl). `helm template`
 * cannot look Secrets up, so a probe chart with mountgate as its subchart hands the helper the
 * Secrets an upgrade would find and prints what it keeps or issues.
 */
import { expect } from 'chai';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { stringify } from 'yaml';
import { CHART_DIR, FULLNAME, NAMESPACE, RELEASE, get, helm, one, parseManifests, str } from './helm.js';

const DAY_MS = 86_400_000;
const DNS = [FULLNAME, `${FULLNAME}.${NAMESPACE}`, `${FULLNAME}.${NAMESPACE}.svc`, `${FULLNAME}.${NAMESPACE}.svc.cluster.local`];

const PROBE = `{{- $in := .Values.probe -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: probe
data:
  result: {{ include "mountgate.helmCerts" (dict "root" .Subcharts.mountgate "oldCa" $in.oldCa "oldTls" $in.oldTls) | quote }}
`;

interface Certs {
  caCrt: string;
  caKey: string;
  previousCaCrt: string;
  caBundle: string;
  tlsCrt: string;
  tlsKey: string;
  sans: string;
}

interface Pair {
  readonly crt: string;
  readonly key: string;
}

type Secret = Record<string, unknown>;

const pem = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const pkcs1 = (keyPem: string): string => createPrivateKey(keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
const days = (n: number): Date => new Date(Date.now() + n * DAY_MS);

/** A self-signed CA valid from `from` to `to` days from now (base64 PEM, as a Secret holds it). */
async function makeCa(from: number, to: number): Promise<Pair> {
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'test-ca' }], {
    algorithm: 'sha256',
    notBeforeDate: days(from),
    notAfterDate: days(to),
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true }],
  });
  return { crt: b64(ca.cert), key: b64(pkcs1(ca.private)) };
}

/** A serving certificate for the release's names, signed by `ca`, valid from `from` to `to` days from now. */
async function makeServing(ca: Pair, from: number, to: number): Promise<Pair> {
  const cert = await selfsigned.generate([{ name: 'commonName', value: `${FULLNAME}.${NAMESPACE}.svc` }], {
    algorithm: 'sha256',
    notBeforeDate: days(from),
    notAfterDate: days(to),
    extensions: [{ name: 'subjectAltName', altNames: DNS.map((value) => ({ type: 2 as const, value })) }],
    ca: { key: createPrivateKey(pem(ca.key)).export({ type: 'pkcs8', format: 'pem' }).toString(), cert: pem(ca.crt) },
  });
  return { crt: b64(cert.cert), key: b64(pkcs1(cert.private)) };
}

const caSecret = (ca: Pair, previous?: string): Secret => ({
  data: { 'tls.crt': ca.crt, 'tls.key': ca.key, ...(previous === undefined ? {} : { 'previous.crt': previous }) },
});
const tlsSecret = (ca: Pair, tls: Pair, sans: string): Secret => ({
  metadata: { annotations: { 'mountgate.io/sans-checksum': sans } },
  data: { 'ca.crt': ca.crt, 'tls.crt': tls.crt, 'tls.key': tls.key },
});

const x509 = (b64pem: string): X509Certificate => new X509Certificate(pem(b64pem));
/** The certificates of a base64 PEM bundle, in order. */
const bundle = (b64pem: string): string[] => pem(b64pem).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
const sameCert = (a: string, b: string): boolean => x509(a).fingerprint256 === x509(b).fingerprint256;

describe('chart: helm-mode certificate renewal (mountgate.helmCerts)', function () {
  let dir = '';
  let fresh: Certs;

  function probe(oldCa: Secret, oldTls: Secret): Certs {
    const values = path.join(dir, 'values.yaml');
    // The subchart requires an image, though the probe renders none of its Pods.
    writeFileSync(values, stringify({ probe: { oldCa, oldTls }, mountgate: { image: { repository: 'registry.example.com/mountgate' } } }));
    const res = helm(['template', RELEASE, path.join(dir, 'probe'), '--namespace', NAMESPACE, '--values', values, '--show-only', 'templates/probe.yaml']);
    if (res.status !== 0) throw new Error(`helm template (probe) failed (${res.status}):\n${res.stderr}`);
    const parsed: unknown = JSON.parse(str(get(one(parseManifests(res.stdout), 'ConfigMap', 'probe'), 'data.result'), 'probe result'));
    const out: Record<string, string> = {};
    for (const key of ['caCrt', 'caKey', 'previousCaCrt', 'caBundle', 'tlsCrt', 'tlsKey', 'sans']) {
      out[key] = str(get(parsed, key), key);
    }
    return { caCrt: '', caKey: '', previousCaCrt: '', caBundle: '', tlsCrt: '', tlsKey: '', sans: '', ...out };
  }

  function expectServingFrom(certs: Certs, caCrt: string, minDaysLeft: number): void {
    const cert = x509(certs.tlsCrt);
    expect(cert.checkIssued(x509(caCrt)), 'serving certificate issued by the CA').to.equal(true);
    expect(cert.verify(x509(caCrt).publicKey), 'serving certificate signed by the CA').to.equal(true);
    expect(cert.checkPrivateKey(createPrivateKey(pem(certs.tlsKey))), 'serving key matches').to.equal(true);
    for (const name of DNS) expect(cert.checkHost(name), name).to.equal(name);
    expect(new Date(cert.validTo).getTime(), `valid to ${cert.validTo}`).to.be.above(days(minDaysLeft).getTime());
  }

  before(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'mountgate-cert-probe-'));
    mkdirSync(path.join(dir, 'probe', 'templates'), { recursive: true });
    cpSync(CHART_DIR, path.join(dir, 'probe', 'charts', 'mountgate'), { recursive: true });
    writeFileSync(path.join(dir, 'probe', 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 0.0.1\n');
    writeFileSync(path.join(dir, 'probe', 'templates', 'probe.yaml'), PROBE);
    fresh = probe({}, {});
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a fresh install issues a CA and a serving certificate signed by it', function () {
    expect(x509(fresh.caCrt).ca).to.equal(true);
    expect(new Date(x509(fresh.caCrt).validTo).getTime()).to.be.above(days(3600).getTime());
    expectServingFrom(fresh, fresh.caCrt, 800);
    expect(fresh.caBundle).to.equal(fresh.caCrt);
    expect(fresh.previousCaCrt).to.equal('');
  });

  it('an upgrade keeps a pair far from expiry, byte for byte', function () {
    const again = probe(caSecret({ crt: fresh.caCrt, key: fresh.caKey }), tlsSecret({ crt: fresh.caCrt, key: fresh.caKey }, { crt: fresh.tlsCrt, key: fresh.tlsKey }, fresh.sans));
    expect(again).to.deep.equal(fresh);
  });

  it('a serving certificate far from expiry is reissued by the same CA when the names it must carry changed', function () {
    // The checksum of the DNS names and IPs (service name, namespace, extra SANs) no longer matches the Secret's.
    const ca = { crt: fresh.caCrt, key: fresh.caKey };
    const out = probe(caSecret(ca), tlsSecret(ca, { crt: fresh.tlsCrt, key: fresh.tlsKey }, `${fresh.sans}-before`));
    expect(out.caCrt).to.equal(fresh.caCrt);
    expect(out.caBundle).to.equal(fresh.caCrt);
    expect(out.tlsKey).to.not.equal(fresh.tlsKey);
    expect(out.sans).to.equal(fresh.sans);
    expectServingFrom(out, fresh.caCrt, 800);
  });

  const servingRows: { name: string; from: number; to: number; kept: boolean }[] = [
    { name: 'is kept with more than a third of its validity left', from: -59, to: 31, kept: true },
    { name: 'is reissued with less than a third of its validity left', from: -61, to: 29, kept: false },
    { name: 'is reissued close to expiry (825 days, 20 left)', from: -805, to: 20, kept: false },
    { name: 'is reissued once expired', from: -900, to: -1, kept: false },
  ];
  for (const row of servingRows) {
    it(`a serving certificate from the same CA ${row.name}; the CA stays`, async function () {
      const ca = { crt: fresh.caCrt, key: fresh.caKey };
      const tls = await makeServing(ca, row.from, row.to);
      const out = probe(caSecret(ca), tlsSecret(ca, tls, fresh.sans));
      expect(out.caCrt).to.equal(fresh.caCrt);
      expect(out.caBundle).to.equal(fresh.caCrt);
      if (row.kept) {
        expect(out.tlsCrt).to.equal(tls.crt);
        expect(out.tlsKey).to.equal(tls.key);
      } else {
        expect(out.tlsKey).to.not.equal(tls.key);
        expectServingFrom(out, fresh.caCrt, 800);
      }
    });
  }

  it('a serving certificate that cannot be read is reissued by the same CA', function () {
    const ca = { crt: fresh.caCrt, key: fresh.caKey };
    const out = probe(caSecret(ca), tlsSecret(ca, { crt: b64('not a certificate'), key: fresh.tlsKey }, fresh.sans));
    expect(out.caCrt).to.equal(fresh.caCrt);
    expectServingFrom(out, fresh.caCrt, 800);
  });

  it('a CA close to expiry is replaced; the caBundle trusts the new and the old CA while the old one lasts', async function () {
    const old = await makeCa(-3000, 600);
    const out = probe(caSecret(old), tlsSecret(old, await makeServing(old, -10, 500), fresh.sans));
    expect(out.caCrt).to.not.equal(old.crt);
    expect(out.previousCaCrt).to.equal(old.crt);
    const certs = bundle(out.caBundle);
    expect(certs).to.have.length(2);
    expect(sameCert(b64(certs[0] ?? ''), out.caCrt), 'the new CA first').to.equal(true);
    expect(sameCert(b64(certs[1] ?? ''), old.crt), 'then the old CA').to.equal(true);
    expectServingFrom(out, out.caCrt, 800);

    const next = probe(caSecret({ crt: out.caCrt, key: out.caKey }, out.previousCaCrt), tlsSecret({ crt: out.caCrt, key: out.caKey }, { crt: out.tlsCrt, key: out.tlsKey }, out.sans));
    expect(next, 'the next upgrade keeps the new pair and the old CA in the bundle').to.deep.equal(out);
  });

  it('an expired CA is replaced and left out of the caBundle', async function () {
    const old = await makeCa(-3700, -5);
    const out = probe(caSecret(old), tlsSecret(old, await makeServing(old, -800, -5), fresh.sans));
    expect(out.caCrt).to.not.equal(old.crt);
    expect(out.previousCaCrt).to.equal('');
    expect(out.caBundle).to.equal(out.caCrt);
    expectServingFrom(out, out.caCrt, 800);
  });

  it('an old CA is dropped from the caBundle once it has expired', async function () {
    const expired = await makeCa(-3700, -1);
    const ca = { crt: fresh.caCrt, key: fresh.caKey };
    const out = probe(caSecret(ca, expired.crt), tlsSecret(ca, { crt: fresh.tlsCrt, key: fresh.tlsKey }, fresh.sans));
    expect(out.previousCaCrt).to.equal('');
    expect(out.caBundle).to.equal(fresh.caCrt);
    expect(out.tlsCrt).to.equal(fresh.tlsCrt);
  });
});
