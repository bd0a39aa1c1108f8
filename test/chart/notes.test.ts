/**
 * NOTES.txt, rendered through a copy of the chart in which a probe ConfigMap runs it with `tpl`
 * (helm prints NOTES only when it talks to a cluster).
 */
import { expect } from 'chai';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHART_DIR, IMAGE_VALUES, NAMESPACE, RELEASE, get, helm, one, parseManifests, str, valuesFile } from './helm.js';

describe('NOTES.txt', function () {
  let chart = '';
  before(function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'mountgate-notes-'));
    chart = path.join(dir, 'mountgate');
    cpSync(CHART_DIR, chart, { recursive: true });
    cpSync(path.join(chart, 'templates', 'NOTES.txt'), path.join(chart, 'files', 'NOTES.txt'));
    writeFileSync(
      path.join(chart, 'templates', 'notes-probe.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-probe\ndata:\n  notes: {{ tpl (.Files.Get "files/NOTES.txt") . | quote }}\n',
    );
  });
  after(function () {
    rmSync(path.dirname(chart), { recursive: true, force: true });
  });

  /** NOTES as `helm install` prints them on a cluster of kubeVersion (by default the one the chart is tested with). */
  function notes(values: Record<string, unknown>, kubeVersion = '1.34.0'): string {
    const v = valuesFile(values);
    try {
      const res = helm(['template', RELEASE, chart, '-n', NAMESPACE, '-f', IMAGE_VALUES, '-f', v.file, '--kube-version', kubeVersion, '--show-only', 'templates/notes-probe.yaml']);
      expect(res.status, res.stderr).to.equal(0);
      return str(get(one(parseManifests(res.stdout), 'ConfigMap', 'notes-probe'), 'data.notes'), 'notes');
    } finally {
      v.cleanup();
    }
  }

  const rows: { name: string; values: Record<string, unknown>; kubeVersion?: string; has: string[]; hasNot: string[] }[] = [
    {
      name: 'defaults: how to enable a namespace, the PSA note, emergency removal, the empty-policy note',
      values: {},
      has: [
        'kubectl label namespace SANDBOX-NS mountgate.io/enabled=true',
        'pod-security.kubernetes.io/enforce=privileged',
        'kubectl delete mutatingwebhookconfiguration mg-mountgate',
        'kubectl delete validatingwebhookconfiguration mg-mountgate',
        `helm test ${RELEASE} -n ${NAMESPACE}`,
        'every mount request is denied',
        '(only Pods annotated mountgate.io/mounts)',
      ],
      hasNot: ['WARNING', 'networkPolicy is on', 'cleanup is off', 'mpol', 'MountPolic'],
    },
    {
      name: 'failurePolicy Ignore is warned about, with what the backstop still holds',
      values: { webhook: { failurePolicy: 'Ignore' } },
      has: ['WARNING: failurePolicy is Ignore', 'anyone who may create Pods can cause that', 'The backstop still holds'],
      hasNot: ['nothing then'],
    },
    {
      name: 'failurePolicy Ignore: emergency removal and cleanup off say what happens then, without claiming Pods are refused',
      values: { webhook: { failurePolicy: 'Ignore' }, cleanup: { enabled: false } },
      has: [
        'Emergency removal (mountgate down: Pods it cannot review are admitted without it):',
        'delete the webhook configurations above (or\nthe API server keeps calling a removed Service during the uninstall)',
      ],
      hasNot: ['Pods refused', 'are refused during'],
    },
    {
      name: 'failurePolicy Fail (the default): emergency removal and cleanup off say Pods are refused',
      values: { cleanup: { enabled: false } },
      has: [
        'Emergency removal (mountgate down and Pods refused):',
        'delete the webhook configurations above (or\nPods in the selected namespaces are refused during the uninstall)',
      ],
      hasNot: ['admitted without it'],
    },
    {
      name: 'tests off: no helm test to run',
      values: { tests: { enabled: false } },
      has: ['rollout status deployment/mg-mountgate'],
      hasNot: ['helm test'],
    },
    {
      // The backstop is rendered on 1.30+ only: on an older cluster there is none to count on.
      name: 'failurePolicy Ignore on Kubernetes 1.29 says the backstop is not installed there and nothing checks those Pods',
      values: { webhook: { failurePolicy: 'Ignore' } },
      kubeVersion: '1.29.0',
      has: ['WARNING: failurePolicy is Ignore', 'the backstop is not installed on this cluster (v1.29.0; it needs Kubernetes 1.30+): nothing then'],
      hasNot: ['The backstop still holds'],
    },
    {
      name: 'failurePolicy Ignore on Kubernetes 1.30: the backstop still holds',
      values: { webhook: { failurePolicy: 'Ignore' } },
      kubeVersion: '1.30.0',
      has: ['The backstop still holds'],
      hasNot: ['not installed on this cluster'],
    },
    {
      name: 'the Pod validating webhook off on Kubernetes 1.29: nothing re-checks the Pod, since the backstop is not installed there',
      values: { webhook: { validating: { enabled: false } } },
      kubeVersion: '1.29.0',
      has: ['reach nothing (the backstop is not installed on this cluster: v1.29.0; it needs Kubernetes 1.30+)'],
      hasNot: ['only the backstop'],
    },
    {
      name: 'failurePolicy Ignore without the backstop says nothing checks those Pods',
      values: { webhook: { failurePolicy: 'Ignore' }, backstop: { enabled: false } },
      has: ['WARNING: failurePolicy is Ignore', 'backstop.enabled is false: nothing then'],
      hasNot: ['The backstop still holds'],
    },
    {
      name: 'a PodDisruptionBudget with minAvailable equal to replicaCount is warned about: no drain can evict a replica',
      values: { podDisruptionBudget: { minAvailable: 2 } },
      has: ['WARNING: the PodDisruptionBudget allows no voluntary eviction (minAvailable 2, replicaCount 2)', 'kubectl drain'],
      hasNot: [],
    },
    {
      name: 'a PodDisruptionBudget with maxUnavailable 0 is warned about',
      values: { podDisruptionBudget: { maxUnavailable: 0 } },
      has: ['WARNING: the PodDisruptionBudget allows no voluntary eviction (maxUnavailable 0, replicaCount 2)'],
      hasNot: [],
    },
    {
      name: 'a PodDisruptionBudget with minAvailable 100% is warned about',
      values: { podDisruptionBudget: { minAvailable: '100%' } },
      has: ['WARNING: the PodDisruptionBudget allows no voluntary eviction (minAvailable 100%, replicaCount 2)'],
      hasNot: [],
    },
    {
      // The disruption controller rounds a percentage of minAvailable up: 51% of 2 replicas is 2.
      name: 'a PodDisruptionBudget with a minAvailable percentage that rounds up to replicaCount is warned about',
      values: { podDisruptionBudget: { minAvailable: '51%' } },
      has: ['WARNING: the PodDisruptionBudget allows no voluntary eviction (minAvailable 51%, replicaCount 2)'],
      hasNot: [],
    },
    {
      name: 'a PodDisruptionBudget with minAvailable 67% of 3 replicas (rounded up: 3) is warned about',
      values: { replicaCount: 3, podDisruptionBudget: { minAvailable: '67%' } },
      has: ['WARNING: the PodDisruptionBudget allows no voluntary eviction (minAvailable 67%, replicaCount 3)'],
      hasNot: [],
    },
    {
      name: 'a PodDisruptionBudget with minAvailable 50% of 2 replicas (1) leaves one replica to evict: no warning',
      values: { podDisruptionBudget: { minAvailable: '50%' } },
      has: [],
      hasNot: ['PodDisruptionBudget allows no voluntary eviction'],
    },
    {
      name: 'a PodDisruptionBudget with minAvailable 66% of 3 replicas (rounded up: 2) leaves one to evict: no warning',
      values: { replicaCount: 3, podDisruptionBudget: { minAvailable: '66%' } },
      has: [],
      hasNot: ['PodDisruptionBudget allows no voluntary eviction'],
    },
    {
      name: 'a PodDisruptionBudget that leaves one replica to evict is not warned about',
      values: { replicaCount: 3, podDisruptionBudget: { minAvailable: 2 } },
      has: [],
      hasNot: ['PodDisruptionBudget allows no voluntary eviction'],
    },
    {
      name: 'failurePolicy Ignore with a backstop that only audits or warns: nothing refuses such a Pod',
      values: { webhook: { failurePolicy: 'Ignore' }, backstop: { validationActions: ['Audit', 'Warn'] } },
      has: ['WARNING: failurePolicy is Ignore', 'backstop.validationActions has no Deny: nothing then'],
      hasNot: ['The backstop still holds'],
    },
    {
      name: 'the Pod validating webhook off with a backstop that only warns: nothing re-checks the Pod',
      values: { webhook: { validating: { enabled: false } }, backstop: { validationActions: ['Warn'] } },
      has: ['WARNING: webhook.validating.enabled is false', 'reach nothing (backstop.validationActions has no Deny)'],
      hasNot: ['only the backstop'],
    },
    {
      name: 'a single replica with failurePolicy Fail is warned about',
      values: { replicaCount: 1 },
      has: ['WARNING: failurePolicy is Fail with a single replica'],
      hasNot: [],
    },
    {
      name: 'an open NetworkPolicy, cleanup off, a policy with paths, cert-manager',
      values: {
        networkPolicy: { enabled: true },
        cleanup: { enabled: false },
        policy: { allowedHostPaths: [{ pathPrefix: '/srv' }] },
        certs: { mode: 'certManager' },
      },
      has: ['networkPolicy is on but neither', 'cleanup is off', "cainjector"],
      hasNot: ['every mount request is denied'],
    },
    {
      name: 'a NetworkPolicy with webhookFrom but no apiServerCIDRs: the webhook port admits those peers alone, so they must hold the API server',
      values: {
        networkPolicy: { enabled: true, webhookFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
      },
      has: ['WARNING: networkPolicy.webhookFrom is set without networkPolicy.apiServerCIDRs', 'the API server can reach mountgate only if one of those peers is its source'],
      hasNot: ['networkPolicy is on but neither'],
    },
    {
      name: 'a NetworkPolicy with apiServerCIDRs and webhookFrom: no warning about the API server',
      values: {
        networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.10/32'], webhookFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
      },
      has: [],
      hasNot: ['networkPolicy.webhookFrom is set without', 'networkPolicy is on but neither'],
    },
    {
      name: 'mountPolicies on: how to list them, that they only narrow, that the CRD stays',
      values: { mountPolicies: { enabled: true } },
      has: ['kubectl get mpol -A', 'can only narrow', 'stays after `helm uninstall`', 'ValidatingWebhookConfiguration/mg-mountgate\n'],
      hasNot: ['MountPolicy writes only'],
    },
    {
      name: 'mountPolicies on with failurePolicy Ignore: the MountPolicy webhook is said to fail closed in every namespace, kube-system included',
      values: { mountPolicies: { enabled: true }, webhook: { failurePolicy: 'Ignore' } },
      has: [
        'Webhooks (failurePolicy Ignore, timeout 5s)',
        `  mountpolicies.validate.mountgate.io: failurePolicy Fail whatever webhook.failurePolicy says, in every namespace\n  (kube-system and ${NAMESPACE} included); it judges nothing but MountPolicy CREATE and UPDATE.\n`,
        `   kube-system, ${NAMESPACE} are never sent to the Pod webhooks.`,
      ],
      hasNot: [],
    },
    {
      name: 'mountPolicies on with the Pod validating webhook off: the configuration is there for MountPolicy writes',
      values: { mountPolicies: { enabled: true }, webhook: { validating: { enabled: false } } },
      has: ['ValidatingWebhookConfiguration/mg-mountgate (MountPolicy writes only)'],
      hasNot: [],
    },
    {
      name: 'the Pod validating webhook off is warned about, with what the backstop still holds',
      values: { webhook: { validating: { enabled: false } } },
      has: ['WARNING: webhook.validating.enabled is false', 'reach only the backstop', 'updates of the annotation are not checked at all'],
      hasNot: ['nothing (backstop.enabled is false too)'],
    },
    {
      name: 'the Pod validating webhook and the backstop off: nothing re-checks the Pod',
      values: { webhook: { validating: { enabled: false } }, backstop: { enabled: false } },
      has: ['WARNING: webhook.validating.enabled is false', 'reach nothing (backstop.enabled is false too)'],
      hasNot: ['only the'],
    },
    {
      name: 'a selector by the namespace name label: no label to set, since the API server keeps that one',
      values: { webhook: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'deer-flow' } } } },
      has: ['2. mountgate is on for the namespace deer-flow (webhook.namespaceSelector names it by\n   kubernetes.io/metadata.name, a label the API server sets and keeps).'],
      hasNot: ['kubectl label namespace SANDBOX-NS kubernetes.io', 'kubectl label namespace deer-flow'],
    },
    {
      name: 'a selector by the name label and another label: only the other label is set, on that namespace',
      values: { webhook: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'deer-flow', team: 'a' } } } },
      has: ['it must\n   also carry:\n     kubectl label namespace deer-flow team=a\n'],
      hasNot: ['kubernetes.io/metadata.name=deer-flow'],
    },
    {
      name: 'a selector of expressions only: the expressions are shown, no empty label command',
      values: { webhook: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] } } },
      has: ['2. mountgate is on for the namespaces matching webhook.namespaceSelector\'s expressions:\n     [{"key":"team","operator":"In","values":["a"]}]\n'],
      hasNot: ['kubectl label namespace SANDBOX-NS \n', 'kubectl label namespace SANDBOX-NS mountgate'],
    },
    {
      name: 'labels and expressions: the label command, then the expressions the namespace must also match',
      values: { webhook: { namespaceSelector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] } } },
      has: ['     kubectl label namespace SANDBOX-NS team=a\n   It must also match these expressions:\n     [{"key":"tier","operator":"Exists"}]\n'],
      hasNot: [],
    },
    {
      name: 'a namespace named by the selector that is also excluded is warned about',
      values: { webhook: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NAMESPACE } } } },
      has: [`WARNING: ${NAMESPACE} is one of them, so nothing is sent at all`],
      hasNot: [],
    },
    {
      name: "a webhook's own namespace selector is named beside the shared one",
      values: { webhook: { validating: { namespaceSelector: { matchLabels: { team: 'b' } } } } },
      has: ['2. Turn mountgate on for a namespace (it selects mountgate.io/enabled=true)', '   The validating webhook selects by webhook.validating.namespaceSelector instead: {"matchLabels":{"team":"b"}}\n'],
      hasNot: ['The mutating webhook selects'],
    },
    {
      name: "a webhook's own empty namespace selector is named too: that webhook takes every namespace",
      values: { webhook: { validating: { namespaceSelector: {} } } },
      has: ['   The validating webhook selects by webhook.validating.namespaceSelector instead: {} (every namespace)\n'],
      hasNot: ['The mutating webhook selects'],
    },
    {
      name: 'an empty selector: every namespace',
      values: { webhook: { namespaceSelector: {} } },
      has: ['2. mountgate is on for every namespace (webhook.namespaceSelector selects all).'],
      hasNot: ['kubectl label namespace SANDBOX-NS mountgate'],
    },
    {
      name: 'excluded namespaces are named with kube-system and the release namespace',
      values: { webhook: { excludeNamespaces: ['tools', 'kube-system'] } },
      has: [`   kube-system, ${NAMESPACE}, tools are never sent to the Pod webhooks.`],
      hasNot: [],
    },
    {
      name: 'the mutating webhook off: emergency removal names only the validating configuration',
      values: { webhook: { mutating: { enabled: false } } },
      has: ['Emergency removal', 'kubectl delete validatingwebhookconfiguration mg-mountgate'],
      hasNot: ['kubectl delete mutatingwebhookconfiguration'],
    },
    {
      name: 'policy.annotation left empty (null): the mutating webhook is said to take mountgate.io/mounts, the key mountgate reads',
      values: { policy: { annotation: null } },
      has: ['(only Pods annotated mountgate.io/mounts)'],
      hasNot: ['(only Pods annotated )'],
    },
    {
      name: 'no webhook configuration at all: no emergency removal',
      values: { webhook: { mutating: { enabled: false }, validating: { enabled: false } } },
      has: ['2. Turn mountgate on for a namespace'],
      hasNot: ['Emergency removal', 'kubectl delete'],
    },
  ];
  for (const row of rows) {
    it(row.name, function () {
      const text = notes(row.values, row.kubeVersion);
      for (const s of row.has) expect(text).to.include(s);
      for (const s of row.hasNot) expect(text).to.not.include(s);
    });
  }
});
