/**
 * Clusters that Chart.yaml admits (kubeVersion >=1.25.0-0) but that have no webhook matchConditions
 * (alpha and off in 1.27, unknown before; beta and on from 1.28). There the API server drops the
 * field from a webhook, and the webhook then receives every request its rules name.
 */
import { expect } from 'chai';
import { failureText, get, isObj, list, one, parseManifests, template } from './helm.js';

/** Its rules name every Pod UPDATE and pods/status UPDATE; only its matchConditions narrow them. */
const ANNOTATIONS_WEBHOOK = 'annotations.validate.mountgate.io';

describe('clusters without webhook matchConditions (Kubernetes 1.25 to 1.27)', function () {
  for (const kubeVersion of ['1.25.16', '1.26.15', '1.27.16']) {
    it(`--kube-version ${kubeVersion}, default values: no webhook is rendered that, once the API server drops its matchConditions, holds every Pod update and kubelet status write of the selected namespaces (failurePolicy Fail)`, function () {
      const res = template({ extraArgs: ['--kube-version', kubeVersion] });
      if (res.status !== 0) {
        // Refusing to render, naming what to set, is as good as leaving the webhook out.
        expect(failureText(res)).to.match(/annotationUpdates/);
        return;
      }
      const cfg = one(parseManifests(res.stdout), 'ValidatingWebhookConfiguration');
      const names = list(get(cfg, 'webhooks'), 'webhooks').map((w) => (isObj(w) ? w['name'] : undefined));
      expect(names, `webhooks rendered for Kubernetes ${kubeVersion}`).not.to.include(ANNOTATIONS_WEBHOOK);
    });
  }
});
