/**
 * mountPolicies: off (the default), the chart renders what it rendered before the feature existed;
 * on, it adds the MountPolicy CRD, the mountpolicies webhook, the RBAC, the serve flags and the
 * Lease env, and changes nothing else. The CRD's rules themselves are exercised against a real
 * API server in test/chart/cluster.
 */
import { expect } from 'chai';
import path from 'node:path';
import {
  FULLNAME,
  NAMESPACE,
  VALUES_DIR,
  all,
  container,
  flagValue,
  get,
  isObj,
  kindOf,
  list,
  nameOf,
  obj,
  one,
  render,
  str,
  webhookNamed,
  type Obj,
} from './helm.js';
import { modeRows } from './fixtures.js';

const CRD = 'mountpolicies.mountgate.io';
const WEBHOOK = 'mountpolicies.validate.mountgate.io';
const LEASE = `${FULLNAME}-status`;
const READER = `${FULLNAME}-mountpolicies`;
const ON = { mountPolicies: { enabled: true } };

function podSpec(docs: Obj[]): Obj {
  return obj(get(one(docs, 'Deployment'), 'spec.template.spec'), 'pod spec');
}
function args(docs: Obj[]): unknown[] {
  return list(container(podSpec(docs), 'mountgate')['args'], 'args');
}
function env(docs: Obj[]): unknown[] {
  const e = container(podSpec(docs), 'mountgate')['env'];
  return e === undefined ? [] : list(e, 'env');
}
function validatingConfig(docs: Obj[]): Obj {
  return one(docs, 'ValidatingWebhookConfiguration', FULLNAME);
}
function mountPolicyHook(docs: Obj[]): Obj {
  return webhookNamed(validatingConfig(docs), WEBHOOK);
}
function hookNames(docs: Obj[]): unknown[] {
  return list(get(validatingConfig(docs), 'webhooks'), 'webhooks').map((h) => get(h, 'name'));
}
function crdVersion(docs: Obj[]): Obj {
  const versions = list(get(one(docs, 'CustomResourceDefinition', CRD), 'spec.versions'), 'versions');
  expect(versions).to.have.length(1);
  return obj(versions[0], 'version');
}
function schemaAt(docs: Obj[], dotted: string): Obj {
  return obj(get(crdVersion(docs), `schema.openAPIV3Schema.${dotted}`), dotted);
}
function cleanupTargets(docs: Obj[]): unknown {
  const job = one(docs, 'Job', `${FULLNAME}-cleanup`);
  const e = list(get(container(get(job, 'spec.template.spec'), 'cleanup'), 'env'), 'cleanup env');
  return get(e.find((x) => isObj(x) && x['name'] === 'MOUNTGATE_WEBHOOKS'), 'value');
}

/** Every schema node below `node`, with its path. */
function schemaNodes(node: Obj, at: string): { at: string; node: Obj }[] {
  const out = [{ at, node }];
  const props = node['properties'];
  if (isObj(props)) for (const [k, v] of Object.entries(props)) out.push(...schemaNodes(obj(v, `${at}.${k}`), `${at}.${k}`));
  if (isObj(node['items'])) out.push(...schemaNodes(node['items'], `${at}[]`));
  return out;
}

/**
 * The enabled render with exactly what mountPolicies adds taken away; what is left must equal
 * the disabled render. `apiFromFeature`: whether another feature (the Pod Security preflight)
 * already gives the Pod a token and the NetworkPolicy its API-server egress rule.
 */
