/**
 * Values that change what `helm template` renders: each row sets values and checks the one thing
 * they should change (and, where it matters, that the default differs).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { testCa } from './fixtures.js';
import {
  FULLNAME,
  HELM_DEFAULT_KUBE_VERSION,
  NAMESPACE,
  REPO_ROOT,
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
  touchesAnnotationsCel,
  webhookNamed,
  webhookOf,
  type Obj,
} from './helm.js';

function mutatingHook(docs: Obj[]): Obj {
  return webhookOf(one(docs, 'MutatingWebhookConfiguration'));
}
function validatingHook(docs: Obj[]): Obj {
  return webhookOf(one(docs, 'ValidatingWebhookConfiguration'));
}
function annotationsHook(docs: Obj[]): Obj {
  return webhookNamed(one(docs, 'ValidatingWebhookConfiguration'), 'annotations.validate.mountgate.io');
}
function podSpec(docs: Obj[]): Obj {
  return obj(get(one(docs, 'Deployment'), 'spec.template.spec'), 'pod spec');
}
function policyOf(docs: Obj[]): unknown {
  const cm = one(docs, 'ConfigMap', `${FULLNAME}-policy`);
  return parseYaml(str(obj(cm['data'], 'data')['policy.yaml'], 'policy.yaml'));
}
function notIn(hook: Obj): unknown {
  const exprs = list(get(hook, 'namespaceSelector.matchExpressions'), 'matchExpressions');
  const e = exprs.find((x) => isObj(x) && x['key'] === 'kubernetes.io/metadata.name' && x['operator'] === 'NotIn');
  return get(e, 'values');
}

interface Row {
  readonly name: string;
  readonly values?: Record<string, unknown>;
  readonly files?: string[];
  readonly namespace?: string;
  readonly release?: string;
  /** Further helm template arguments (--kube-version for a row about a cluster version). */
  readonly extraArgs?: string[];
  check(docs: Obj[]): void;
}

const examplePolicy: unknown = parseYaml(readFileSync(path.join(REPO_ROOT, 'examples', 'deer-flow-policy.yaml'), 'utf8'));

