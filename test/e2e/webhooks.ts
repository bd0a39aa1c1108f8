/**
 * The MutatingWebhookConfiguration and ValidatingWebhookConfiguration the tests register, pointed
 * at the local mountgate (url + caBundle) and selecting namespaces labelled mountgate.io/enabled=true.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1CustomResourceDefinition, V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './controlplane.js';
import { touchesAnnotationsCel } from '../chart/helm.js';

const execFileAsync = promisify(execFile);

export type WebhookSource = 'built in the test' | 'rendered from charts/mountgate';

export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'mountgate');

/**
 * The helm binary: $HELM, else the one scripts/install-helm.sh builds into the cache, else helm on
 * PATH; undefined when there is none.
 */
export async function findHelm(): Promise<string | undefined> {
  const candidates = [
    process.env.HELM,
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'mountgate', 'bin', 'helm'),
  ];
  for (const candidate of candidates) {
    if (candidate !== undefined && candidate !== '' && existsSync(candidate)) return candidate;
  }
  try {
    await execFileAsync('helm', ['version', '--short'], { timeout: 30_000 });
    return 'helm';
  } catch {
    return undefined;
  }
}

export interface WebhookConfigurations {
  readonly source: WebhookSource;
  readonly mutating: V1MutatingWebhookConfiguration;
  readonly validating: V1ValidatingWebhookConfiguration;
  readonly mutateWebhookName: string;
  readonly validateWebhookName: string;
}

export interface WebhookTarget {
  /** https://HOST:PORT, without a path. */
  readonly url: string;
  /** Base64 PEM of the CA that signed mountgate's certificate. */
  readonly caBundle: string;
  /** A scratch folder. */
  readonly dir: string;
}

const NAMESPACE_SELECTOR = { matchLabels: { 'mountgate.io/enabled': 'true' } };

/**
 * From the Helm chart when it and helm are there (`helm template` with webhook.url and
 * certs.mode=secret so the caBundle is ours), else the equivalent objects built here.
 * MOUNTGATE_E2E_WEBHOOKS=chart makes the chart required (CI sets it); =builtin forces the objects
 * built here.
 */
export async function webhookConfigurations(target: WebhookTarget): Promise<WebhookConfigurations> {
  const wanted = process.env.MOUNTGATE_E2E_WEBHOOKS ?? '';
  if (!['', 'chart', 'builtin'].includes(wanted)) throw new Error(`MOUNTGATE_E2E_WEBHOOKS must be chart or builtin, not ${wanted}`);
  if (wanted === 'builtin') return builtIn(target);
  const helm = existsSync(path.join(CHART_DIR, 'Chart.yaml')) ? await findHelm() : undefined;
  if (helm !== undefined) return fromChart(helm, target);
  if (wanted === 'chart') {
    throw new Error(`MOUNTGATE_E2E_WEBHOOKS=chart, but ${existsSync(CHART_DIR) ? 'no helm was found (scripts/install-helm.sh)' : `${CHART_DIR} does not exist`}`);
  }
  return builtIn(target);
}

function isKind(doc: unknown, kind: string): boolean {
  return typeof doc === 'object' && doc !== null && 'kind' in doc && doc.kind === kind;
}

/** More for `helm template`: a release name of its own (so the objects' names differ) and values. */
export interface ChartOptions {
  readonly release: string;
  /** Arguments such as `--values FILE` or `--set-json KEY=JSON`, after the suite's own. */
  readonly args: readonly string[];
}

/** An image for renders whose Pods never run (the chart requires one). */
export const RENDER_ONLY_IMAGE = 'registry.example.com/mountgate';

/** The chart's webhook configurations; with options, rendered with those values too. */
export async function fromChart(helm: string, target: WebhookTarget, options?: ChartOptions): Promise<WebhookConfigurations> {
  const { stdout } = await execFileAsync(
    helm,
    [
      'template', options?.release ?? 'mountgate-e2e', CHART_DIR,
      '--namespace', 'mountgate-system',
      '--show-only', 'templates/webhooks.yaml',
      // The chart requires an image; these renders use only the webhook configurations.
      '--set-string', `image.repository=${RENDER_ONLY_IMAGE}`,
      '--set-string', `webhook.url=${target.url}`,
      '--set-string', 'certs.mode=secret',
      '--set-string', 'certs.secret.name=mountgate-e2e-tls',
      '--set-string', `certs.secret.caBundle=${target.caBundle}`,
      ...(options?.args ?? []),
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const docs: unknown[] = parseAllDocuments(stdout).map((doc) => doc.toJS());
  const mutating = docs.find((doc) => isKind(doc, 'MutatingWebhookConfiguration')) as V1MutatingWebhookConfiguration | undefined;
  const validating = docs.find((doc) => isKind(doc, 'ValidatingWebhookConfiguration')) as V1ValidatingWebhookConfiguration | undefined;
  const mutateWebhookName = mutating?.webhooks?.[0]?.name;
  const validateWebhookName = validating?.webhooks?.[0]?.name;
  if (mutating === undefined || validating === undefined || mutateWebhookName === undefined || validateWebhookName === undefined) {
    throw new Error(`helm template rendered no mutating and validating webhook:\n${stdout}`);
  }
  return { source: 'rendered from charts/mountgate', mutating, validating, mutateWebhookName, validateWebhookName };
}

function builtIn(target: WebhookTarget): WebhookConfigurations {
  const mutateWebhookName = 'pods.mutate.mountgate.io';
  const validateWebhookName = 'pods.validate.mountgate.io';
  const mutating: V1MutatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'mountgate-e2e' },
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
    metadata: { name: 'mountgate-e2e' },
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
      {
        name: 'annotations.validate.mountgate.io',
        clientConfig: { url: `${target.url}/validate`, caBundle: target.caBundle },
        rules: [
          { operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'pods/status'], scope: 'Namespaced' },
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/binding', 'bindings'], scope: 'Namespaced' },
        ],
        namespaceSelector: NAMESPACE_SELECTOR,
        matchConditions: [{ name: 'touches-mount-annotation', expression: touchesAnnotationsCel(['mountgate.io/mounts', 'mountgate.io/sandbox-user']) }],
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

/** The chart's MountPolicy CRD (rendered with mountPolicies.enabled=true). */
export async function mountPolicyCrd(helm: string): Promise<V1CustomResourceDefinition> {
  const { stdout } = await execFileAsync(
    helm,
    ['template', 'mountgate-e2e', CHART_DIR, '--namespace', 'mountgate-system', '--show-only', 'templates/mountpolicy-crd.yaml', '--set', 'mountPolicies.enabled=true', '--set-string', `image.repository=${RENDER_ONLY_IMAGE}`],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const crd = parseAllDocuments(stdout)
    .map((doc): unknown => doc.toJS())
    .find((doc) => isKind(doc, 'CustomResourceDefinition')) as V1CustomResourceDefinition | undefined;
  if (crd === undefined) throw new Error(`helm template rendered no CustomResourceDefinition:\n${stdout}`);
  return crd;
}