function withoutMountPolicies(docs: Obj[], apiFromFeature: boolean): Obj[] {
  const added = new Set([
    `CustomResourceDefinition/${CRD}`,
    `ClusterRole/${READER}`,
    `ClusterRoleBinding/${READER}`,
    `Role/${LEASE}`,
    `RoleBinding/${LEASE}`,
  ]);
  const copy: Obj[] = JSON.parse(JSON.stringify(docs.filter((d) => !added.has(`${kindOf(d)}/${nameOf(d)}`)))) as Obj[];
  for (const d of copy) {
    if (kindOf(d) === 'ValidatingWebhookConfiguration') {
      d['webhooks'] = list(d['webhooks'], 'webhooks').filter((h) => get(h, 'name') !== WEBHOOK);
    }
    if (kindOf(d) === 'Deployment') {
      const spec = obj(get(d, 'spec.template.spec'), 'pod spec');
      const c = container(spec, 'mountgate');
      const a = list(c['args'], 'args');
      const at = a.indexOf('--mount-policies');
      expect(a.slice(at, at + 3), 'the added args, together').to.deep.equal(['--mount-policies', '--lease-name', LEASE]);
      c['args'] = [...a.slice(0, at), ...a.slice(at + 3)];
      const e = list(c['env'], 'env').filter((x) => !['MOUNTGATE_LEASE_NAMESPACE', 'MOUNTGATE_IDENTITY'].includes(String(get(x, 'name'))));
      if (e.length === 0) delete c['env'];
      else c['env'] = e;
      if (!apiFromFeature) {
        expect(spec['automountServiceAccountToken']).to.equal(true);
        spec['automountServiceAccountToken'] = false;
      }
    }
    if (kindOf(d) === 'NetworkPolicy' && !apiFromFeature) {
      const egress = list(get(d, 'spec.egress'), 'egress');
      expect(get(egress[0], 'ports.0.port'), 'the API-server rule comes first').to.equal(443);
      obj(d['spec'], 'spec')['egress'] = egress.slice(1);
    }
  }
  return copy;
}

