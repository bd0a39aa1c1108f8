/**
 * Kyverno's admission controller run out of cluster against a local API
 * server, as BENCHMARKS.md ("Kyverno") describes: its CRDs applied server-side,
 * a `kyverno` namespace with the two ConfigMaps it reads, the environment its
 * chart sets, and its webhooks registered by itself with a URL on 127.0.0.1.
 * The `webhooks` setting of its ConfigMap limits every webhook it registers to
 * namespaces with SELECT_LABEL, so other namespaces see no webhook at all.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { ControlPlane } from '../../test/e2e/controlplane.js';
import { freePort, sleep, startProc, waitFor, type Proc } from '../../test/e2e/processes.js';
import { REPO_ROOT } from '../workspace.js';

const execFileAsync = promisify(execFile);

export const KYVERNO_VERSION = 'v1.19.1';
export const KYVERNO_NAMESPACE = 'kyverno';
/** Namespaces with this label get Kyverno's webhooks; no other namespace does. */
export const SELECT_LABEL = 'bench.mountgate.io/kyverno';
const CRD_GROUPS = ['kyverno', 'policies.kyverno.io', 'policyreport', 'reports'];
const INSTALL_SCRIPT = path.join(REPO_ROOT, 'bench', 'tools', 'install-kyverno.sh');
const START_TIMEOUT_MS = 120_000;
const TLS_SECRET = 'kyverno-svc.kyverno.svc.kyverno-tls-pair';

export interface KyvernoInstall {
  readonly bin: string;
  readonly crdDir: string;
}

/** Where bench/tools/install-kyverno.sh puts the binary and the CRDs (the same environment variables). */
export function findKyverno(env: NodeJS.ProcessEnv = process.env): KyvernoInstall | { readonly missing: string } {
  const cacheDir = env.MOUNTGATE_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'mountgate');
  const bin = path.join(env.MOUNTGATE_BIN_DIR ?? path.join(cacheDir, 'bin'), 'kyverno');
  const crdDir = path.join(cacheDir, 'kyverno-crds', KYVERNO_VERSION);
  const how = `run ${path.relative(REPO_ROOT, INSTALL_SCRIPT)} (builds Kyverno ${KYVERNO_VERSION} from the Go module proxy, about a minute with a warm Go build cache, 10-20 without)`;
  if (!existsSync(bin)) return { missing: `no Kyverno binary at ${bin}: ${how}` };
  const groupsMissing = CRD_GROUPS.filter((group) => !existsSync(path.join(crdDir, group)) || readdirSync(path.join(crdDir, group)).length === 0);
  if (groupsMissing.length > 0) return { missing: `Kyverno's CRDs (${groupsMissing.join(', ')}) are not in ${crdDir}: ${how}` };
  return { bin, crdDir };
}

