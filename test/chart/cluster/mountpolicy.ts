/**
 * mountPolicies.enabled in a real kube-apiserver (called from install.cluster.ts, on its control
 * plane): the CRD is established; the API server itself refuses MountPolicies that break the
 * CRD's rules, with the chart's words, before any webhook is asked; while mountgate is not running
 * (this suite runs none) the Fail webhook refuses every valid MountPolicy; with the webhook removed
 * a valid one is stored, mountgate's identity may write its status and nothing else, and
 * `kubectl get mpol` shows the chart's columns; uninstall keeps the CRD and the MountPolicies, and
 * a new install of the release takes the kept CRD back.
 */
import { expect } from 'chai';
import path from 'node:path';
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { sleep, type ControlPlane } from '../../e2e/controlplane.js';
import { apiError, isNotFound } from '../../e2e/env.js';
import { CHART_DIR, IMAGE_VALUES, VALUES_DIR, run, type RunResult } from '../helm.js';
import { ROW_SETS, crdOnlyRule, schemaProblems, specRows } from '../mountpolicy-specs.js';
import { MOUNT_POLICY_GROUP as GROUP, MOUNT_POLICY_RESOURCE as PLURAL, MOUNT_POLICY_VERSION as VERSION } from '../../../src/policy/mount-policy.js';

export interface ClusterAccess {
  plane(): ControlPlane;
  helmOn(args: string[]): RunResult;
}

const NS = 'mountgate-chart-mpol';
const RELEASE = 'mp';
const FULL = 'mp-mountgate';
const TEAM = 'team-a';
const CRD = 'mountpolicies.mountgate.io';
const ESTABLISH_TIMEOUT_MS = 30_000;

type Spec = Record<string, unknown>;

function mountPolicy(name: string, spec: Spec): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'MountPolicy', metadata: { name, namespace: TEAM }, spec };
}

function entries(...prefixes: string[]): Spec {
  return { allowedHostPaths: prefixes.map((pathPrefix) => ({ pathPrefix })) };
}

/** A MountPolicy the CRD must refuse, and what the API server must say. */
interface RefusedRow {
  readonly name: string;
  readonly spec: Spec;
  readonly says: readonly string[];
}

const pathField = 'spec.allowedHostPaths[0].pathPrefix';
const invalid = (field: string, message: string): string => `${field}: Invalid value: "string": ${message}`;

