/**
 * certs.mode=helm against a real API server: `helm upgrade` finds an expired serving certificate
 * in <fullname>-tls (same CA, same names, the Secret's annotations untouched) and reissues it from
 * the same CA, so the caBundle stays and the API server can call the webhooks again.
 */
import { expect } from 'chai';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import path from 'node:path';
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import selfsigned from 'selfsigned';
import { startControlPlane, type ControlPlane } from '../../e2e/controlplane.js';
import { CHART_DIR, IMAGE_VALUES, VALUES_DIR, helm } from '../helm.js';

const NS = 'mountgate-cert-expiry';
const RELEASE = 'mg';
const FULL = 'mg-mountgate';

function field(secret: V1Secret, key: string): string {
  const value = secret.data?.[key];
  if (value === undefined) throw new Error(`Secret ${secret.metadata?.name ?? '?'} has no ${key}`);
  return value;
}
const pem = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe('chart in a cluster: the helm-mode serving certificate after it expires', function () {
  this.timeout(240_000);
  let cp: ControlPlane | undefined;

  function mustHelm(args: string[]): void {
    if (cp === undefined) throw new Error('control plane not started');
    const res = helm([...args, '--kubeconfig', cp.kubeconfigPath]);
    if (res.status !== 0) throw new Error(`helm ${args.slice(0, 2).join(' ')} failed (${res.status}):\n${res.stderr}`);
  }

  before(async function () {
    cp = await startControlPlane();
  });

  after(async function () {
    if (cp === undefined) return;
    helm(['uninstall', RELEASE, '--namespace', NS, '--no-hooks', '--ignore-not-found', '--kubeconfig', cp.kubeconfigPath]);
    await cp.stop();
  });

  it('helm upgrade reissues an expired serving certificate', async function () {
    if (cp === undefined) throw new Error('control plane not started');
    const core = cp.admin.makeApiClient(CoreV1Api);
    const values = ['--values', IMAGE_VALUES, '--values', path.join(VALUES_DIR, 'mode-helm.yaml')];
    mustHelm(['install', RELEASE, CHART_DIR, '--namespace', NS, '--create-namespace', ...values]);

    // What the Secret holds once the certificate issued at install has run out (same CA, same names).
    const ca = await core.readNamespacedSecret({ name: `${FULL}-ca`, namespace: NS });
    const tls = await core.readNamespacedSecret({ name: `${FULL}-tls`, namespace: NS });
    const issued = new X509Certificate(pem(field(tls, 'tls.crt')));
    const names = (issued.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => ({ type: 2 as const, value: n.slice(4) }));
    const expired = await selfsigned.generate([{ name: 'commonName', value: `${FULL}.${NS}.svc` }], {
      algorithm: 'sha256',
      notBeforeDate: new Date(Date.now() - 900 * 86_400_000),
      notAfterDate: new Date(Date.now() - 86_400_000),
      extensions: [{ name: 'subjectAltName', altNames: [...names, { type: 7 as const, ip: '127.0.0.1' }] }],
      ca: { key: createPrivateKey(pem(field(ca, 'tls.key'))).export({ type: 'pkcs8', format: 'pem' }).toString(), cert: pem(field(ca, 'tls.crt')) },
    });
    await core.replaceNamespacedSecret({
      name: `${FULL}-tls`,
      namespace: NS,
      body: { ...tls, data: { ...tls.data, 'tls.crt': b64(expired.cert), 'tls.key': b64(expired.private) } },
    });
    expect(new Date(new X509Certificate(expired.cert).validTo).getTime()).to.be.below(Date.now());

    mustHelm(['upgrade', RELEASE, CHART_DIR, '--namespace', NS, ...values]);
    const renewed = await core.readNamespacedSecret({ name: `${FULL}-tls`, namespace: NS });
    const after = new X509Certificate(pem(field(renewed, 'tls.crt')));
    expect(new Date(after.validTo).getTime(), `the serving certificate after the upgrade is valid to ${after.validTo}`).to.be.above(Date.now() + 800 * 86_400_000);
    const caAfter = await core.readNamespacedSecret({ name: `${FULL}-ca`, namespace: NS });
    expect(field(caAfter, 'tls.crt'), 'the CA is kept').to.equal(field(ca, 'tls.crt'));
    expect(after.verify(new X509Certificate(pem(field(ca, 'tls.crt'))).publicKey), 'signed by the same CA').to.equal(true);
  });
});