export interface Kyverno {
  readonly pid: number;
  readonly proc: Proc;
  /** The version Kyverno logged at start. */
  readonly version: string;
  /** Names of the webhooks Kyverno registered for resources (as the API server's metrics label them), once a policy exists. */
  resourceWebhooks(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startKyverno(cp: ControlPlane, dir: string, install: KyvernoInstall): Promise<Kyverno> {
  const kubectl = (args: readonly string[]): Promise<unknown> =>
    execFileAsync(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  await kubectl(['apply', '--server-side', ...CRD_GROUPS.flatMap((group) => ['-f', path.join(install.crdDir, group)])]);
  // A CRD just applied may have no status yet, which `kubectl wait` reports as an error: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await kubectl(['wait', '--for', 'condition=Established', '--timeout', '60s', 'crd', '--all']);
      break;
    } catch (error) {
      if (attempt >= 10) throw error;
      await sleep(1_000);
    }
  }

  const core = cp.admin.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: KYVERNO_NAMESPACE } } });
  const webhooks = { namespaceSelector: { matchLabels: { [SELECT_LABEL]: 'true' } } };
  await core.createNamespacedConfigMap({ namespace: KYVERNO_NAMESPACE, body: { metadata: { name: 'kyverno' }, data: { webhooks: JSON.stringify(webhooks) } } });
  await core.createNamespacedConfigMap({ namespace: KYVERNO_NAMESPACE, body: { metadata: { name: 'kyverno-metrics' } } });

  const port = await freePort();
  const metricsPort = await freePort();
  const environment = {
    KYVERNO_NAMESPACE,
    KYVERNO_SERVICEACCOUNT_NAME: 'kyverno-admission-controller',
    KYVERNO_DEPLOYMENT: 'kyverno-admission-controller',
    KYVERNO_POD_NAME: 'kyverno-bench',
    KYVERNO_SVC: 'kyverno-svc',
    INIT_CONFIG: 'kyverno',
    METRICS_CONFIG: 'kyverno-metrics',
  };
  const args = [
    `--kubeconfig=${cp.kubeconfigPath}`,
    // In URL mode Kyverno writes https://<serverIP><path> into its webhooks and ignores servicePort, so the port goes here.
    `--serverIP=127.0.0.1:${port}`,
    '--webhookServerHost=127.0.0.1',
    `--webhookServerPort=${port}`,
    '--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca',
    `--tlsSecretName=${TLS_SECRET}`,
    '--disableMetrics=true',
    // It serves Prometheus metrics even with --disableMetrics (that only turns off the OpenTelemetry export): loopback only.
    '--metricsHost=127.0.0.1',
    `--metricsPort=${metricsPort}`,
    '--controllerRuntimeMetricsAddress=0',
    '--loggingFormat=json',
    '--reportsServiceAccountName=system:serviceaccount:kyverno:kyverno-reports-controller',
    '--backgroundServiceAccountName=system:serviceaccount:kyverno:kyverno-background-controller',
  ];
  // `env` execs Kyverno in its own place, so the process id is Kyverno's.
  const proc = await startProc(dir, 'kyverno', 'env', [...Object.entries(environment).map(([key, value]) => `${key}=${value}`), install.bin, ...args]);
  const pid = proc.child.pid;
  try {
    if (pid === undefined) throw new Error(`kyverno did not start: ${proc.tail()}`);
    const admission = cp.admin.makeApiClient(AdmissionregistrationV1Api);
    // The policy webhook is registered once its certificates exist and its controllers run.
    await waitFor('Kyverno to register its webhooks', [proc], START_TIMEOUT_MS, async () => {
      const list = await admission.listValidatingWebhookConfiguration();
      const registered = list.items.some((config) => config.metadata?.name === 'kyverno-policy-validating-webhook-cfg' && (config.webhooks ?? []).length > 0);
      // Its webhooks can be registered before its serving certificate exists; until then every call fails.
      return registered && (await tlsSecretExists(core));
    });
    const version = loggedVersion(proc.logFile);
    if (version !== KYVERNO_VERSION) throw new Error(`the Kyverno at ${install.bin} says it is ${version ?? 'no version'}, not ${KYVERNO_VERSION}: run ${path.relative(REPO_ROOT, INSTALL_SCRIPT)}`);
    const resourceWebhooks = async (): Promise<string[]> => {
      const mutating = await admission.listMutatingWebhookConfiguration();
      const validating = await admission.listValidatingWebhookConfiguration();
      return [...mutating.items, ...validating.items]
        .filter((config) => (config.metadata?.name ?? '').startsWith('kyverno-resource-'))
        .flatMap((config) => (config.webhooks ?? []).map((webhook) => webhook.name));
    };
    return { pid, proc, version, resourceWebhooks, stop: () => proc.stop() };
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

async function tlsSecretExists(core: CoreV1Api): Promise<boolean> {
  const secrets = await core.listNamespacedSecret({ namespace: KYVERNO_NAMESPACE });
  return secrets.items.some((secret) => secret.metadata?.name === TLS_SECRET);
}

/** The version from Kyverno's start-up line `{"message":"version","version":...}` (JSON logs). */
function loggedVersion(logFile: string): string | undefined {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"version"')) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && parsed.message === 'version' && 'version' in parsed && typeof parsed.version === 'string') {
        return parsed.version;
      }
    } catch {
      // Not a JSON line (Go runtime output): keep looking.
    }
  }
  return undefined;
}
