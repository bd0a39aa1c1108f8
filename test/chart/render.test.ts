/**
 * `helm template` for each certificate mode: the rendered objects carry what a careful admin
 * expects (webhook settings, selectors, certificate wiring, a hardened Pod, the policy file).
 */
import { expect } from 'chai';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  CHART_DIR,
  FULLNAME,
  NAMESPACE,
  all,
  container,
  flagValue,
  get,
  isObj,
  list,
  nameOf,
  obj,
  one,
  render,
  str,
  touchesAnnotationsCel,
  webhookNamed,
  webhookOf,
  type Obj,
} from './helm.js';
import { modeRows, testCa, type ModeRow } from './fixtures.js';

const POLICY_DEFAULTS = {
  annotation: 'mountgate.io/mounts',
  allowedHostPaths: [],
  builtinHostPaths: [],
  reservedMountPaths: [],
  maxMounts: 10,
  hostPathType: 'auto',
  containers: [],
  requesters: [],
};

/**
 * The labels that pick out this release's webhook Pods, and nothing else: the Deployment, Service,
 * PodDisruptionBudget, anti-affinity and topology spread select exactly these (a selector with fewer
 * would take another release's webhook Pods in the same namespace).
 */
const WEBHOOK_SELECTOR = {
  'app.kubernetes.io/name': 'mountgate',
  'app.kubernetes.io/instance': 'mg',
  'app.kubernetes.io/component': 'webhook',
};

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}
function unb64(s: unknown, what: string): string {
  return Buffer.from(str(s, what), 'base64').toString('utf8');
}

function deployment(docs: Obj[]): Obj {
  return one(docs, 'Deployment', FULLNAME);
}
function podSpec(docs: Obj[]): Obj {
  return obj(get(deployment(docs), 'spec.template.spec'), 'pod spec');
}
function mountgateContainer(docs: Obj[]): Obj {
  return container(podSpec(docs), 'mountgate');
}
function volume(docs: Obj[], name: string): Obj {
  const vols = list(get(podSpec(docs), 'volumes'), 'volumes');
  return obj(vols.find((v) => isObj(v) && v['name'] === name), `volume ${name}`);
}
function mountPathOf(docs: Obj[], volumeName: string): string {
  const mounts = list(get(mountgateContainer(docs), 'volumeMounts'), 'volumeMounts');
  const m = obj(mounts.find((v) => isObj(v) && v['name'] === volumeName), `volumeMount ${volumeName}`);
  return str(m['mountPath'], 'mountPath');
}
function mutating(docs: Obj[]): Obj {
  return webhookOf(one(docs, 'MutatingWebhookConfiguration', FULLNAME));
}
function validating(docs: Obj[]): Obj {
  return webhookOf(one(docs, 'ValidatingWebhookConfiguration', FULLNAME));
}
function annotations(docs: Obj[]): Obj {
  return webhookNamed(one(docs, 'ValidatingWebhookConfiguration', FULLNAME), 'annotations.validate.mountgate.io');
}
/** The objects Helm applies as part of the release (not hooks). */
function releaseObjects(docs: Obj[]): Obj[] {
  return docs.filter((d) => !hasHook(d));
}
function hasHook(d: Obj): boolean {
  const ann = get(d, 'metadata.annotations');
  return isObj(ann) && 'helm.sh/hook' in ann;
}