const rows: Row[] = [
  {
    name: 'webhook.mutating.matchConditions=false drops the CEL matchConditions (clusters older than 1.30)',
    values: { webhook: { mutating: { matchConditions: false } } },
    check(docs) {
      expect(mutatingHook(docs)['matchConditions']).to.equal(undefined);
      expect(validatingHook(docs)['matchConditions']).to.equal(undefined);
    },
  },
  {
    name: 'policy.annotation is the key the matchCondition looks for',
    values: { policy: { annotation: 'sandbox.example.com/host-mounts' } },
    check(docs) {
      const conds = list(mutatingHook(docs)['matchConditions'], 'matchConditions');
      expect(get(conds[0], 'expression')).to.equal(
        "has(object.metadata.annotations) && 'sandbox.example.com/host-mounts' in object.metadata.annotations",
      );
      expect(get(policyOf(docs), 'annotation')).to.equal('sandbox.example.com/host-mounts');
      expect(get(list(annotationsHook(docs)['matchConditions'], 'matchConditions')[0], 'expression')).to.equal(
        touchesAnnotationsCel(['sandbox.example.com/host-mounts', 'mountgate.io/sandbox-user']),
      );
    },
  },
  {
    // `annotation:` with no value in a values file is null, which removes the key: the policy file then
    // has none and mountgate reads its default. The matchConditions must name that key, not '' (a CEL
    // syntax error the API server refused the whole webhook configuration with).
    name: 'policy.annotation left empty (null) means mountgate.io/mounts in the matchConditions and NOTES, as in mountgate',
    values: { policy: { annotation: null } },
    check(docs) {
      expect(get(policyOf(docs), 'annotation')).to.equal(undefined);
      const conds = list(mutatingHook(docs)['matchConditions'], 'matchConditions');
      expect(get(conds[0], 'expression')).to.equal("has(object.metadata.annotations) && 'mountgate.io/mounts' in object.metadata.annotations");
      expect(get(list(annotationsHook(docs)['matchConditions'], 'matchConditions')[0], 'expression')).to.equal(
        touchesAnnotationsCel(['mountgate.io/mounts', 'mountgate.io/sandbox-user']),
      );
    },
  },
  {
    name: 'policy.sandboxUserAnnotation is the second key the annotations matchCondition looks for',
    values: { policy: { sandboxUserAnnotation: 'sandbox.example.com/owner' } },
    check(docs) {
      expect(get(list(annotationsHook(docs)['matchConditions'], 'matchConditions')[0], 'expression')).to.equal(
        touchesAnnotationsCel(['mountgate.io/mounts', 'sandbox.example.com/owner']),
      );
      expect(get(policyOf(docs), 'sandboxUserAnnotation')).to.equal('sandbox.example.com/owner');
    },
  },
  {
    name: 'the deer-flow example policy lands in the ConfigMap unchanged',
    values: { policy: examplePolicy as Record<string, unknown> },
    check(docs) {
      expect(policyOf(docs)).to.deep.equal(examplePolicy);
    },
  },
  {
    name: 'examples/agent-sandbox-values.yaml carries examples/agent-sandbox-policy.yaml, and the annotations webhook',
    files: [path.join(REPO_ROOT, 'examples', 'agent-sandbox-values.yaml')],
    check(docs) {
      expect(policyOf(docs)).to.deep.equal(parseYaml(readFileSync(path.join(REPO_ROOT, 'examples', 'agent-sandbox-policy.yaml'), 'utf8')));
      expect(annotationsHook(docs)['name']).to.equal('annotations.validate.mountgate.io');
    },
  },
  {
    name: 'a partial policy is completed with the defaults',
    values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], maxMounts: 3 } },
    check(docs) {
      expect(policyOf(docs)).to.deep.equal({
        annotation: 'mountgate.io/mounts',
        allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }],
        builtinHostPaths: [],
        reservedMountPaths: [],
        maxMounts: 3,
        hostPathType: 'auto',
        containers: [],
        requesters: [],
      });
    },
  },
  {
    name: 'podSecurityPreflight on (default): the flag, a token, and list/watch on namespaces only (the namespace cache never GETs one)',
    check(docs) {
      const c = container(podSpec(docs), 'mountgate');
      expect(list(c['args'], 'args')).to.include('--pod-security-preflight');
      expect(podSpec(docs)['automountServiceAccountToken']).to.equal(true);
      const role = one(docs, 'ClusterRole', `${FULLNAME}-namespaces`);
      expect(role['rules']).to.deep.equal([{ apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] }]);
      const binding = one(docs, 'ClusterRoleBinding', `${FULLNAME}-namespaces`);
      expect(get(binding, 'roleRef.name')).to.equal(`${FULLNAME}-namespaces`);
      expect(get(binding, 'subjects')).to.deep.equal([{ kind: 'ServiceAccount', name: podSpec(docs)['serviceAccountName'], namespace: NAMESPACE }]);
    },
  },
  {
    name: 'podSecurityPreflight off: no flag, no token, no namespace ClusterRole',
    values: { podSecurityPreflight: { enabled: false } },
    check(docs) {
      expect(list(container(podSpec(docs), 'mountgate')['args'], 'args')).to.not.include('--pod-security-preflight');
      expect(podSpec(docs)['automountServiceAccountToken']).to.equal(false);
      expect(all(docs, 'ClusterRole').map(nameOf)).to.deep.equal([`${FULLNAME}-cleanup`]);
    },
  },
  {
    name: 'podSecurityPreflight with a NetworkPolicy: egress only to the API server',
    values: { podSecurityPreflight: { enabled: true }, networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.1/32'] } },
    check(docs) {
      expect(get(one(docs, 'NetworkPolicy'), 'spec.egress')).to.deep.equal([
        { ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.0.0.1/32' } }] },
      ]);
    },
  },
  {
    name: 'failurePolicy and timeoutSeconds reach every webhook',
    values: { webhook: { failurePolicy: 'Ignore', timeoutSeconds: 12 } },
    check(docs) {
      for (const h of [mutatingHook(docs), validatingHook(docs), annotationsHook(docs)]) {
        expect(h['failurePolicy']).to.equal('Ignore');
        expect(h['timeoutSeconds']).to.equal(12);
      }
    },
  },
  {
    name: 'webhook.url replaces the Service in clientConfig (out-of-cluster testing)',
    values: { webhook: { url: 'https://127.0.0.1:18443/' } },
    check(docs) {
      expect(get(mutatingHook(docs), 'clientConfig.url')).to.equal('https://127.0.0.1:18443/mutate');
      expect(get(validatingHook(docs), 'clientConfig.url')).to.equal('https://127.0.0.1:18443/validate');
      expect(get(annotationsHook(docs), 'clientConfig.url')).to.equal('https://127.0.0.1:18443/validate');
      expect(get(annotationsHook(docs), 'clientConfig.service')).to.equal(undefined);
      expect(get(mutatingHook(docs), 'clientConfig.service')).to.equal(undefined);
      expect(get(validatingHook(docs), 'clientConfig.service')).to.equal(undefined);
      expect(get(mutatingHook(docs), 'clientConfig.caBundle')).to.be.a('string');
    },
  },
  {
    name: 'excludeNamespaces are added to kube-system and the release namespace',
    values: { webhook: { excludeNamespaces: ['monitoring', 'kube-system'] } },
    check(docs) {
      for (const h of [mutatingHook(docs), validatingHook(docs), annotationsHook(docs)]) {
        expect(notIn(h)).to.deep.equal(['kube-system', NAMESPACE, 'monitoring']);
      }
    },
  },
  {
    name: 'a release in another namespace excludes that namespace',
    namespace: 'sandbox-admission',
    check(docs) {
      expect(notIn(mutatingHook(docs))).to.deep.equal(['kube-system', 'sandbox-admission']);
      expect(get(mutatingHook(docs), 'clientConfig.service.namespace')).to.equal('sandbox-admission');
    },
  },
  {
    name: 'an empty namespaceSelector (every namespace) still excludes kube-system and the release namespace',
    values: { webhook: { namespaceSelector: {} } },
    check(docs) {
      const sel = obj(mutatingHook(docs)['namespaceSelector'], 'namespaceSelector');
      expect(sel['matchLabels']).to.equal(undefined);
      expect(notIn(mutatingHook(docs))).to.deep.equal(['kube-system', NAMESPACE]);
    },
  },
  {
    name: 'user matchExpressions are kept next to the exclusion',
    values: {
      webhook: {
        namespaceSelector: {
          matchLabels: { 'mountgate.io/enabled': 'true' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['sandbox'] }],
        },
      },
    },
    check(docs) {
      const exprs = list(get(validatingHook(docs), 'namespaceSelector.matchExpressions'), 'matchExpressions');
      expect(exprs).to.deep.equal([
        { key: 'tier', operator: 'In', values: ['sandbox'] },
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NAMESPACE] },
      ]);
    },
  },
  {
    name: 'a validating namespaceSelector override applies to the validating webhook only',
    values: { webhook: { validating: { namespaceSelector: {} } } },
    check(docs) {
      expect(get(validatingHook(docs), 'namespaceSelector.matchLabels')).to.equal(undefined);
      expect(notIn(validatingHook(docs))).to.deep.equal(['kube-system', NAMESPACE]);
      expect(get(annotationsHook(docs), 'namespaceSelector')).to.deep.equal(get(validatingHook(docs), 'namespaceSelector'));
      expect(get(mutatingHook(docs), 'namespaceSelector.matchLabels')).to.deep.equal({ 'mountgate.io/enabled': 'true' });
    },
  },
  {
    name: 'objectSelector on the mutating webhook',
    values: { webhook: { mutating: { objectSelector: { matchLabels: { app: 'sandbox' } } } } },
    check(docs) {
      expect(get(mutatingHook(docs), 'objectSelector')).to.deep.equal({ matchLabels: { app: 'sandbox' } });
      expect(get(validatingHook(docs), 'objectSelector')).to.deep.equal({});
    },
  },
  {
    name: 'objectSelector on the validating webhook leaves the annotations webhook on every Pod (a Binding carries no Pod labels)',
    values: { webhook: { validating: { objectSelector: { matchLabels: { app: 'sandbox' } } } } },
    check(docs) {
      expect(get(validatingHook(docs), 'objectSelector')).to.deep.equal({ matchLabels: { app: 'sandbox' } });
      expect(get(annotationsHook(docs), 'objectSelector')).to.deep.equal({});
    },
  },
  {
    name: 'webhook.validating.annotationUpdates=false leaves only the Pod-creation webhook (clusters older than 1.28)',
    values: { webhook: { validating: { annotationUpdates: false } } },
    check(docs) {
      const hooks = list(get(one(docs, 'ValidatingWebhookConfiguration'), 'webhooks'), 'webhooks');
      expect(hooks.map((h) => get(h, 'name'))).to.deep.equal(['pods.validate.mountgate.io']);
    },
  },
  {
    name: 'reinvocationPolicy Never',
    values: { webhook: { mutating: { reinvocationPolicy: 'Never' } } },
    check(docs) {
      expect(mutatingHook(docs)['reinvocationPolicy']).to.equal('Never');
    },
  },
  {
    name: 'the mutating webhook can be turned off; cleanup then deletes only the validating one',
    values: { webhook: { mutating: { enabled: false } } },
    check(docs) {
      expect(all(docs, 'MutatingWebhookConfiguration')).to.have.length(0);
      expect(all(docs, 'ValidatingWebhookConfiguration')).to.have.length(1);
      const job = one(docs, 'Job', `${FULLNAME}-cleanup`);
      const env = list(get(container(get(job, 'spec.template.spec'), 'cleanup'), 'env'), 'env');
      expect(env).to.deep.include({ name: 'MOUNTGATE_WEBHOOKS', value: `validatingwebhookconfigurations/${FULLNAME}` });
    },
  },
  {
    name: 'cleanup.enabled=false and tests.enabled=false render no hooks (and, with the preflight off, no ClusterRole)',
    values: { cleanup: { enabled: false }, tests: { enabled: false }, podSecurityPreflight: { enabled: false } },
    check(docs) {
      expect(all(docs, 'Job')).to.have.length(0);
      expect(all(docs, 'Pod')).to.have.length(0);
      expect(all(docs, 'ClusterRole')).to.have.length(0);
    },
  },
  {
    name: 'server settings reach the args, the ports and the grace period',
    values: { server: { port: 9443, metricsPort: 9191, host: '::', shutdownDelay: 12, maxConnections: 300, extraArgs: ['--some-new-flag', 'value'] } },
    check(docs) {
      const c = container(podSpec(docs), 'mountgate');
      const args = list(c['args'], 'args');
      expect(flagValue(args, '--port')).to.equal('9443');
      expect(flagValue(args, '--metrics-port')).to.equal('9191');
      expect(flagValue(args, '--host')).to.equal('::');
      expect(flagValue(args, '--shutdown-delay')).to.equal('12');
      expect(flagValue(args, '--max-connections')).to.equal('300');
      expect(args.slice(-2)).to.deep.equal(['--some-new-flag', 'value']);
      expect(list(c['ports'], 'ports')).to.deep.include({ name: 'https', containerPort: 9443, protocol: 'TCP' });
      expect(list(c['ports'], 'ports')).to.deep.include({ name: 'metrics', containerPort: 9191, protocol: 'TCP' });
      expect(podSpec(docs)['terminationGracePeriodSeconds']).to.equal(47);
    },
  },
  {
    name: 'server.maxConnections at its bound reaches the args as a whole number, not 1e+06',
    values: { server: { maxConnections: 1_000_000 } },
    check(docs) {
      expect(flagValue(list(container(podSpec(docs), 'mountgate')['args'], 'args'), '--max-connections')).to.equal('1000000');
    },
  },
  {
    name: 'terminationGracePeriodSeconds can be set',
    values: { terminationGracePeriodSeconds: 60 },
    check(docs) {
      expect(podSpec(docs)['terminationGracePeriodSeconds']).to.equal(60);
    },
  },
  {
    name: 'service.port is what the webhooks call',
    values: { service: { port: 8443 } },
    check(docs) {
      expect(get(mutatingHook(docs), 'clientConfig.service.port')).to.equal(8443);
      expect(list(get(one(docs, 'Service'), 'spec.ports'), 'ports')).to.deep.include({
        name: 'https', port: 8443, targetPort: 'https', protocol: 'TCP',
      });
    },
  },
  {
    name: 'image digest wins over the tag; the tag defaults to appVersion',
    values: { image: { repository: 'registry.example.com/mountgate', tag: '9.9.9', digest: `sha256:${'a'.repeat(64)}` } },
    check(docs) {
      expect(container(podSpec(docs), 'mountgate')['image']).to.equal(`registry.example.com/mountgate@sha256:${'a'.repeat(64)}`);
    },
  },
  {
    name: 'the tag defaults to the chart appVersion',
    values: { image: { repository: 'registry.example.com/team/mountgate' } },
    check(docs) {
      expect(container(podSpec(docs), 'mountgate')['image']).to.equal('registry.example.com/team/mountgate:0.1.0');
    },
  },
  {
    name: 'priorityClassName, replicaCount, hard anti-affinity',
    values: { priorityClassName: 'system-cluster-critical', replicaCount: 3, podAntiAffinity: 'hard' },
    check(docs) {
      expect(podSpec(docs)['priorityClassName']).to.equal('system-cluster-critical');
      expect(get(one(docs, 'Deployment'), 'spec.replicas')).to.equal(3);
      const req = list(
        get(podSpec(docs), 'affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution'),
        'required anti-affinity',
      );
      expect(get(req[0], 'topologyKey')).to.equal('kubernetes.io/hostname');
      expect(get(req[0], 'labelSelector.matchLabels')).to.deep.equal({
        'app.kubernetes.io/name': 'mountgate',
        'app.kubernetes.io/instance': 'mg',
        'app.kubernetes.io/component': 'webhook',
      });
      // Where every node runs a replica, a surge Pod could never be scheduled: rollouts replace one at a time.
      expect(get(one(docs, 'Deployment'), 'spec.strategy.rollingUpdate')).to.deep.equal({ maxUnavailable: 1, maxSurge: 0 });
    },
  },
  {
    // An admission policy that requires a label on Pods would otherwise refuse the cleanup Job's Pod, and the uninstall stop.
    name: 'commonLabels reach every rendered object and the Pods of every Pod template (Deployment and cleanup Job)',
    values: { commonLabels: { 'example.com/team': 'platform' }, mountPolicies: { enabled: true }, networkPolicy: { enabled: true }, serviceMonitor: { enabled: true } },
    check(docs) {
      for (const d of docs) {
        expect(obj(get(d, 'metadata.labels'), `${kindOf(d)} labels`)['example.com/team'], `${kindOf(d)} ${nameOf(d)}`).to.equal('platform');
        const template = get(d, 'spec.template');
        if (template !== undefined) {
          expect(obj(get(template, 'metadata.labels'), `${kindOf(d)} Pod template labels`)['example.com/team'], `${kindOf(d)} ${nameOf(d)} Pod template`).to.equal('platform');
        }
      }
    },
  },
  {
    name: 'hard anti-affinity with one replica surges as usual (one at a time would leave none)',
    values: { replicaCount: 1, podAntiAffinity: 'hard' },
    check(docs) {
      expect(get(one(docs, 'Deployment'), 'spec.strategy.rollingUpdate')).to.deep.equal({ maxUnavailable: 0, maxSurge: 1 });
    },
  },
  {
    name: 'podAntiAffinity none and topologySpread off',
    values: { podAntiAffinity: 'none', topologySpread: { enabled: false } },
    check(docs) {
      expect(podSpec(docs)['affinity']).to.equal(undefined);
      expect(podSpec(docs)['topologySpreadConstraints']).to.equal(undefined);
    },
  },
  {
    name: 'PodDisruptionBudget: minAvailable wins; disabled renders none',
    values: { podDisruptionBudget: { minAvailable: 2 } },
    check(docs) {
      const pdb = one(docs, 'PodDisruptionBudget');
      expect(get(pdb, 'spec.minAvailable')).to.equal(2);
      expect(get(pdb, 'spec.maxUnavailable')).to.equal(undefined);
    },
  },
  {
    name: 'PodDisruptionBudget disabled',
    values: { podDisruptionBudget: { enabled: false } },
    check(docs) {
      expect(all(docs, 'PodDisruptionBudget')).to.have.length(0);
    },
  },
  {
    name: 'PodDisruptionBudget leaves out unhealthyPodEvictionPolicy for clusters older than 1.27 (--kube-version 1.26.15)',
    // Before 1.28 the annotations webhook would have no matchConditions: the chart refuses it there.
    values: { webhook: { validating: { annotationUpdates: false } } },
    extraArgs: ['--kube-version', '1.26.15'],
    check(docs) {
      expect(get(one(docs, 'PodDisruptionBudget'), 'spec.unhealthyPodEvictionPolicy')).to.equal(undefined);
    },
  },
  {
    name: 'NetworkPolicy: webhook port from the API server CIDRs (and the test Pod), metrics separately, no egress without the preflight',
    values: {
      podSecurityPreflight: { enabled: false },
      networkPolicy: {
        enabled: true,
        apiServerCIDRs: ['10.0.0.10/32', '10.0.0.11/32'],
        metrics: { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
      },
    },
    check(docs) {
      const np = one(docs, 'NetworkPolicy', FULLNAME);
      expect(get(np, 'spec.podSelector.matchLabels')).to.deep.equal(get(one(docs, 'Deployment'), 'spec.selector.matchLabels'));
      expect(get(np, 'spec.policyTypes')).to.deep.equal(['Ingress', 'Egress']);
      expect(get(np, 'spec.egress')).to.deep.equal([]);
      const ingress = list(get(np, 'spec.ingress'), 'ingress');
      expect(ingress).to.have.length(2);
      expect(get(ingress[0], 'ports')).to.deep.equal([{ port: 'https', protocol: 'TCP' }]);
      const from = list(get(ingress[0], 'from'), 'webhook from');
      expect(from.slice(0, 2)).to.deep.equal([{ ipBlock: { cidr: '10.0.0.10/32' } }, { ipBlock: { cidr: '10.0.0.11/32' } }]);
      expect(obj(get(from[2], 'podSelector.matchLabels'), 'test selector')['app.kubernetes.io/component']).to.equal('test');
      expect(get(ingress[1], 'ports')).to.deep.equal([{ port: 'metrics', protocol: 'TCP' }]);
      expect(get(ingress[1], 'from')).to.deep.equal([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      ]);
    },
  },
  {
    name: 'NetworkPolicy without CIDRs admits any source to the webhook port; metrics rule can be off',
    values: { networkPolicy: { enabled: true, metrics: { enabled: false } } },
    check(docs) {
      const ingress = list(get(one(docs, 'NetworkPolicy'), 'spec.ingress'), 'ingress');
      expect(ingress).to.deep.equal([{ ports: [{ port: 'https', protocol: 'TCP' }] }]);
    },
  },
  {
    name: 'ServiceMonitor scrapes the metrics port of the Service',
    values: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' }, interval: '15s' } },
    check(docs) {
      const sm = one(docs, 'ServiceMonitor', FULLNAME);
      expect(get(sm, 'metadata.labels.release')).to.equal('prometheus');
      expect(get(sm, 'spec.endpoints')).to.deep.equal([
        { port: 'metrics', path: '/metrics', scheme: 'http', interval: '15s', scrapeTimeout: '10s' },
      ]);
      // This release's webhook Service, and only it: the labels it carries that name the release and the component.
      const selector = {
        'app.kubernetes.io/name': 'mountgate',
        'app.kubernetes.io/instance': 'mg',
        'app.kubernetes.io/component': 'webhook',
      };
      expect(get(sm, 'spec.selector.matchLabels')).to.deep.equal(selector);
      expect(get(sm, 'spec.namespaceSelector')).to.deep.equal({ matchNames: [NAMESPACE] });
      expect(get(one(docs, 'Service'), 'metadata.labels')).to.include(selector);
      expect(list(get(one(docs, 'Service'), 'spec.ports'), 'ports')).to.deep.include({
        name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP',
      });
    },
  },
  {
    name: 'cert-manager with an existing ClusterIssuer creates no Issuer of its own',
    values: { certs: { mode: 'certManager', certManager: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } } } },
    check(docs) {
      expect(all(docs, 'Issuer')).to.have.length(0);
      expect(all(docs, 'Certificate')).to.have.length(1);
      expect(get(one(docs, 'Certificate'), 'spec.issuerRef')).to.deep.equal({
        name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io',
      });
    },
  },
  {
    name: 'secret mode accepts the caBundle already base64-encoded',
    values: { certs: { mode: 'secret', secret: { name: 'tls', caBundle: Buffer.from(testCa().caPem).toString('base64') } } },
    check(docs) {
      const bundle = Buffer.from(testCa().caPem).toString('base64');
      expect(get(mutatingHook(docs), 'clientConfig.caBundle')).to.equal(bundle);
      expect(get(validatingHook(docs), 'clientConfig.caBundle')).to.equal(bundle);
    },
  },
  {
    name: 'a 53-character release name keeps every name within 63 characters',
    release: 'r'.repeat(53),
    check(docs) {
      for (const d of docs) expect(nameOf(d).length, `${kindOf(d)} ${nameOf(d)}`).to.be.at.most(63);
      const svc = nameOf(one(docs, 'Service'));
      expect(svc).to.equal(`${'r'.repeat(53)}-mountgate`);
      expect(nameOf(one(docs, 'ConfigMap'))).to.match(/-policy$/);
      expect(get(mutatingHook(docs), 'clientConfig.service.name')).to.equal(svc);
    },
  },
  {
    name: 'a release name containing the chart name is used as the full name',
    release: 'mountgate',
    check(docs) {
      expect(nameOf(one(docs, 'Deployment'))).to.equal('mountgate');
    },
  },
  {
    name: 'fullnameOverride',
    values: { fullnameOverride: 'admission-mounts' },
    check(docs) {
      expect(nameOf(one(docs, 'Deployment'))).to.equal('admission-mounts');
      expect(get(mutatingHook(docs), 'clientConfig.service.name')).to.equal('admission-mounts');
      expect(nameOf(one(docs, 'ConfigMap'))).to.equal('admission-mounts-policy');
    },
  },
  {
    name: 'the deer-flow values (examples/deer-flow-values.yaml): sandboxes mutated by label, every Pod of the namespace validated, the profile as the policy',
    files: [path.join(REPO_ROOT, 'examples', 'deer-flow-values.yaml')],
    check(docs) {
      const mutating = mutatingHook(docs);
      const validating = validatingHook(docs);
      expect(mutating['objectSelector']).to.deep.equal({ matchLabels: { app: 'deer-flow-sandbox' } });
      expect(list(mutating['matchConditions'], 'matchConditions')).to.have.length(1);
      expect(validating['objectSelector']).to.deep.equal({});
      expect(validating['matchConditions']).to.equal(undefined);
      for (const hook of [mutating, validating]) {
        expect(get(hook, 'namespaceSelector.matchLabels')).to.deep.equal({ 'kubernetes.io/metadata.name': 'deer-flow' });
        expect(notIn(hook)).to.deep.equal(['kube-system', NAMESPACE]);
      }
      // The values carry the same policy as examples/deer-flow-policy.yaml, entry for entry.
      expect(policyOf(docs)).to.deep.equal(examplePolicy);
    },
  },
  {
    name: 'every feature on (full.yaml)',
    files: [path.join(VALUES_DIR, 'full.yaml')],
    check(docs) {
      expect(all(docs, 'NetworkPolicy')).to.have.length(1);
      expect(all(docs, 'ServiceMonitor')).to.have.length(1);
      expect(get(one(docs, 'Deployment'), 'spec.template.metadata.labels.team')).to.equal('platform');
      expect(get(one(docs, 'MutatingWebhookConfiguration'), 'metadata.annotations')).to.deep.equal({ 'example.com/owner': 'platform' });
      expect(get(policyOf(docs), 'requesters')).to.deep.equal(['group:deer-flow-provisioners']);
      expect(all(docs, 'CustomResourceDefinition').map(nameOf)).to.deep.equal(['mountpolicies.mountgate.io']);
    },
  },
];

