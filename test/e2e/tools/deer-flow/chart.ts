/**
 * deer-flow's Helm chart, rendered for release "deer-flow": the provisioner's RBAC objects, its
 * ServiceAccount and the env its Deployment gives it, which the tool starts the provisioner with.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

const execFileAsync = promisify(execFile);

export const RELEASE = 'deer-flow';
const TEMPLATES = ['templates/provisioner-rbac.yaml', 'templates/provisioner-deployment.yaml'];

export interface ProvisionerChart {
  /** The provisioner container's env entries that have a value. */
  readonly env: Readonly<Record<string, string>>;
  /** Env entries the chart takes from a Secret or ConfigMap (valueFrom): not set when the tool runs it. */
  readonly envFromElsewhere: readonly string[];
  /** The namespace and name of the ServiceAccount the provisioner runs as. */
  readonly serviceAccount: { readonly namespace: string; readonly name: string };
  /** Everything the two templates render but the Deployment: ServiceAccount, Roles, bindings. */
  readonly objects: readonly KubernetesObject[];
}

type Mapping = Readonly<Record<string, unknown>>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, ...keys: readonly string[]): unknown {
  let at = value;
  for (const key of keys) at = isMapping(at) ? at[key] : undefined;
  return at;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`deer-flow's chart renders no ${what}`);
  return value;
}

function isKubernetesObject(doc: unknown): doc is KubernetesObject {
  return typeof field(doc, 'apiVersion') === 'string' && typeof field(doc, 'kind') === 'string' && isMapping(field(doc, 'metadata'));
}

/** What the rendered provisioner templates say (pure: the YAML text in, the facts out). */
export function readProvisionerChart(rendered: string): ProvisionerChart {
  const docs = parseAllDocuments(rendered)
    .map((doc): unknown => doc.toJS())
    .filter(isKubernetesObject);
  const deployment = docs.find((doc) => doc.kind === 'Deployment');
  if (deployment === undefined) throw new Error("deer-flow's chart renders no provisioner Deployment");
  const pod = field(deployment, 'spec', 'template', 'spec');
  const containers = field(pod, 'containers');
  const first: unknown = Array.isArray(containers) ? containers[0] : undefined;
  const entries = field(first, 'env');
  const env: Record<string, string> = {};
  const envFromElsewhere: string[] = [];
  for (const entry of Array.isArray(entries) ? entries : []) {
    const name = text(field(entry, 'name'), 'env entry name');
    const value = field(entry, 'value');
    if (typeof value === 'string') env[name] = value;
    else envFromElsewhere.push(name);
  }
  return {
    env,
    envFromElsewhere,
    serviceAccount: {
      namespace: text(deployment.metadata?.namespace, 'provisioner namespace'),
      name: text(field(pod, 'serviceAccountName'), 'provisioner serviceAccountName'),
    },
    objects: docs.filter((doc) => doc.kind !== 'Deployment'),
  };
}

/** `helm template` of the provisioner's two templates, with the chart's defaults. */
export async function renderProvisionerChart(helm: string, chartDir: string): Promise<ProvisionerChart> {
  const { stdout } = await execFileAsync(
    helm,
    ['template', RELEASE, chartDir, ...TEMPLATES.flatMap((t) => ['--show-only', t])],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return readProvisionerChart(stdout);
}