describe('mountPolicies', function () {
  describe('off: nothing new', function () {
    const ca = modeRows().find((r) => r.mode === 'secret');
    if (ca === undefined) throw new Error('no secret-mode row');
    // Secret mode, so two renders carry the same certificates and can be compared whole.
    const rows: { name: string; files: string[]; values: Record<string, unknown>; apiFromFeature: boolean }[] = [
      { name: 'defaults', files: ca.files, values: {}, apiFromFeature: true },
      {
        name: 'Pod Security preflight off, NetworkPolicy on',
        files: ca.files,
        values: { podSecurityPreflight: { enabled: false }, networkPolicy: { enabled: true } },
        apiFromFeature: false,
      },
      { name: 'every other feature on (full.yaml)', files: [...ca.files, path.join(VALUES_DIR, 'full.yaml')], values: {}, apiFromFeature: true },
      {
        name: 'extra env and args, a Pod-webhook url',
        files: ca.files,
        values: { server: { extraEnv: [{ name: 'A', value: 'b' }], extraArgs: ['--x'] }, webhook: { url: 'https://127.0.0.1:9443' } },
        apiFromFeature: true,
      },
    ];
    for (const row of rows) {
      it(`${row.name}: off mentions no MountPolicy, Lease or mount-policies flag`, function () {
        const docs = render({ files: row.files, setFile: ca.setFile, values: { ...row.values, mountPolicies: { enabled: false } } });
        expect(JSON.stringify(docs)).to.not.match(/mountpolic|mount-policies|MOUNTGATE_(IDENTITY|LEASE)|coordination\.k8s\.io|CustomResourceDefinition/i);
      });

      it(`${row.name}: on adds only the CRD, the webhook, the RBAC, the flags and the env`, function () {
        const off = render({ files: row.files, setFile: ca.setFile, values: { ...row.values, mountPolicies: { enabled: false } } });
        const onDocs = render({ files: row.files, setFile: ca.setFile, values: { ...row.values, ...ON } });
        expect(onDocs.length).to.equal(off.length + 5);
        expect(withoutMountPolicies(onDocs, row.apiFromFeature)).to.deep.equal(off);
      });
    }

    it('the default is off', function () {
      const docs = render({ files: ca.files, setFile: ca.setFile });
      expect(all(docs, 'CustomResourceDefinition')).to.have.length(0);
      expect(hookNames(docs)).to.not.include(WEBHOOK);
    });
  });

  describe('on: the CRD', function () {
    let docs: Obj[] = [];
    before(function () {
      docs = render({ values: ON });
    });

    it('mountpolicies.mountgate.io: namespaced MountPolicy, short name mpol, v1alpha1 served and stored, status subresource', function () {
      const crd = one(docs, 'CustomResourceDefinition', CRD);
      expect(get(crd, 'spec.group')).to.equal('mountgate.io');
      expect(get(crd, 'spec.scope')).to.equal('Namespaced');
      expect(get(crd, 'spec.names')).to.deep.include({ kind: 'MountPolicy', listKind: 'MountPolicyList', plural: 'mountpolicies', singular: 'mountpolicy', shortNames: ['mpol'] });
      const v = crdVersion(docs);
      expect([v['name'], v['served'], v['storage']]).to.deep.equal(['v1alpha1', true, true]);
      expect(v['subresources']).to.deep.equal({ status: {} });
    });

    it('is kept on uninstall (helm.sh/resource-policy: keep) and is not a hook', function () {
      const ann = obj(get(one(docs, 'CustomResourceDefinition', CRD), 'metadata.annotations'), 'annotations');
      expect(ann).to.deep.equal({ 'helm.sh/resource-policy': 'keep' });
    });

    it('printer columns: Ready and Reason of the Ready condition, Max Mounts, Age', function () {
      expect(crdVersion(docs)['additionalPrinterColumns']).to.deep.equal([
        { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether mountgate enforces this generation (False names the reason).' },
        { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
        { name: 'Max Mounts', type: 'integer', jsonPath: '.spec.maxMounts' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ]);
    });

    it('spec: exactly allowedHostPaths (keyed by pathPrefix), reservedMountPaths and maxMounts, every key optional', function () {
      const spec = schemaAt(docs, 'properties.spec');
      expect(Object.keys(obj(spec['properties'], 'spec.properties'))).to.deep.equal(['allowedHostPaths', 'reservedMountPaths', 'maxMounts']);
      expect(spec['required']).to.equal(undefined);
      const entries = schemaAt(docs, 'properties.spec.properties.allowedHostPaths');
      expect(entries['x-kubernetes-list-type']).to.equal('map');
      expect(entries['x-kubernetes-list-map-keys']).to.deep.equal(['pathPrefix']);
      const item = obj(entries['items'], 'items');
      expect(Object.keys(obj(item['properties'], 'item properties'))).to.deep.equal(['pathPrefix', 'readOnly']);
      expect(item['required']).to.deep.equal(['pathPrefix']);
      expect(get(item, 'properties.readOnly.type')).to.equal('boolean');
      expect(get(spec, 'properties.maxMounts.type')).to.equal('integer');
      expect(get(spec, 'properties.reservedMountPaths.items.type')).to.equal('string');
    });

    it('spec: structural and bounded (typed nodes, unknown keys kept only where mountgate refuses them, every string and list has a maximum)', function () {
      // Kept rather than pruned, so that a misspelt key reaches mountgate's webhook (yup's noUnknown) instead of vanishing.
      const keepsUnknown = ['spec', 'spec.allowedHostPaths[]'];
      expect(get(crdVersion(docs), 'schema.openAPIV3Schema.x-kubernetes-preserve-unknown-fields'), 'the object itself (a misspelt spec)').to.equal(true);
      for (const { at, node } of schemaNodes(schemaAt(docs, 'properties.spec'), 'spec')) {
        expect(node['type'], `${at} type`).to.be.oneOf(['object', 'array', 'string', 'integer', 'boolean']);
        expect(node['additionalProperties'], at).to.equal(undefined);
        expect(node['x-kubernetes-preserve-unknown-fields'], at).to.equal(keepsUnknown.includes(at) ? true : undefined);
        if (node['type'] === 'string') expect(node['maxLength'], `${at} maxLength`).to.equal(4096);
        if (node['type'] === 'array') expect(node['maxItems'], `${at} maxItems`).to.equal(128);
      }
    });

    it('spec: every optional key is nullable, so that a null (a key left empty, `readOnly:`) reaches mountgate, which refuses it, instead of being dropped', function () {
      // The API server drops a null it may not keep before anyone reads the object: `readOnly:` would be stored as
      // read-write, `allowedHostPaths:` as no narrowing at all. Nulls in lists, and pathPrefix (required), are refused by
      // the API server itself, so those stay non-nullable.
      const nullable = ['spec', 'spec.allowedHostPaths', 'spec.allowedHostPaths[].readOnly', 'spec.reservedMountPaths', 'spec.maxMounts'];
      for (const { at, node } of schemaNodes(schemaAt(docs, 'properties.spec'), 'spec')) {
        expect(node['nullable'], at).to.equal(nullable.includes(at) ? true : undefined);
      }
    });

    it('status: observedGeneration, metav1.Condition list keyed by type, effectiveAllowedHostPaths', function () {
      const status = schemaAt(docs, 'properties.status');
      expect(Object.keys(obj(status['properties'], 'status.properties'))).to.deep.equal(['observedGeneration', 'conditions', 'effectiveAllowedHostPaths']);
      expect(get(status, 'properties.observedGeneration')).to.include({ type: 'integer', format: 'int64', minimum: 0 });
      const conditions = obj(get(status, 'properties.conditions'), 'conditions');
      expect(conditions['x-kubernetes-list-type']).to.equal('map');
      expect(conditions['x-kubernetes-list-map-keys']).to.deep.equal(['type']);
      expect(get(conditions, 'items.required')).to.have.members(['type', 'status', 'lastTransitionTime', 'reason', 'message']);
      expect(get(conditions, 'items.properties.status.enum')).to.deep.equal(['True', 'False', 'Unknown']);
      expect(get(conditions, 'items.properties.lastTransitionTime')).to.deep.equal({ type: 'string', format: 'date-time' });
      expect(get(status, 'properties.effectiveAllowedHostPaths.items.properties.readOnly.type')).to.equal('boolean');
    });

    it('the CEL rules of pathPrefix and reservedMountPaths say what they refuse', function () {
      const messages = (at: string): unknown[] =>
        list(get(schemaAt(docs, at), 'x-kubernetes-validations'), `${at} rules`).map((r) => get(r, 'message'));
      const shared = [
        'must be an absolute path (start with "/")',
        'must not have an empty segment ("//")',
        'must not have a "." or ".." segment',
        'must not contain a control character (U+0000 to U+001F or U+007F)',
        'must be at most 4096 UTF-16 code units long (a character beyond U+FFFF counts twice)',
      ];
      expect(messages('properties.spec.properties.allowedHostPaths.items.properties.pathPrefix')).to.include.members([
        ...shared,
        'must not be "/" (that would allow the whole node)',
      ]);
      expect(messages('properties.spec.properties.reservedMountPaths.items')).to.include.members([
        ...shared,
        'takes no "*" or placeholders (a reserved path covers everything under it)',
      ]);
      expect(messages('properties.spec.properties.maxMounts')).to.deep.equal(['must not be negative', 'must be at most 1000']);
    });

    it('mountPolicies.installCRD=false leaves the CRD out and everything else in', function () {
      const without = render({ values: { mountPolicies: { enabled: true, installCRD: false } } });
      expect(all(without, 'CustomResourceDefinition')).to.have.length(0);
      expect(hookNames(without)).to.include(WEBHOOK);
      expect(args(without)).to.include('--mount-policies');
    });
  });

  describe('on: the webhook', function () {
    for (const row of modeRows()) {
      it(`certs ${row.name}: CREATE/UPDATE mountpolicies to /validate-mountpolicy, Fail, every namespace, same caBundle`, function () {
        const docs = render({ files: row.files, setFile: row.setFile, values: ON });
        expect(hookNames(docs)).to.deep.equal(['pods.validate.mountgate.io', 'annotations.validate.mountgate.io', WEBHOOK]);
        const h = mountPolicyHook(docs);
        expect(h['rules']).to.deep.equal([
          { apiGroups: ['mountgate.io'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], resources: ['mountpolicies'], scope: 'Namespaced' },
        ]);
        expect([h['failurePolicy'], h['sideEffects'], h['admissionReviewVersions'], h['matchPolicy']]).to.deep.equal(['Fail', 'None', ['v1'], 'Equivalent']);
        expect(h['namespaceSelector']).to.deep.equal({});
        expect(h['objectSelector']).to.deep.equal({});
        expect(h['matchConditions']).to.equal(undefined);
        const pods = webhookNamed(validatingConfig(docs), 'pods.validate.mountgate.io');
        const cc = obj(h['clientConfig'], 'clientConfig');
        const podsCc = obj(pods['clientConfig'], 'pods clientConfig');
        expect(cc['caBundle']).to.equal(podsCc['caBundle']);
        expect(cc['service']).to.deep.equal({ ...obj(podsCc['service'], 'service'), path: '/validate-mountpolicy' });
      });
    }

    const rows: { name: string; values: Record<string, unknown>; check(docs: Obj[]): void }[] = [
      {
        name: 'failurePolicy stays Fail when the Pod webhooks Ignore; timeoutSeconds is shared',
        values: { webhook: { failurePolicy: 'Ignore', timeoutSeconds: 9 } },
        check(docs) {
          expect(mountPolicyHook(docs)['failurePolicy']).to.equal('Fail');
          expect(mountPolicyHook(docs)['timeoutSeconds']).to.equal(9);
        },
      },
      {
        name: 'webhook.url: the base URL plus /validate-mountpolicy',
        values: { webhook: { url: 'https://127.0.0.1:18443/' } },
        check(docs) {
          expect(get(mountPolicyHook(docs), 'clientConfig.url')).to.equal('https://127.0.0.1:18443/validate-mountpolicy');
          expect(get(mountPolicyHook(docs), 'clientConfig.service')).to.equal(undefined);
        },
      },
      {
        name: 'excluded namespaces and selectors of the Pod webhooks do not reach it',
        values: { webhook: { excludeNamespaces: ['monitoring'], namespaceSelector: { matchLabels: { a: 'b' } }, validating: { objectSelector: { matchLabels: { c: 'd' } } } } },
        check(docs) {
          expect(mountPolicyHook(docs)['namespaceSelector']).to.deep.equal({});
          expect(mountPolicyHook(docs)['objectSelector']).to.deep.equal({});
        },
      },
      {
        name: 'webhook.validating.enabled=false keeps a configuration with this webhook alone, and the cleanup Job deletes it',
        values: { webhook: { validating: { enabled: false } } },
        check(docs) {
          expect(hookNames(docs)).to.deep.equal([WEBHOOK]);
          expect(cleanupTargets(docs)).to.equal(`mutatingwebhookconfigurations/${FULLNAME} validatingwebhookconfigurations/${FULLNAME}`);
          const rules = list(get(one(docs, 'ClusterRole', `${FULLNAME}-cleanup`), 'rules'), 'cleanup rules');
          expect(rules.map((r) => get(r, 'resources.0'))).to.deep.equal(['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']);
        },
      },
      {
        name: 'both Pod webhooks off: the cleanup Job still deletes the MountPolicy webhook',
        values: { webhook: { validating: { enabled: false }, mutating: { enabled: false } } },
        check(docs) {
          expect(all(docs, 'MutatingWebhookConfiguration')).to.have.length(0);
          expect(cleanupTargets(docs)).to.equal(`validatingwebhookconfigurations/${FULLNAME}`);
        },
      },
    ];
    for (const row of rows) {
      it(row.name, function () {
        row.check(render({ values: { ...row.values, ...ON } }));
      });
    }
  });

  describe('on: RBAC and the Pod', function () {
    const rows: { name: string; values: Record<string, unknown>; check(docs: Obj[]): void }[] = [
      {
        name: 'a ClusterRole to list/watch MountPolicies (the cache never GETs one) and update their status (nothing else), bound to the ServiceAccount',
        values: {},
        check(docs) {
          expect(get(one(docs, 'ClusterRole', READER), 'rules')).to.deep.equal([
            { apiGroups: ['mountgate.io'], resources: ['mountpolicies'], verbs: ['list', 'watch'] },
            { apiGroups: ['mountgate.io'], resources: ['mountpolicies/status'], verbs: ['update'] },
          ]);
          const binding = one(docs, 'ClusterRoleBinding', READER);
          expect(get(binding, 'roleRef')).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: READER });
          expect(get(binding, 'subjects')).to.deep.equal([{ kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE }]);
        },
      },
      {
        name: 'a Role in the release namespace: create Leases, get/update only the status Lease named in --lease-name',
        values: {},
        check(docs) {
          const role = one(docs, 'Role', LEASE);
          expect(get(role, 'metadata.namespace')).to.equal(NAMESPACE);
          expect(role['rules']).to.deep.equal([
            { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
            { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [LEASE], verbs: ['get', 'update'] },
          ]);
          expect(flagValue(args(docs), '--lease-name')).to.equal(LEASE);
          const binding = one(docs, 'RoleBinding', LEASE);
          expect(get(binding, 'metadata.namespace')).to.equal(NAMESPACE);
          expect(get(binding, 'roleRef')).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: LEASE });
          expect(get(binding, 'subjects')).to.deep.equal([{ kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE }]);
        },
      },
      {
        name: 'an existing ServiceAccount (serviceAccount.create=false) is the one bound',
        values: { serviceAccount: { create: false, name: 'platform-mountgate' } },
        check(docs) {
          for (const [kind, name] of [['ClusterRoleBinding', READER], ['RoleBinding', LEASE]] as const) {
            expect(get(one(docs, kind, name), 'subjects.0.name'), kind).to.equal('platform-mountgate');
          }
          expect(podSpec(docs)['serviceAccountName']).to.equal('platform-mountgate');
        },
      },
      {
        name: 'the Pod: a token even with the preflight off, --mount-policies, and the Lease namespace and identity from the downward API',
        values: { podSecurityPreflight: { enabled: false }, server: { extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=192' }] } },
        check(docs) {
          expect(podSpec(docs)['automountServiceAccountToken']).to.equal(true);
          expect(args(docs)).to.include('--mount-policies');
          expect(args(docs)).to.not.include('--pod-security-preflight');
          expect(env(docs)).to.deep.equal([
            { name: 'MOUNTGATE_LEASE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'MOUNTGATE_IDENTITY', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'NODE_OPTIONS', value: '--max-old-space-size=192' },
          ]);
          expect(get(container(podSpec(docs), 'mountgate'), 'readinessProbe.httpGet.path')).to.equal('/readyz');
          expect(one(docs, 'ServiceAccount', FULLNAME)['automountServiceAccountToken']).to.equal(false);
        },
      },
      {
        name: 'with the preflight off, the NetworkPolicy still lets mountgate reach the API server (only it)',
        values: { podSecurityPreflight: { enabled: false }, networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.1/32'] } },
        check(docs) {
          expect(get(one(docs, 'NetworkPolicy'), 'spec.egress')).to.deep.equal([
            { ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.0.0.1/32' } }] },
          ]);
        },
      },
      {
        name: 'a 63-character full name still gives names of at most 63 characters, the Lease and its Role agreeing',
        values: { fullnameOverride: 'x'.repeat(63) },
        check(docs) {
          const lease = flagValue(args(docs), '--lease-name');
          expect(lease).to.match(/-status$/);
          expect(lease.length).to.be.at.most(63);
          expect(get(one(docs, 'Role', lease), 'rules.1.resourceNames')).to.deep.equal([lease]);
          for (const d of [...all(docs, 'ClusterRole'), ...all(docs, 'Role')]) expect(nameOf(d).length, nameOf(d)).to.be.at.most(63);
        },
      },
    ];
    for (const row of rows) {
      it(row.name, function () {
        row.check(render({ values: { ...row.values, ...ON } }));
      });
    }

    it('every object it adds carries the chart labels; the namespaced ones sit in the release namespace', function () {
      const docs = render({ values: ON });
      for (const d of [one(docs, 'CustomResourceDefinition', CRD), one(docs, 'ClusterRole', READER), one(docs, 'Role', LEASE)]) {
        expect(get(d, 'metadata.labels')).to.include({ 'app.kubernetes.io/instance': 'mg', 'app.kubernetes.io/managed-by': 'Helm' });
      }
      expect(get(one(docs, 'CustomResourceDefinition', CRD), 'metadata.namespace')).to.equal(undefined);
      expect(str(get(one(docs, 'RoleBinding', LEASE), 'metadata.namespace'), 'namespace')).to.equal(NAMESPACE);
    });
  });
});