describe('helm template with values that change the output', function () {
  for (const row of rows) {
    it(row.name, function () {
      const docs = render({
        ...(row.values === undefined ? {} : { values: row.values }),
        ...(row.files === undefined ? {} : { files: row.files }),
        ...(row.namespace === undefined ? {} : { namespace: row.namespace }),
        ...(row.release === undefined ? {} : { release: row.release }),
        ...(row.extraArgs === undefined ? {} : { extraArgs: row.extraArgs }),
      });
      row.check(docs);
    });
  }

  it('PodDisruptionBudget sets unhealthyPodEvictionPolicy AlwaysAllow with --kube-version 1.30', function () {
    const docs = render({ extraArgs: ['--kube-version', '1.30.0'] });
    expect(get(one(docs, 'PodDisruptionBudget'), 'spec.unhealthyPodEvictionPolicy')).to.equal('AlwaysAllow');
  });

  it(`PodDisruptionBudget sets unhealthyPodEvictionPolicy AlwaysAllow by default (helm template assumes Kubernetes ${HELM_DEFAULT_KUBE_VERSION})`, function () {
    const docs = render();
    expect(get(one(docs, 'PodDisruptionBudget'), 'spec.unhealthyPodEvictionPolicy')).to.equal('AlwaysAllow');
  });
});