const refused: RefusedRow[] = [
  { name: 'a relative pathPrefix', spec: entries('srv/tenants'), says: [invalid(pathField, 'must be an absolute path (start with "/")')] },
  { name: 'pathPrefix "/"', spec: entries('/'), says: [invalid(pathField, 'must not be "/" (that would allow the whole node)')] },
  { name: 'an empty segment', spec: entries('/srv//tenants'), says: [invalid(pathField, 'must not have an empty segment ("//")')] },
  { name: 'a "." segment', spec: entries('/srv/./tenants'), says: [invalid(pathField, 'must not have a "." or ".." segment')] },
  { name: 'a ".." segment at the end', spec: entries('/srv/tenants/..'), says: [invalid(pathField, 'must not have a "." or ".." segment')] },
  { name: 'a control character', spec: entries('/srv/tenants\u0007'), says: [invalid(pathField, 'must not contain a control character (U+0000 to U+001F or U+007F)')] },
  { name: 'DEL', spec: entries('/srv/tenants\u007f'), says: [invalid(pathField, 'must not contain a control character')] },
  { name: 'more than 4096 characters', spec: entries(`/${'a'.repeat(4096)}`), says: [`${pathField}: Too long`] },
  {
    name: '4097 UTF-16 units in 2049 code points',
    spec: entries(`/${'\u{1F600}'.repeat(2048)}`),
    says: [invalid(pathField, 'must be at most 4096 UTF-16 code units long (a character beyond U+FFFF counts twice)')],
  },
  {
    name: '"*" as the first segment',
    spec: entries('/*/tenants'),
    says: [invalid(pathField, 'may use "*", {namespace}, {user} and {sandboxUser} only as whole segments, and not as the first segment')],
  },
  { name: '"*" inside a segment', spec: entries('/srv/team-*'), says: [invalid(pathField, 'may use "*"'), 'only as whole segments'] },
  { name: 'an unknown placeholder', spec: entries('/srv/{tenant}'), says: [invalid(pathField, 'may use "*"'), 'only as whole segments'] },
  {
    name: 'the same pathPrefix twice',
    spec: { allowedHostPaths: [{ pathPrefix: '/srv/a' }, { pathPrefix: '/srv/a', readOnly: true }] },
    says: ['spec.allowedHostPaths[1]: Duplicate value: {"pathPrefix":"/srv/a"}'],
  },
  { name: 'an entry without pathPrefix', spec: { allowedHostPaths: [{ readOnly: true }] }, says: ['spec.allowedHostPaths[0].pathPrefix: Required value'] },
  {
    name: '129 entries',
    spec: entries(...Array.from({ length: 129 }, (_, i) => `/srv/t${i}`)),
    says: ['spec.allowedHostPaths: Too many: 129: must have at most 128 items'],
  },
  { name: 'a relative reserved path', spec: { reservedMountPaths: ['workspace'] }, says: [invalid('spec.reservedMountPaths[0]', 'must be an absolute path (start with "/")')] },
  {
    name: 'a reserved path with "*"',
    spec: { reservedMountPaths: ['/workspace/ok', '/workspace/*'] },
    says: [invalid('spec.reservedMountPaths[1]', 'takes no "*" or placeholders (a reserved path covers everything under it)')],
  },
  { name: 'a reserved path with a placeholder', spec: { reservedMountPaths: ['/home/{user}'] }, says: [invalid('spec.reservedMountPaths[0]', 'takes no "*" or placeholders')] },
  { name: 'a reserved path with ".."', spec: { reservedMountPaths: ['/workspace/../etc'] }, says: [invalid('spec.reservedMountPaths[0]', 'must not have a "." or ".." segment')] },
  { name: 'maxMounts -1', spec: { maxMounts: -1 }, says: ['spec.maxMounts: Invalid value: "integer": must not be negative'] },
  { name: 'maxMounts 1001', spec: { maxMounts: 1001 }, says: ['spec.maxMounts: Invalid value: "integer": must be at most 1000'] },
  { name: 'maxMounts as a string', spec: { maxMounts: '3' }, says: ['spec.maxMounts: Invalid value: "string": spec.maxMounts in body must be of type integer'] },
];

/** MountPolicies at the edges of the rules that the CRD must store. */
const accepted: { name: string; spec: Spec }[] = [
  {
    name: 'tenant',
    spec: {
      allowedHostPaths: [
        { pathPrefix: '/srv/tenants/team-a/', readOnly: false },
        { pathPrefix: '/srv/shared/{namespace}/*', readOnly: true },
        { pathPrefix: '/srv/.cache' },
      ],
      reservedMountPaths: ['/workspace/secrets', '/'],
      maxMounts: 3,
    },
  },
  { name: 'empty', spec: {} },
  { name: 'nothing-allowed', spec: { allowedHostPaths: [], maxMounts: 0 } },
  { name: 'longest', spec: { ...entries(`/${'a'.repeat(4095)}`, `/${'\u{1F600}'.repeat(2047)}`), maxMounts: 1000 } },
  { name: 'widest', spec: entries(...Array.from({ length: 128 }, (_, i) => `/srv/t${i}`)) },
];

