/**
 * The MutatingWebhookConfiguration and ValidatingWebhookConfiguration the tests register, pointed
 * at the local mountgate (url + caBundle) and selecting namespaces labelled mountgate.io/enabled=true.
 */
import type { V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';

export type WebhookSource = 'built in the test';

export interface WebhookConfigurations {
  readonly source: WebhookSource;
  readonly mutating: V1MutatingWebhookConfiguration;
  readonly validating: V1ValidatingWebhookConfiguration;
  readonly mutateWebhookName: string;
  readonly validateWebhookName: string;
}

export interface WebhookTarget {
  /** https://127.0.0.1:PORT, without a path. */
  readonly url: string;
  /** Base64 PEM of the CA that signed mountgate's certificate. */
  readonly caBundle: string;
  /** A scratch folder. */
  readonly dir: string;
}

const NAMESPACE_SELECTOR = { matchLabels: { 'mountgate.io/enabled': 'true' } };

export async function webhookConfigurations(target: WebhookTarget): Promise<WebhookConfigurations> {
  const mutateWebhookName = 'pods.mutate.mountgate.io';
  const validateWebhookName = 'pods.validate.mountgate.io';
  const mutating: V1MutatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'mountgate' },
    webhooks: [
      {
        name: mutateWebhookName,
        clientConfig: { url: `${target.url}/mutate`, caBundle: target.caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: NAMESPACE_SELECTOR,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        reinvocationPolicy: 'IfNeeded',
        timeoutSeconds: 10,
      },
    ],
  };
  const validating: V1ValidatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'mountgate' },
    webhooks: [
      {
        name: validateWebhookName,
        clientConfig: { url: `${target.url}/validate`, caBundle: target.caBundle },
        rules: [
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
          { operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' },
        ],
        namespaceSelector: NAMESPACE_SELECTOR,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        timeoutSeconds: 10,
      },
    ],
  };
  return { source: 'built in the test', mutating, validating, mutateWebhookName, validateWebhookName };
}
