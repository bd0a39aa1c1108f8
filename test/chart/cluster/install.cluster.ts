/**
 * The chart installed into a real kube-apiserver (the e2e control plane: etcd + kube-apiserver on
 * 127.0.0.1, no kubelet or controllers). The API server validates every object (the CEL
 * matchConditions included); `lookup` sees real Secrets, so this checks that upgrades keep the
 * certificate and caBundle, reissue from the same CA when the names change, and that the
 * pre-delete hook's RBAC lets cleanup.js delete exactly this release's webhook configurations.
 * The MountPolicy CRD and its rules are checked in ./mountpolicy.ts, on the same control plane.
 *
 * Run: npm run test:chart:cluster (mocha --config test/chart/cluster/.mocharc.json).
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import {
  AdmissionregistrationV1Api,
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PolicyV1Api,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../e2e/controlplane.js';
import { ACCEPTED_EDGE_VALUES, API_SERVER_REFUSES } from '../api-server-values.js';
import { CHART_DIR, IMAGE_VALUES, VALUES_DIR, get, helm, isObj, parseManifests, templateArgs, valuesFile, type RunResult } from '../helm.js';
import { testCa } from '../fixtures.js';
import { mountPolicySuite } from './mountpolicy.js';

const NS = 'mountgate-chart-it';
const RELEASE = 'mg';
const FULL = 'mg-mountgate';
const CLEANUP_JS = path.join(CHART_DIR, 'files', 'cleanup.js');

function isNotFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}

describe('the chart in a real kube-apiserver', function () {
  this.timeout(240_000);
  let cp: ControlPlane | undefined;
  let core: CoreV1Api;
  let admission: AdmissionregistrationV1Api;
  let objects: KubernetesObjectApi;

  function plane(): ControlPlane {
    if (cp === undefined) throw new Error('control plane not started');
    return cp;
  }
  function helmOn(args: string[]): RunResult {
    return helm([...args, '--kubeconfig', plane().kubeconfigPath]);
  }
  function mustHelm(args: string[]): string {
    const res = helmOn(args);
    if (res.status !== 0) throw new Error(`helm ${args.slice(0, 2).join(' ')} failed (${res.status}):\n${res.stderr}`);
    return res.stdout;
  }
  const helmModeValues = ['--values', IMAGE_VALUES, '--values', path.join(VALUES_DIR, 'mode-helm.yaml')];
  function upgrade(extra: string[]): void {
    mustHelm(['upgrade', RELEASE, CHART_DIR, '--namespace', NS, ...helmModeValues, ...extra]);
  }
  async function secret(name: string): Promise<V1Secret> {
    return core.readNamespacedSecret({ name, namespace: NS });
  }
  function data(s: V1Secret, key: string): string {
    const v = s.data?.[key];
    if (v === undefined) throw new Error(`Secret ${s.metadata?.name ?? '?'} has no ${key}`);
    return v;
  }
  async function caBundles(): Promise<(string | undefined)[]> {
    const m = await admission.readMutatingWebhookConfiguration({ name: FULL });
    const v = await admission.readValidatingWebhookConfiguration({ name: FULL });
    return [m.webhooks?.[0]?.clientConfig.caBundle, v.webhooks?.[0]?.clientConfig.caBundle];
  }
  function cert(b64: string): X509Certificate {
    return new X509Certificate(Buffer.from(b64, 'base64'));
  }

  before(async function () {
    cp = await startControlPlane();
    core = cp.admin.makeApiClient(CoreV1Api);
    admission = cp.admin.makeApiClient(AdmissionregistrationV1Api);
    objects = KubernetesObjectApi.makeApiClient(cp.admin);
  });

  after(async function () {
    if (cp === undefined) return;
    helmOn(['uninstall', RELEASE, '--namespace', NS, '--no-hooks', '--ignore-not-found']);
    helmOn(['uninstall', 'mg2', '--namespace', `${NS}-2`, '--no-hooks', '--ignore-not-found']);
    await cp.stop();
  });

  it('installs in helm mode with a NetworkPolicy; the API server accepts every object', async function () {
    mustHelm([
      'install', RELEASE, CHART_DIR, '--namespace', NS, '--create-namespace', ...helmModeValues,
      '--set', 'networkPolicy.enabled=true', '--set', 'networkPolicy.apiServerCIDRs={127.0.0.1/32}',
      '--set', 'podSecurityPreflight.enabled=true',
    ]);
    const m = await admission.readMutatingWebhookConfiguration({ name: FULL });
    expect(m.webhooks?.[0]?.matchConditions?.[0]?.expression).to.equal(
      "has(object.metadata.annotations) && 'mountgate.io/mounts' in object.metadata.annotations",
    );
    expect(m.webhooks?.[0]?.namespaceSelector?.matchExpressions?.[0]?.values).to.deep.equal(['kube-system', NS]);
    const d = await cp?.admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: FULL, namespace: NS });
    expect(d?.spec?.template.spec?.securityContext?.runAsNonRoot).to.equal(true);
    // The real cluster version turns on the PDB field that needs Kubernetes >= 1.27.
    const pdb = await cp?.admin.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: FULL, namespace: NS });
    expect(pdb?.spec?.unhealthyPodEvictionPolicy).to.equal('AlwaysAllow');
  });

  /** Every object of a render with these values, created in a server dry run: the API server's complaints, one per refused object. */
  async function dryRunRefusals(values: Record<string, unknown>, extraArgs: readonly string[] = []): Promise<string[]> {
    const file = valuesFile(values);
    let rendered: string;
    try {
      rendered = mustHelm(templateArgs({ release: 'edge', namespace: NS, files: [path.join(VALUES_DIR, 'mode-helm.yaml'), file.file], extraArgs }));
    } finally {
      file.cleanup();
    }
    const refusals: string[] = [];
    for (const manifest of parseManifests(rendered)) {
      // The helm test Pod and the hooks are not installed by `helm install` itself.
      const annotations = get(manifest, 'metadata.annotations');
      if (isObj(annotations) && 'helm.sh/hook' in annotations) continue;
      try {
        await objects.create(manifest as KubernetesObject, undefined, 'All');
      } catch (error) {
        if (!(error instanceof ApiException)) throw error;
        refusals.push(`${String(manifest['kind'])}: ${statusMessage(error.body)}`);
      }
    }
    return refusals;
  }

  it('takes every object rendered with the edge values the schema accepts (server dry run)', async function () {
    expect(await dryRunRefusals(ACCEPTED_EDGE_VALUES)).to.deep.equal([]);
  });

  for (const row of API_SERVER_REFUSES) {
    it(`refuses an object rendered past the schema with ${row.name} (server dry run), as the schema does`, async function () {
      const refusals = await dryRunRefusals(row.values, ['--skip-schema-validation']);
      expect(refusals.some((refusal) => refusal.includes(row.apiServerSays)), refusals.join('\n') || 'nothing refused').to.equal(true);
    });
  }

  it('with podSecurityPreflight, the webhook identity may list namespaces and nothing more', async function () {
    const sa = `system:serviceaccount:${NS}:${FULL}`;
    const review = async (resource: string, verb: string): Promise<boolean> => {
      const r = await plane().admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: { spec: { user: sa, groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`], resourceAttributes: { resource, verb } } },
      });
      return r.status?.allowed === true;
    };
    expect(await review('namespaces', 'list')).to.equal(true);
    expect(await review('namespaces', 'watch')).to.equal(true);
    expect(await review('namespaces', 'get')).to.equal(false);
    expect(await review('namespaces', 'update')).to.equal(false);
    expect(await review('secrets', 'get')).to.equal(false);
    expect(await review('pods', 'list')).to.equal(false);
  });

  it('wires the generated CA into both webhooks and signs the serving certificate with it', async function () {
    const ca = await secret(`${FULL}-ca`);
    const tls = await secret(`${FULL}-tls`);
    expect(data(tls, 'ca.crt')).to.equal(data(ca, 'tls.crt'));
    expect(await caBundles()).to.deep.equal([data(ca, 'tls.crt'), data(ca, 'tls.crt')]);
    const serving = cert(data(tls, 'tls.crt'));
    expect(serving.checkIssued(cert(data(ca, 'tls.crt')))).to.equal(true);
    expect(serving.checkHost(`${FULL}.${NS}.svc`)).to.equal(`${FULL}.${NS}.svc`);
  });

  it('an upgrade keeps the certificate, key and caBundle byte for byte (lookup)', async function () {
    const before = { ca: await secret(`${FULL}-ca`), tls: await secret(`${FULL}-tls`), bundles: await caBundles() };
    upgrade(['--set', 'replicaCount=3']);
    const tls = await secret(`${FULL}-tls`);
    expect(tls.data).to.deep.equal(before.tls.data);
    expect((await secret(`${FULL}-ca`)).data).to.deep.equal(before.ca.data);
    expect(await caBundles()).to.deep.equal(before.bundles);
  });

  it('new certificate names reissue the serving certificate from the same CA; caBundle stays', async function () {
    const before = { ca: await secret(`${FULL}-ca`), tls: await secret(`${FULL}-tls`), bundles: await caBundles() };
    upgrade(['--set', 'certs.extraDnsNames={localhost,webhook.example.com}']);
    const tls = await secret(`${FULL}-tls`);
    expect(data(tls, 'tls.crt')).to.not.equal(data(before.tls, 'tls.crt'));
    expect((await secret(`${FULL}-ca`)).data).to.deep.equal(before.ca.data);
    expect(await caBundles()).to.deep.equal(before.bundles);
    const serving = cert(data(tls, 'tls.crt'));
    expect(serving.checkHost('webhook.example.com')).to.equal('webhook.example.com');
    expect(serving.checkIssued(cert(data(before.ca, 'tls.crt')))).to.equal(true);
  });

  it('a deleted serving Secret is recreated from the same CA on the next upgrade', async function () {
    const ca = await secret(`${FULL}-ca`);
    await core.deleteNamespacedSecret({ name: `${FULL}-tls`, namespace: NS });
    upgrade(['--set', 'certs.extraDnsNames={localhost,webhook.example.com}']);
    const tls = await secret(`${FULL}-tls`);
    expect(data(tls, 'ca.crt')).to.equal(data(ca, 'tls.crt'));
    expect(cert(data(tls, 'tls.crt')).checkIssued(cert(data(ca, 'tls.crt')))).to.equal(true);
  });

  it('after an emergency removal of the webhooks, helm upgrade puts them back (as the README says)', async function () {
    const bundles = await caBundles();
    await admission.deleteMutatingWebhookConfiguration({ name: FULL });
    await admission.deleteValidatingWebhookConfiguration({ name: FULL });
    upgrade(['--set', 'certs.extraDnsNames={localhost,webhook.example.com}']);
    expect(await caBundles()).to.deep.equal(bundles);
  });

  it('the pre-delete hook identity may delete exactly these webhook configurations, and cleanup.js does', async function () {
    // The hook's ServiceAccount and RBAC as the chart renders them (the Job needs a kubelet).
    const rendered = helmOn([...templateArgs({ release: RELEASE, namespace: NS, files: [path.join(VALUES_DIR, 'mode-helm.yaml')] }),
      '--show-only', 'templates/cleanup-hook.yaml']);
    expect(rendered.status, rendered.stderr).to.equal(0);
    const docs = parseManifests(rendered.stdout);
    const job = docs.find((d) => d['kind'] === 'Job');
    const env = get(job, 'spec.template.spec.containers.0.env.0.value');
    expect(env).to.be.a('string');
    for (const d of docs.filter((x) => x['kind'] !== 'Job')) {
      await objects.create(d as KubernetesObject);
    }
    const decoy = 'not-mountgate';
    await admission.createMutatingWebhookConfiguration({
      body: { metadata: { name: decoy }, webhooks: [] },
    });

    const token = await core.createNamespacedServiceAccountToken({
      name: `${FULL}-cleanup`, namespace: NS, body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const saDir = mkdtempSync(path.join(tmpdir(), 'mountgate-cleanup-sa-'));
    try {
      writeFileSync(path.join(saDir, 'token'), token.status?.token ?? '');
      const caData = plane().admin.getCurrentCluster()?.caData ?? '';
      writeFileSync(path.join(saDir, 'ca.crt'), Buffer.from(caData, 'base64'));
      const server = new URL(plane().server);
      const baseEnv = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        KUBERNETES_SERVICE_HOST: server.hostname,
        KUBERNETES_SERVICE_PORT: server.port || '443',
        MOUNTGATE_SA_DIR: saDir,
      };

      const forbidden = await runNode(CLEANUP_JS, { ...baseEnv, MOUNTGATE_WEBHOOKS: `mutatingwebhookconfigurations/${decoy}` });
      expect(forbidden.code, forbidden.out).to.equal(1);
      expect(forbidden.out).to.include('403');
      await admission.readMutatingWebhookConfiguration({ name: decoy });

      const ok = await runNode(CLEANUP_JS, { ...baseEnv, MOUNTGATE_WEBHOOKS: String(env) });
      expect(ok.code, ok.out).to.equal(0);
      for (const read of [
        () => admission.readMutatingWebhookConfiguration({ name: FULL }),
        () => admission.readValidatingWebhookConfiguration({ name: FULL }),
      ]) {
        let gone = false;
        try {
          await read();
        } catch (e) {
          gone = isNotFound(e);
        }
        expect(gone).to.equal(true);
      }
      // Once gone, a second run is a no-op success.
      const again = await runNode(CLEANUP_JS, { ...baseEnv, MOUNTGATE_WEBHOOKS: String(env) });
      expect(again.code, again.out).to.equal(0);
      expect(again.out).to.include('already gone');
    } finally {
      rmSync(saDir, { recursive: true, force: true });
      await admission.deleteMutatingWebhookConfiguration({ name: decoy });
      for (const d of docs.filter((x) => x['kind'] !== 'Job')) {
        await objects.delete(d as KubernetesObject).catch(() => undefined);
      }
    }
  });

  it('a pre-delete Job that cannot finish stops the uninstall with the webhooks in place, and, as the README says, leaves only the failed Job behind (Helm removes the hook ServiceAccount and RBAC)', async function () {
    // No controller manager here, so the Job never completes: the hook fails as one whose image cannot be pulled does.
    upgrade([]);
    const res = helmOn(['uninstall', RELEASE, '--namespace', NS, '--timeout', '10s']);
    expect(res.status, res.stderr).to.not.equal(0);
    await admission.readMutatingWebhookConfiguration({ name: FULL });
    await admission.readValidatingWebhookConfiguration({ name: FULL });
    const left: string[] = [];
    for (const ref of [
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: `${FULL}-cleanup`, namespace: NS } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `${FULL}-cleanup`, namespace: NS } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `${FULL}-cleanup` } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${FULL}-cleanup` } },
    ]) {
      const found = await objects.read(ref).then(() => true, (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)));
      if (found) left.push(ref.kind);
      if (found) await objects.delete(ref);
    }
    // No identity that may delete the webhooks outlives the failed uninstall; the Job is deleted by hand (README, "Uninstall").
    expect(left).to.deep.equal(['Job']);
  });

  it('uninstall removes the release objects', async function () {
    mustHelm(['uninstall', RELEASE, '--namespace', NS, '--no-hooks']);
    let gone = false;
    try {
      await secret(`${FULL}-tls`);
    } catch (e) {
      gone = isNotFound(e);
    }
    expect(gone).to.equal(true);
  });

  it('installs in secret mode pointed at a URL (the out-of-cluster setup the e2e suite can use)', async function () {
    const ns2 = `${NS}-2`;
    mustHelm([
      'install', 'mg2', CHART_DIR, '--namespace', ns2, '--create-namespace',
      '--values', IMAGE_VALUES, '--values', path.join(VALUES_DIR, 'mode-secret.yaml'),
      '--set-file', `certs.secret.caBundle=${testCa().caFile}`,
      '--set', 'webhook.url=https://127.0.0.1:18443',
    ]);
    const m = await admission.readMutatingWebhookConfiguration({ name: 'mg2-mountgate' });
    expect(m.webhooks?.[0]?.clientConfig.url).to.equal('https://127.0.0.1:18443/mutate');
    expect(Buffer.from(m.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8').trim()).to.equal(
      readFileSync(testCa().caFile, 'utf8').trim(),
    );
    mustHelm(['uninstall', 'mg2', '--namespace', ns2, '--no-hooks']);
  });

  describe('with mountPolicies.enabled (a release of its own)', function () {
    mountPolicySuite({ plane, helmOn });
  });
});

/** The message of a Status the API server answered with, else the body as it came. */
function statusMessage(body: unknown): string {
  try {
    const status: unknown = JSON.parse(String(body));
    if (isObj(status) && typeof status['message'] === 'string') return status['message'];
  } catch {
    // Not JSON: the body as it came.
  }
  return String(body);
}

function runNode(file: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', readFileSync(file, 'utf8')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}