export function mountPolicySuite(access: ClusterAccess): void {
  let custom: CustomObjectsApi;
  let admission: AdmissionregistrationV1Api;
  let extensions: ApiextensionsV1Api;

  function mustHelm(args: string[]): string {
    const res = access.helmOn(args);
    if (res.status !== 0) throw new Error(`helm ${args.slice(0, 2).join(' ')} failed (${res.status}):\n${res.stderr}`);
    return res.stdout;
  }
  const values = ['--values', IMAGE_VALUES, '--values', path.join(VALUES_DIR, 'mode-helm.yaml'), '--set', 'mountPolicies.enabled=true', '--set', 'podSecurityPreflight.enabled=false'];
  function create(name: string, spec: Spec, api: CustomObjectsApi = custom): Promise<unknown> {
    return api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: TEAM, plural: PLURAL, body: mountPolicy(name, spec) });
  }
  async function established(): Promise<V1CustomResourceDefinition> {
    const deadline = Date.now() + ESTABLISH_TIMEOUT_MS;
    for (;;) {
      const crd = await extensions.readCustomResourceDefinition({ name: CRD });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true) return crd;
      if (Date.now() > deadline) throw new Error(`${CRD} not established within ${ESTABLISH_TIMEOUT_MS} ms: ${JSON.stringify(crd.status)}`);
      await sleep(200);
    }
  }
  async function as(serviceAccount: string): Promise<KubeConfig> {
    const core = access.plane().admin.makeApiClient(CoreV1Api);
    const token = await core.createNamespacedServiceAccountToken({
      name: serviceAccount, namespace: NS, body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const cluster = access.plane().admin.getCurrentCluster();
    if (cluster === null) throw new Error('the admin kubeconfig has no cluster');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
      users: [{ name: 'sa', token: token.status?.token ?? '' }],
      contexts: [{ name: 'sa', cluster: 'c', user: 'sa' }],
      currentContext: 'sa',
    });
    return kc;
  }
  function kubectl(args: string[], input?: string): RunResult {
    return run(access.plane().kubectl, ['--kubeconfig', access.plane().kubeconfigPath, ...args], process.env, input);
  }

  before(async function () {
    const admin = access.plane().admin;
    custom = admin.makeApiClient(CustomObjectsApi);
    admission = admin.makeApiClient(AdmissionregistrationV1Api);
    extensions = admin.makeApiClient(ApiextensionsV1Api);
    mustHelm(['install', RELEASE, CHART_DIR, '--namespace', NS, '--create-namespace', ...values]);
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: TEAM } } });
  });

  after(async function () {
    access.helmOn(['uninstall', RELEASE, '--namespace', NS, '--no-hooks', '--ignore-not-found']);
    await extensions.deleteCustomResourceDefinition({ name: CRD }).catch(() => undefined);
  });

  it('installs the CRD, and the API server establishes it with its names', async function () {
    const crd = await established();
    expect(crd.status?.acceptedNames?.shortNames).to.deep.equal(['mpol']);
    expect(crd.metadata?.annotations?.['helm.sh/resource-policy']).to.equal('keep');
  });

  it('mountgate\'s identity may read MountPolicies and write their status and its Lease, nothing more', async function () {
    const authz = access.plane().admin.makeApiClient(AuthorizationV1Api);
    const sa = `system:serviceaccount:${NS}:${FULL}`;
    const may = async (attrs: { group: string; resource: string; verb: string; namespace?: string; name?: string; subresource?: string }): Promise<boolean> => {
      const r = await authz.createSubjectAccessReview({
        body: { spec: { user: sa, groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`], resourceAttributes: attrs } },
      });
      return r.status?.allowed === true;
    };
    const rows: { what: string; attrs: Parameters<typeof may>[0]; allowed: boolean }[] = [
      { what: 'watch MountPolicies in every namespace', attrs: { group: GROUP, resource: PLURAL, verb: 'watch' }, allowed: true },
      { what: 'list MountPolicies', attrs: { group: GROUP, resource: PLURAL, verb: 'list' }, allowed: true },
      { what: 'get one MountPolicy (it reads them from its watch)', attrs: { group: GROUP, resource: PLURAL, verb: 'get', namespace: TEAM }, allowed: false },
      { what: 'update a status', attrs: { group: GROUP, resource: PLURAL, subresource: 'status', verb: 'update', namespace: TEAM }, allowed: true },
      { what: 'patch a status (it writes with update alone)', attrs: { group: GROUP, resource: PLURAL, subresource: 'status', verb: 'patch', namespace: TEAM }, allowed: false },
      { what: 'update a MountPolicy', attrs: { group: GROUP, resource: PLURAL, verb: 'update', namespace: TEAM }, allowed: false },
      { what: 'delete a MountPolicy', attrs: { group: GROUP, resource: PLURAL, verb: 'delete', namespace: TEAM }, allowed: false },
      { what: 'create a Lease in the release namespace', attrs: { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: NS }, allowed: true },
      { what: 'renew its Lease', attrs: { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: NS, name: `${FULL}-status` }, allowed: true },
      { what: 'read its Lease', attrs: { group: 'coordination.k8s.io', resource: 'leases', verb: 'get', namespace: NS, name: `${FULL}-status` }, allowed: true },
      { what: 'take another Lease', attrs: { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: NS, name: 'kube-scheduler' }, allowed: false },
      { what: 'create a Lease elsewhere', attrs: { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: 'kube-system' }, allowed: false },
      { what: 'delete its Lease', attrs: { group: 'coordination.k8s.io', resource: 'leases', verb: 'delete', namespace: NS, name: `${FULL}-status` }, allowed: false },
      { what: 'read Secrets', attrs: { group: '', resource: 'secrets', verb: 'get', namespace: NS }, allowed: false },
    ];
    const got = await Promise.all(rows.map(async (r) => `${r.what}: ${String(await may(r.attrs))}`));
    expect(got).to.deep.equal(rows.map((r) => `${r.what}: ${String(r.allowed)}`));
  });

  describe('the API server refuses, with the CRD\'s words, before any webhook is asked', function () {
    for (const row of refused) {
      it(row.name, async function () {
        const status = await apiError(create('refused', row.spec));
        expect(status.code, status.message).to.equal(422);
        for (const s of row.says) expect(status.message).to.include(s);
        expect(status.message).to.not.include('failed calling webhook');
      });
    }
  });

  it('with mountgate not running, the Fail webhook refuses a valid MountPolicy (fail closed)', async function () {
    const status = await apiError(create('tenant', accepted[0]?.spec ?? {}));
    expect(status.message).to.include('failed calling webhook "mountpolicies.validate.mountgate.io"');
  });

  describe('with the webhook out of the way (deleted, as in an emergency removal)', function () {
    before(async function () {
      await admission.deleteValidatingWebhookConfiguration({ name: FULL });
    });

    for (const row of accepted) {
      it(`stores MountPolicy ${row.name}`, async function () {
        await create(row.name, row.spec);
        const stored = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: TEAM, plural: PLURAL, name: row.name });
        expect((stored as { spec?: unknown }).spec ?? {}).to.deep.equal(row.spec);
      });
    }

    // Pruned, a misspelt key would vanish before mountgate's webhook could refuse it (readonly: true stored read-write);
    // dropped, a key left without a value would too (readOnly: stored read-write, allowedHostPaths: as no narrowing).
    for (const [name, spec] of [
      ['unknown-field', { maxMounts: 1, maxMount: 2 }],
      ['unknown-entry-field', { allowedHostPaths: [{ pathPrefix: '/srv/a', readonly: true }] }],
      ['null-read-only', { allowedHostPaths: [{ pathPrefix: '/srv/a', readOnly: null }] }],
      ['null-allowed-host-paths', { allowedHostPaths: null, maxMounts: 1 }],
      ['null-reserved-mount-paths', { reservedMountPaths: null }],
      ['null-max-mounts', { maxMounts: null }],
    ] as const) {
      it(`keeps an unknown key or a null for mountgate to refuse, not pruned, also without strict field validation: ${name}`, async function () {
        const ref = { group: GROUP, version: VERSION, namespace: TEAM, plural: PLURAL, name };
        await create(name, spec);
        try {
          const stored = await custom.getNamespacedCustomObject(ref);
          expect((stored as { spec?: unknown }).spec).to.deep.equal(spec);
        } finally {
          // The uninstall test counts what is kept.
          await custom.deleteNamespacedCustomObject(ref);
        }
      });
    }

    for (const set of ROW_SETS) {
      it(`gives mountgate's verdict on the generated ${set.name} (server dry run, strict field validation)`, async function () {
        const wrong: string[] = [];
        for (const row of specRows(set.arbitrary, set.count, set.seed)) {
          const stored = await custom.createNamespacedCustomObject({
            group: GROUP, version: VERSION, namespace: TEAM, plural: PLURAL, body: mountPolicy('generated', row.spec), dryRun: 'All', fieldValidation: 'Strict',
          }).then(() => undefined, async (e: unknown) => (await apiError(Promise.reject(e))).message);
          const problems = schemaProblems(row.spec);
          const crdOnly = crdOnlyRule(row.spec);
          if (crdOnly !== undefined) {
            if (stored === undefined) wrong.push(`${row.name}: the API server stored it, but the CRD refuses ${crdOnly}`);
          } else if (problems.length === 0 && stored !== undefined) {
            wrong.push(`${row.name}: mountgate accepts it, the API server refused: ${stored}`);
          } else if (problems.length > 0 && stored === undefined) {
            wrong.push(`${row.name}: mountgate refuses it (${problems.join('; ')}), the API server stored it`);
          }
        }
        expect(wrong).to.deep.equal([]);
      });
    }

    it('mountgate\'s identity writes the status (Ready, observedGeneration, the effective allow-list) but cannot change the spec', async function () {
      const asMountgate = (await as(FULL)).makeApiClient(CustomObjectsApi);
      const ref = { group: GROUP, version: VERSION, namespace: TEAM, plural: PLURAL, name: 'tenant' };
      // mountgate takes the object from its watch cache, never by GET: read it as the admin.
      const current = (await custom.getNamespacedCustomObject(ref)) as { metadata: { generation: number; resourceVersion: string }; spec: Spec };
      const status = {
        observedGeneration: current.metadata.generation,
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Enforced', message: 'mountgate enforces generation 1', observedGeneration: current.metadata.generation, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
        ],
        effectiveAllowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a', readOnly: false }],
      };
      await asMountgate.replaceNamespacedCustomObjectStatus({ ...ref, body: { ...current, status } });
      const stored = (await custom.getNamespacedCustomObject(ref)) as { status?: unknown; spec: Spec };
      expect(stored.status).to.deep.equal(status);
      expect(stored.spec).to.deep.equal(current.spec);
      const denied = await apiError(asMountgate.replaceNamespacedCustomObject({ ...ref, body: { ...current, spec: { maxMounts: 1000 } } }));
      expect(denied.code).to.equal(403);
    });

    it('the status schema refuses a condition that is not a metav1.Condition', async function () {
      const ref = { group: GROUP, version: VERSION, namespace: TEAM, plural: PLURAL, name: 'empty' };
      const current = (await custom.getNamespacedCustomObject(ref)) as Record<string, unknown>;
      const bad = await apiError(custom.replaceNamespacedCustomObjectStatus({
        ...ref, body: { ...current, status: { conditions: [{ type: 'Ready', status: 'Maybe', reason: 'x y', message: '' }] } },
      }));
      expect(bad.code).to.equal(422);
      expect(bad.message).to.include('status.conditions[0].status: Unsupported value: "Maybe"');
      expect(bad.message).to.include('status.conditions[0].lastTransitionTime: Required value');
      expect(bad.message).to.include('status.conditions[0].reason: Invalid value: "x y"');
    });

    it('kubectl get mpol shows NAME, READY, REASON, MAX MOUNTS and AGE', function () {
      const res = kubectl(['get', 'mpol', '--namespace', TEAM, 'tenant', 'nothing-allowed']);
      expect(res.status, res.stderr).to.equal(0);
      // Cut each line at the header's column starts: an empty cell is only spaces.
      const [header = '', ...lines] = res.stdout.trimEnd().split('\n');
      const titles = ['NAME', 'READY', 'REASON', 'MAX MOUNTS', 'AGE'];
      const starts = titles.map((t) => header.indexOf(t));
      expect(header.split(/\s{2,}/)).to.deep.equal(titles);
      const cells = lines.map((l) => starts.map((at, i) => l.slice(at, starts[i + 1] ?? l.length).trim()));
      expect(cells.map((c) => c.slice(0, 4))).to.have.deep.members([
        ['tenant', 'True', 'Enforced', '3'],
        ['nothing-allowed', '', '', '0'],
      ]);
    });

    it('helm upgrade puts the webhook back', async function () {
      mustHelm(['upgrade', RELEASE, CHART_DIR, '--namespace', NS, ...values]);
      const v = await admission.readValidatingWebhookConfiguration({ name: FULL });
      expect(v.webhooks?.map((w) => w.name)).to.include('mountpolicies.validate.mountgate.io');
    });
  });

  describe('uninstall', function () {
    it('keeps the CRD and every MountPolicy, and says so; the rest of the release is gone', async function () {
      const out = mustHelm(['uninstall', RELEASE, '--namespace', NS, '--no-hooks']);
      expect(out).to.include(CRD);
      await established();
      const kept = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: TEAM, plural: PLURAL })) as { items: { metadata: { name: string } }[] };
      expect(kept.items.map((i) => i.metadata.name)).to.have.members(accepted.map((a) => a.name));
      expect(await isNotFound(admission.readValidatingWebhookConfiguration({ name: FULL }))).to.equal(true);
      const rbac = kubectl(['get', 'clusterrole', `${FULL}-mountpolicies`, '--ignore-not-found', '-o', 'name']);
      expect(rbac.stdout.trim()).to.equal('');
    });

    it('a new install of the release takes the kept CRD back', async function () {
      mustHelm(['install', RELEASE, CHART_DIR, '--namespace', NS, ...values]);
      const crd = await established();
      expect(crd.metadata?.annotations?.['meta.helm.sh/release-name']).to.equal(RELEASE);
      const kept = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: TEAM, plural: PLURAL })) as { items: unknown[] };
      expect(kept.items).to.have.length(accepted.length);
    });
  });
}
