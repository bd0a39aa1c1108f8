/**
 * Clusters that Chart.yaml admits (kubeVersion >=1.25.0-0) but that have no webhook matchConditions
 * (alpha and off in 1.27, unknown before; beta and on from 1.28). There the API server drops the
 * field from a webhook, and the annotations webhook, whose rules name every Pod UPDATE and
 * pods/status UPDATE, would then hold every Pod update and kubelet status write of the selected
 * namespaces: the chart refuses to render it there and says what to set.
 */
import { expect } from 'chai';
import { failureText, get, isObj, list, one, parseManifests, template } from './helm.js';

const ANNOTATIONS_WEBHOOK = 'annotations.validate.mountgate.io';

function webhookNames(stdout: string): unknown[] {
  const cfg = one(parseManifests(stdout), 'ValidatingWebhookConfiguration');
  return list(get(cfg, 'webhooks'), 'webhooks').map((w) => (isObj(w) ? w['name'] : undefined));
}

describe('clusters without webhook matchConditions (Kubernetes 1.25 to 1.27)', function () {
  for (const kubeVersion of ['1.25.16', '1.26.15', '1.27.16']) {
    it(`--kube-version ${kubeVersion}, default values: refused, naming webhook.validating.annotationUpdates and the cluster's version`, function () {
      const res = template({ extraArgs: ['--kube-version', kubeVersion] });
      expect(res.status).to.not.equal(0);
      expect(res.stdout).to.equal('');
      expect(failureText(res)).to.include(
        `webhook.validating.annotationUpdates needs webhook matchConditions, which Kubernetes applies from 1.28 (this cluster is v${kubeVersion}): without them the API server would send mountgate every Pod update and kubelet status write in the selected namespaces, and hold them while mountgate is down. Set webhook.validating.annotationUpdates=false`,
      );
    });

    it(`--kube-version ${kubeVersion}, webhook.validating.annotationUpdates=false: renders the Pod webhooks without the annotations webhook`, function () {
      const res = template({ values: { webhook: { validating: { annotationUpdates: false } } }, extraArgs: ['--kube-version', kubeVersion] });
      expect(res.status, failureText(res)).to.equal(0);
      expect(webhookNames(res.stdout)).to.deep.equal(['pods.validate.mountgate.io']);
    });
  }

  it('--kube-version 1.25.16, webhook.validating.enabled=false: renders (no validating webhook to hold anything)', function () {
    const res = template({ values: { webhook: { validating: { enabled: false } } }, extraArgs: ['--kube-version', '1.25.16'] });
    expect(res.status, failureText(res)).to.equal(0);
  });

  it('--kube-version 1.28.0, default values: renders the annotations webhook with its matchConditions', function () {
    const res = template({ extraArgs: ['--kube-version', '1.28.0'] });
    expect(res.status, failureText(res)).to.equal(0);
    const cfg = one(parseManifests(res.stdout), 'ValidatingWebhookConfiguration');
    const webhook = list(get(cfg, 'webhooks'), 'webhooks').find((w) => isObj(w) && w['name'] === ANNOTATIONS_WEBHOOK);
    expect(list(get(webhook, 'matchConditions'), 'matchConditions').map((c) => (isObj(c) ? c['name'] : undefined))).to.deep.equal(['touches-mount-annotation']);
  });
});