for (const row of modeRows()) {
  describe(`helm template, certs: ${row.name}`, function () {
    let docs: Obj[] = [];
    before(function () {
      docs = render({ files: row.files, setFile: row.setFile });
    });

    describe('webhook configurations', function () {
      const rows: { name: string; pick: (d: Obj[]) => Obj; path: string }[] = [
        { name: 'mutating', pick: mutating, path: '/mutate' },
        { name: 'validating', pick: validating, path: '/validate' },
        { name: 'annotations', pick: annotations, path: '/validate' },
      ];
      for (const w of rows) {
        it(`${w.name}: admissionReviewVersions [v1], sideEffects None, failurePolicy Fail, timeoutSeconds 5`, function () {
          const h = w.pick(docs);
          expect(h['admissionReviewVersions']).to.deep.equal(['v1']);
          expect(h['sideEffects']).to.equal('None');
          expect(h['failurePolicy']).to.equal('Fail');
          expect(h['timeoutSeconds']).to.equal(5);
          expect(h['matchPolicy']).to.equal('Equivalent');
        });

        it(`${w.name}: calls the chart's Service on ${w.path} at the Service port`, function () {
          const svc = obj(get(w.pick(docs), 'clientConfig.service'), 'clientConfig.service');
          expect(svc).to.deep.equal({ name: FULLNAME, namespace: NAMESPACE, path: w.path, port: 443 });
          expect(get(w.pick(docs), 'clientConfig.url')).to.equal(undefined);
          const service = one(docs, 'Service', FULLNAME);
          const ports = list(get(service, 'spec.ports'), 'service ports');
          expect(ports).to.deep.include({ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' });
          const cports = list(get(mountgateContainer(docs), 'ports'), 'container ports');
          expect(cports).to.deep.include({ name: 'https', containerPort: 8443, protocol: 'TCP' });
          // The Service selects this release's webhook Pods, and only them.
          const selector = obj(get(service, 'spec.selector'), 'service selector');
          expect(selector).to.deep.equal(WEBHOOK_SELECTOR);
          expect(get(deployment(docs), 'spec.selector.matchLabels')).to.deep.equal(WEBHOOK_SELECTOR);
          expect(get(deployment(docs), 'spec.template.metadata.labels')).to.include(WEBHOOK_SELECTOR);
        });

        it(`${w.name}: namespaceSelector takes labelled namespaces and always excludes kube-system and ${NAMESPACE}`, function () {
          const sel = obj(w.pick(docs)['namespaceSelector'], 'namespaceSelector');
          expect(sel['matchLabels']).to.deep.equal({ 'mountgate.io/enabled': 'true' });
          const exprs = list(sel['matchExpressions'], 'matchExpressions');
          expect(exprs).to.deep.include({
            key: 'kubernetes.io/metadata.name',
            operator: 'NotIn',
            values: ['kube-system', NAMESPACE],
          });
        });
      }

      it('mutating: CREATE pods only, reinvocationPolicy IfNeeded', function () {
        const h = mutating(docs);
        expect(h['rules']).to.deep.equal([
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' },
        ]);
        expect(h['reinvocationPolicy']).to.equal('IfNeeded');
      });

      it('mutating: a matchCondition sends only Pods carrying the policy annotation', function () {
        const conds = list(mutating(docs)['matchConditions'], 'matchConditions');
        expect(conds).to.have.length(1);
        const expr = str(get(conds[0], 'expression'), 'expression');
        expect(expr).to.equal("has(object.metadata.annotations) && 'mountgate.io/mounts' in object.metadata.annotations");
      });

      it('validating: CREATE pods and UPDATE pods/ephemeralcontainers, no matchConditions', function () {
        const h = validating(docs);
        expect(h['rules']).to.deep.equal([
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' },
          { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' },
        ]);
        expect(h['matchConditions']).to.equal(undefined);
        expect(h['reinvocationPolicy']).to.equal(undefined);
      });

      it('annotations: UPDATE pods and pods/status, CREATE Bindings, every Pod of the selected namespaces', function () {
        const h = annotations(docs);
        expect(h['rules']).to.deep.equal([
          { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods', 'pods/status'], scope: 'Namespaced' },
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods/binding', 'bindings'], scope: 'Namespaced' },
        ]);
        expect(h['objectSelector']).to.deep.equal({});
        expect(h['reinvocationPolicy']).to.equal(undefined);
      });

      it('annotations: a matchCondition sends only writes that add, change or remove the policy or the sandbox-user annotation', function () {
        const conds = list(annotations(docs)['matchConditions'], 'matchConditions');
        expect(conds).to.have.length(1);
        expect(get(conds[0], 'name')).to.equal('touches-mount-annotation');
        expect(get(conds[0], 'expression')).to.equal(touchesAnnotationsCel(['mountgate.io/mounts', 'mountgate.io/sandbox-user']));
        expect(get(conds[0], 'expression')).to.match(/^request\.operation == 'CREATE' \? \(\(has\(object\.metadata\.annotations\) && 'mountgate\.io\/mounts' in /);
      });

      it('the webhooks have distinct fully qualified names', function () {
        expect(mutating(docs)['name']).to.equal('pods.mutate.mountgate.io');
        expect(validating(docs)['name']).to.equal('pods.validate.mountgate.io');
        expect(annotations(docs)['name']).to.equal('annotations.validate.mountgate.io');
      });
    });

    describe('certificates', function () {
      caBundleWiring(row, () => docs);
    });

    describe('the webhook Pod', function () {
      it('Deployment: 2 replicas, never below them during a rollout', function () {
        expect(get(deployment(docs), 'spec.replicas')).to.equal(2);
        expect(get(deployment(docs), 'spec.strategy.rollingUpdate')).to.deep.equal({ maxUnavailable: 0, maxSurge: 1 });
      });

      it('pod securityContext: runAsNonRoot, numeric non-root user, seccomp RuntimeDefault', function () {
        const sc = obj(podSpec(docs)['securityContext'], 'pod securityContext');
        expect(sc['runAsNonRoot']).to.equal(true);
        expect(sc['runAsUser']).to.be.a('number').and.to.be.greaterThan(0);
        expect(get(sc, 'seccompProfile.type')).to.equal('RuntimeDefault');
      });

      it('container securityContext: read-only root, no privilege escalation, ALL capabilities dropped', function () {
        const sc = obj(mountgateContainer(docs)['securityContext'], 'container securityContext');
        expect(sc['allowPrivilegeEscalation']).to.equal(false);
        expect(sc['readOnlyRootFilesystem']).to.equal(true);
        expect(sc['runAsNonRoot']).to.equal(true);
        expect(sc['privileged']).to.equal(false);
        expect(get(sc, 'capabilities.drop')).to.deep.equal(['ALL']);
        expect(get(sc, 'capabilities.add')).to.equal(undefined);
        expect(get(sc, 'seccompProfile.type')).to.equal('RuntimeDefault');
      });

      it('a service-account token only on the Pod, for the Pod Security preflight (on by default); none on the ServiceAccount', function () {
        expect(podSpec(docs)['automountServiceAccountToken']).to.equal(true);
        expect(list(mountgateContainer(docs)['args'], 'args')).to.include('--pod-security-preflight');
        const sa = one(docs, 'ServiceAccount', FULLNAME);
        expect(sa['automountServiceAccountToken']).to.equal(false);
        expect(podSpec(docs)['serviceAccountName']).to.equal(FULLNAME);
      });

      it('serve args point at the mounted policy and certificate files', function () {
        const c = mountgateContainer(docs);
        const args = list(c['args'], 'args');
        expect(args[0]).to.equal('serve');
        const policyDir = mountPathOf(docs, 'policy');
        const tlsDir = mountPathOf(docs, 'tls');
        expect(flagValue(args, '--config')).to.equal(`${policyDir}/policy.yaml`);
        expect(flagValue(args, '--tls-cert')).to.equal(`${tlsDir}/tls.crt`);
        expect(flagValue(args, '--tls-key')).to.equal(`${tlsDir}/tls.key`);
        expect(flagValue(args, '--port')).to.equal('8443');
        expect(flagValue(args, '--host')).to.equal('0.0.0.0');
        expect(flagValue(args, '--metrics-port')).to.equal('9090');
        expect(flagValue(args, '--shutdown-delay')).to.equal('5');
        expect(c['command']).to.equal(undefined);
      });

      it('the policy ConfigMap and the TLS Secret are mounted whole (no subPath, so updates arrive)', function () {
        const policyVol = volume(docs, 'policy');
        expect(get(policyVol, 'configMap.name')).to.equal(`${FULLNAME}-policy`);
        expect(get(policyVol, 'configMap.items')).to.deep.equal([{ key: 'policy.yaml', path: 'policy.yaml' }]);
        const tlsVol = volume(docs, 'tls');
        expect(get(tlsVol, 'secret.items')).to.deep.equal([
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'tls.key', path: 'tls.key' },
        ]);
        const mounts = list(get(mountgateContainer(docs), 'volumeMounts'), 'volumeMounts');
        for (const m of mounts) {
          expect(get(m, 'subPath'), JSON.stringify(m)).to.equal(undefined);
        }
        for (const name of ['policy', 'tls']) {
          const m = mounts.find((x) => isObj(x) && x['name'] === name);
          expect(get(m, 'readOnly'), name).to.equal(true);
        }
        // A writable /tmp despite the read-only root filesystem.
        expect(mountPathOf(docs, 'tmp')).to.equal('/tmp');
        expect(get(volume(docs, 'tmp'), 'emptyDir')).to.be.an('object');
      });

      it('the ConfigMap holds values.policy (the defaults) as policy.yaml', function () {
        const cm = one(docs, 'ConfigMap', `${FULLNAME}-policy`);
        const text = str(obj(cm['data'], 'data')['policy.yaml'], 'policy.yaml');
        expect(parseYaml(text)).to.deep.equal(POLICY_DEFAULTS);
      });

      it('probes: /readyz and /healthz over HTTPS on the webhook port', function () {
        const c = mountgateContainer(docs);
        expect(get(c, 'readinessProbe.httpGet')).to.deep.equal({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
        expect(get(c, 'livenessProbe.httpGet')).to.deep.equal({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
      });

      // The delay (5 s), then in-flight requests for up to 30 s and the Lease handed back for up to 3 s, and 2 s to exit:
      // the kubelet does not kill mountgate before its own bounded drain is done.
      it('termination grace outlasts the shutdown delay and the drain after it', function () {
        expect(get(podSpec(docs), 'terminationGracePeriodSeconds')).to.equal(40);
        expect(get(mountgateContainer(docs), 'lifecycle')).to.equal(undefined);
      });

      it('resources: requests and a memory limit', function () {
        const r = obj(mountgateContainer(docs)['resources'], 'resources');
        expect(get(r, 'requests.cpu')).to.be.a('string');
        expect(get(r, 'requests.memory')).to.be.a('string');
        expect(get(r, 'limits.memory')).to.be.a('string');
      });

      it('preferred anti-affinity on hostname and a zone topology spread', function () {
        const pref = list(
          get(podSpec(docs), 'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution'),
          'preferred anti-affinity',
        );
        expect(get(pref[0], 'podAffinityTerm.topologyKey')).to.equal('kubernetes.io/hostname');
        expect(get(podSpec(docs), 'affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution')).to.equal(undefined);
        const spread = list(get(podSpec(docs), 'topologySpreadConstraints'), 'topologySpreadConstraints');
        expect(get(spread[0], 'topologyKey')).to.equal('topology.kubernetes.io/zone');
        expect(get(spread[0], 'whenUnsatisfiable')).to.equal('ScheduleAnyway');
        expect(get(spread[0], 'labelSelector.matchLabels'), 'spread selector').to.deep.equal(WEBHOOK_SELECTOR);
        expect(get(pref[0], 'podAffinityTerm.labelSelector.matchLabels'), 'anti-affinity selector').to.deep.equal(WEBHOOK_SELECTOR);
      });

      it('PodDisruptionBudget: maxUnavailable 1 over exactly the webhook Pods', function () {
        const pdb = one(docs, 'PodDisruptionBudget', FULLNAME);
        expect(get(pdb, 'spec.maxUnavailable')).to.equal(1);
        expect(get(pdb, 'spec.selector.matchLabels')).to.deep.equal(WEBHOOK_SELECTOR);
      });

      it('no NetworkPolicy and no ServiceMonitor unless enabled', function () {
        expect(all(docs, 'NetworkPolicy')).to.have.length(0);
        expect(all(docs, 'ServiceMonitor')).to.have.length(0);
      });
    });

    describe('Pod Security "restricted"', function () {
      it('every Pod the chart makes (webhook, helm test, cleanup Job) meets the restricted profile', function () {
        const specs: [string, unknown][] = [
          ['Deployment', get(deployment(docs), 'spec.template.spec')],
          ['test Pod', get(one(docs, 'Pod', `${FULLNAME}-test`), 'spec')],
          ['cleanup Job', get(one(docs, 'Job', `${FULLNAME}-cleanup`), 'spec.template.spec')],
        ];
        const allowedVolumeTypes = new Set(['configMap', 'secret', 'emptyDir', 'projected', 'downwardAPI']);
        let portsChecked = 0;
        for (const [what, spec] of specs) {
          const s = obj(spec, what);
          for (const hostField of ['hostNetwork', 'hostPID', 'hostIPC']) expect(s[hostField], `${what} ${hostField}`).to.not.equal(true);
          for (const v of (s['volumes'] === undefined ? [] : list(s['volumes'], `${what} volumes`))) {
            const types = Object.keys(obj(v, 'volume')).filter((k) => k !== 'name');
            for (const t of types) expect(allowedVolumeTypes.has(t), `${what} volume type ${t}`).to.equal(true);
          }
          const podSc = obj(s['securityContext'], `${what} securityContext`);
          const cs = list(s['containers'], `${what} containers`);
          expect(cs.length).to.be.greaterThan(0);
          for (const c of cs) {
            const sc = obj(get(c, 'securityContext'), `${what} container securityContext`);
            expect(sc['runAsNonRoot'] ?? podSc['runAsNonRoot'], `${what} runAsNonRoot`).to.equal(true);
            expect(sc['allowPrivilegeEscalation'], `${what} allowPrivilegeEscalation`).to.equal(false);
            expect(sc['privileged'] ?? false, `${what} privileged`).to.equal(false);
            expect(get(sc, 'capabilities.drop'), `${what} capabilities.drop`).to.include('ALL');
            expect(get(sc, 'capabilities.add') ?? [], `${what} capabilities.add`).to.deep.equal([]);
            expect(get(sc, 'seccompProfile.type') ?? get(podSc, 'seccompProfile.type'), `${what} seccomp`).to.equal('RuntimeDefault');
            const ports = get(c, 'ports') === undefined ? [] : list(get(c, 'ports'), `${what} ports`);
            for (const p of ports) expect(get(p, 'hostPort'), `${what} port ${String(get(p, 'name'))} hostPort`).to.equal(undefined);
            portsChecked += ports.length;
          }
        }
        // The webhook container's https and metrics ports at least: every port, not the first alone.
        expect(portsChecked, 'container ports checked').to.be.at.least(2);
      });
    });

    describe('conventions', function () {
      it('every object carries the app.kubernetes.io labels', function () {
        for (const d of docs) {
          const labels = obj(get(d, 'metadata.labels'), `${String(d['kind'])} ${nameOf(d)} labels`);
          expect(labels['app.kubernetes.io/name'], nameOf(d)).to.equal('mountgate');
          expect(labels['app.kubernetes.io/instance'], nameOf(d)).to.equal('mg');
          expect(labels['app.kubernetes.io/managed-by'], nameOf(d)).to.equal('Helm');
          expect(labels['helm.sh/chart'], nameOf(d)).to.equal('mountgate-0.1.0');
        }
      });

      it('namespaced objects are in the release namespace; webhook configurations and the backstop are cluster-scoped', function () {
        const clusterScoped = new Set([
          'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
          'ClusterRole', 'ClusterRoleBinding',
        ]);
        for (const d of docs) {
          const ns = get(d, 'metadata.namespace');
          if (clusterScoped.has(String(d['kind']))) expect(ns, nameOf(d)).to.equal(undefined);
          else expect(ns, `${String(d['kind'])} ${nameOf(d)}`).to.equal(NAMESPACE);
        }
      });
    });

    describe('hooks', function () {
      it('a helm test Pod calls the Service with the CA, hardened like the webhook', function () {
        const pod = one(docs, 'Pod', `${FULLNAME}-test`);
        expect(get(pod, 'metadata.annotations')).to.include({ 'helm.sh/hook': 'test' });
        const spec = obj(pod['spec'], 'test pod spec');
        expect(spec['automountServiceAccountToken']).to.equal(false);
        expect(spec['restartPolicy']).to.equal('Never');
        const c = container(spec, 'check');
        expect(get(c, 'securityContext.readOnlyRootFilesystem')).to.equal(true);
        expect(get(c, 'securityContext.allowPrivilegeEscalation')).to.equal(false);
        const env = list(c['env'], 'env');
        expect(env).to.deep.include({ name: 'MOUNTGATE_HOST', value: `${FULLNAME}.${NAMESPACE}.svc` });
        expect(env).to.deep.include({ name: 'MOUNTGATE_PORT', value: '443' });
        // files/helm-test.js, whole (test/chart/scripts.test.ts runs it against mountgate serve).
        expect(c['command']).to.deep.equal(['node', '-e']);
        expect(c['args']).to.deep.equal([readFileSync(path.join(CHART_DIR, 'files', 'helm-test.js'), 'utf8')]);
        if (row.mode === 'secret') {
          expect(env).to.deep.include({ name: 'MOUNTGATE_CA_PEM', value: `${testCa().caPem.trim()}\n` });
        } else {
          // Only ca.crt of the serving Secret is mounted, never the key; the script reads it where it is mounted.
          const vols = list(spec['volumes'], 'test volumes');
          expect(vols).to.have.length(1);
          expect(get(vols[0], 'secret.secretName')).to.equal(`${FULLNAME}-tls`);
          expect(get(vols[0], 'secret.items')).to.deep.equal([{ key: 'ca.crt', path: 'ca.crt' }]);
          const mounts = list(c['volumeMounts'], 'test volumeMounts');
          expect(mounts).to.have.length(1);
          expect(get(mounts[0], 'name')).to.equal(get(vols[0], 'name'));
          expect(env).to.deep.include({ name: 'MOUNTGATE_CA_FILE', value: `${str(get(mounts[0], 'mountPath'), 'mountPath')}/ca.crt` });
        }
      });

      it('a pre-delete Job deletes exactly the two webhook configurations before anything else', function () {
        const job = one(docs, 'Job', `${FULLNAME}-cleanup`);
        expect(get(job, 'metadata.annotations')).to.include({ 'helm.sh/hook': 'pre-delete' });
        const c = container(get(job, 'spec.template.spec'), 'cleanup');
        expect(list(c['env'], 'env')).to.deep.include({
          name: 'MOUNTGATE_WEBHOOKS',
          value: `mutatingwebhookconfigurations/${FULLNAME} validatingwebhookconfigurations/${FULLNAME}`,
        });
        // files/cleanup.js, whole (test/chart/scripts.test.ts runs it against a stub API server).
        expect(c['command']).to.deep.equal(['node', '-e']);
        expect(c['args']).to.deep.equal([readFileSync(path.join(CHART_DIR, 'files', 'cleanup.js'), 'utf8')]);
        expect(get(c, 'securityContext.readOnlyRootFilesystem')).to.equal(true);
        const role = one(docs, 'ClusterRole', `${FULLNAME}-cleanup`);
        expect(role['rules']).to.deep.equal([
          { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [FULLNAME], verbs: ['delete'] },
          { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: [FULLNAME], verbs: ['delete'] },
        ]);
        const binding = one(docs, 'ClusterRoleBinding', `${FULLNAME}-cleanup`);
        expect(get(binding, 'subjects.0')).to.deep.equal({ kind: 'ServiceAccount', name: `${FULLNAME}-cleanup`, namespace: NAMESPACE });
        // RBAC and the ServiceAccount are created (weight -10) before the Job (weight 0).
        for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']) {
          const o = one(docs, kind, `${FULLNAME}-cleanup`);
          expect(get(o, 'metadata.annotations'), kind).to.include({ 'helm.sh/hook': 'pre-delete', 'helm.sh/hook-weight': '-10' });
        }
        expect(get(job, 'metadata.annotations')).to.include({ 'helm.sh/hook-weight': '0' });
      });

      it('the webhook itself is not a hook (uninstall and upgrade manage it)', function () {
        const names = releaseObjects(docs).map((d) => `${String(d['kind'])}/${nameOf(d)}`);
        expect(names).to.include(`MutatingWebhookConfiguration/${FULLNAME}`);
        expect(names).to.include(`ValidatingWebhookConfiguration/${FULLNAME}`);
        expect(names).to.include(`Deployment/${FULLNAME}`);
      });
    });
  });
}

/** caBundle and serving-certificate wiring, per mode. */
function caBundleWiring(row: ModeRow, docsOf: () => Obj[]): void {
  const hooks = (docs: Obj[]): Obj[] => [mutating(docs), validating(docs), annotations(docs)];
  const tlsSecretName = row.mode === 'secret' ? 'mountgate-serving' : `${FULLNAME}-tls`;

  it(`the Deployment mounts the serving Secret ${tlsSecretName}`, function () {
    expect(get(volume(docsOf(), 'tls'), 'secret.secretName')).to.equal(tlsSecretName);
  });

  if (row.mode === 'helm') {
    it('a CA Secret and a serving Secret are rendered; caBundle is that CA, in both webhooks', function () {
      const docs = docsOf();
      const ca = one(docs, 'Secret', `${FULLNAME}-ca`);
      const tls = one(docs, 'Secret', tlsSecretName);
      expect(tls['type']).to.equal('kubernetes.io/tls');
      const caCrt = str(obj(ca['data'], 'ca data')['tls.crt'], 'ca tls.crt');
      const data = obj(tls['data'], 'tls data');
      expect(data['ca.crt']).to.equal(caCrt);
      for (const h of hooks(docs)) expect(get(h, 'clientConfig.caBundle'), String(h['name'])).to.equal(caCrt);
      expect(get(one(docs, 'MutatingWebhookConfiguration'), 'metadata.annotations')).to.equal(undefined);
    });

    it('the serving certificate is signed by that CA, matches its key and names the Service', function () {
      const docs = docsOf();
      const data = obj(one(docs, 'Secret', tlsSecretName)['data'], 'tls data');
      const caCert = new X509Certificate(unb64(data['ca.crt'], 'ca.crt'));
      const cert = new X509Certificate(unb64(data['tls.crt'], 'tls.crt'));
      expect(cert.verify(caCert.publicKey), 'signed by the CA').to.equal(true);
      expect(cert.checkIssued(caCert)).to.equal(true);
      const key = createPrivateKey(unb64(data['tls.key'], 'tls.key'));
      expect(cert.checkPrivateKey(key)).to.equal(true);
      expect(createPublicKey(key).export({ format: 'pem', type: 'spki' })).to.equal(
        cert.publicKey.export({ format: 'pem', type: 'spki' }),
      );
      for (const host of [FULLNAME, `${FULLNAME}.${NAMESPACE}.svc`, `${FULLNAME}.${NAMESPACE}.svc.cluster.local`, 'localhost']) {
        expect(cert.checkHost(host), host).to.equal(host);
      }
      expect(cert.checkIP('127.0.0.1')).to.equal('127.0.0.1');
      expect(cert.checkHost('evil.example')).to.equal(undefined);
      expect(caCert.ca).to.equal(true);
      expect(cert.ca).to.equal(false);
    });
  }

  if (row.mode === 'certManager') {
    it('a Certificate for the Service names writes the mounted Secret; the cainjector fills caBundle', function () {
      const docs = docsOf();
      const cert = one(docs, 'Certificate', `${FULLNAME}-serving`);
      expect(get(cert, 'spec.secretName')).to.equal(tlsSecretName);
      const dns = list(get(cert, 'spec.dnsNames'), 'dnsNames');
      expect(dns).to.include.members([`${FULLNAME}.${NAMESPACE}.svc`, `${FULLNAME}.${NAMESPACE}.svc.cluster.local`]);
      expect(get(cert, 'spec.ipAddresses')).to.deep.equal(['127.0.0.1']);
      expect(get(cert, 'spec.usages')).to.include('server auth');
      expect(get(cert, 'spec.issuerRef')).to.deep.equal({ name: `${FULLNAME}-ca`, kind: 'Issuer', group: 'cert-manager.io' });
      // The chart's own CA chain: a self-signed Issuer, a CA Certificate, a CA Issuer.
      const caIssuer = one(docs, 'Issuer', `${FULLNAME}-ca`);
      const caCert = one(docs, 'Certificate', `${FULLNAME}-ca`);
      expect(get(caCert, 'spec.isCA')).to.equal(true);
      expect(get(caIssuer, 'spec.ca.secretName')).to.equal(get(caCert, 'spec.secretName'));
      expect(get(one(docs, 'Issuer', `${FULLNAME}-selfsigned`), 'spec.selfSigned')).to.deep.equal({});
      for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
        const cfg = one(docs, kind, FULLNAME);
        expect(get(cfg, 'metadata.annotations'), kind).to.deep.equal({
          'cert-manager.io/inject-ca-from': `${NAMESPACE}/${FULLNAME}-serving`,
        });
      }
      for (const h of hooks(docs)) expect(get(h, 'clientConfig.caBundle'), String(h['name'])).to.equal(undefined);
      expect(all(docs, 'Secret')).to.have.length(0);
    });
  }

  if (row.mode === 'secret') {
    it('no Secret or Certificate is rendered; caBundle is the given CA, base64-encoded, in both webhooks', function () {
      const docs = docsOf();
      expect(all(docs, 'Secret')).to.have.length(0);
      expect(all(docs, 'Certificate')).to.have.length(0);
      expect(all(docs, 'Issuer')).to.have.length(0);
      for (const h of hooks(docs)) {
        const bundle = str(get(h, 'clientConfig.caBundle'), 'caBundle');
        expect(bundle, String(h['name'])).to.equal(b64(`${testCa().caPem.trim()}\n`));
        expect(new X509Certificate(Buffer.from(bundle, 'base64')).ca).to.equal(true);
      }
    });
  }
}
