/**
 * Runs deer-flow's real sandbox provisioner (docker/provisioner/app.py of a deer-flow checkout)
 * against a local control plane with mountgate in front, as docs/deer-flow.md installs it, and
 * checks each Pod it creates against the model of test/e2e/deer-flow-pods.ts.
 *
 *   node --import tsx test/e2e/tools/deer-flow-provisioner.ts --source DIR [--python PYTHON]
 *
 * DIR is a deer-flow checkout or git directory. Its app.py is copied to a scratch folder outside
 * this repository; deer-flow's Helm chart gives the provisioner's RBAC, ServiceAccount and env.
 * The provisioner runs in each setting of deer-flow/settings.ts (its env changed a little each
 * time) and is sent that setting's requests, most of them shaped as deer-flow's Gateway sends them.
 * A request expected to create a Pod passes when the Pod the API server stored equals the model's
 * Pod dry-run through the same API server as the same user; one expected to be refused passes when
 * the provisioner answers as stated and no Pod is stored.
 *
 * Exit status: 0 when every request went as expected, 1 when one did not (or the run failed),
 * 2 on a usage error, 128 + the signal's number when SIGINT or SIGTERM stopped it. Everything it
 * starts listens on 127.0.0.1 and is stopped, and its scratch folder removed, however it ends.
 * test/e2e/README.md says when to run it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AdmissionregistrationV1Api, CoreV1Api, KubernetesObjectApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { startLocalControlPlane, type TestUser } from '../controlplane.js';
import { serveDeerFlowProfile } from '../deer-flow-mountgate.js';
import { deerFlowSandboxPod } from '../deer-flow-pods.js';
import { deletePod, ignoreNotFound } from '../env.js';
import { makeTestCa } from '../mountgate-process.js';
import { Cleanups, sleep } from '../processes.js';
import { findHelm } from '../webhooks.js';
import { renderProvisionerChart, type ProvisionerChart } from './deer-flow/chart.js';
import type { CreateSandboxBody } from './deer-flow/gateway.js';
import { comparablePod, type Json } from './deer-flow/pod-diff.js';
import { rawJson, statusMessage } from './deer-flow/raw-api.js';
import { provisionerPython, startProvisioner } from './deer-flow/provisioner.js';
import { SETTINGS, modelRequestFor, sandboxIdFor, settingEnv, type RequestCase, type Setting } from './deer-flow/settings.js';
import { UsageError, deerFlowSource } from './deer-flow/source.js';
import { decisionsOn, judge, needsModel, resultLine, short, summaryLines, type Decisions, type ModelOutcome, type Result } from './deer-flow/verdict.js';

const USAGE = 'usage: node --import tsx test/e2e/tools/deer-flow-provisioner.ts --source DIR [--python PYTHON]';
/** The provisioner waits up to 10 s for its Service's address; the rest is the API server and the webhooks. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Any other API call or small group of them (set-up, read-back, deletes) on the local API server. */
const API_TIMEOUT_MS = 30_000;
/** How long a line the provisioner is expected to log after its answer may still be on its way. */
const PROVISIONER_LOG_WAIT_MS = 5_000;
/** mountgate's start (some seconds), the chart's render and the webhooks' first calls (up to 60 s). */
const SET_UP_TIMEOUT_MS = 180_000;

interface Options {
  readonly source: string;
  readonly python: string | undefined;
}

/** The flags as given; an unknown flag or a missing value is a usage error. */
function readFlags(argv: readonly string[]): { source?: string | undefined; python?: string | undefined } {
  try {
    return parseArgs({ args: [...argv], options: { source: { type: 'string' }, python: { type: 'string' } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function parseOptions(argv: readonly string[]): Options {
  const values = readFlags(argv);
  if (values.source === undefined || values.source === '') throw new UsageError('--source DIR is required');
  if (values.python === '') throw new UsageError('--python needs a value');
  return { source: path.resolve(values.source), python: values.python };
}

/** Rejects when `work` has not settled in `ms`, so that no step of the run can hang it. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}; everything started is stopped and removed`);
  }
}

/**
 * SIGINT and SIGTERM end the run after the current step, with everything stopped and removed; a
 * second one changes nothing, so the clean-up is never cut short.
 */
class Interruption {
  signal: NodeJS.Signals | undefined;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (this.signal ??= signal));
  }

  check(): void {
    if (this.signal !== undefined) throw new Interrupted(this.signal);
  }
}

/** What every request needs: the API server as admin and as the provisioner, and where to look. */
interface Cluster {
  readonly admin: CoreV1Api;
  readonly asProvisioner: CoreV1Api;
  /** The same two users for requests whose answers are compared field by field (raw-api.ts says why). */
  readonly adminConfig: KubeConfig;
  readonly provisionerConfig: KubeConfig;
  /** A kubeconfig file with the provisioner's token, for the provisioner itself. */
  readonly provisionerKubeconfig: string;
  /** Where the provisioner creates its Pods (its chart's K8S_NAMESPACE). */
  readonly namespace: string;
}

/** Set-up needs these too: mountgate reads namespaces with the admin's kubeconfig; the webhooks are registered as admin. */
interface StartedCluster extends Cluster {
  readonly adminKubeconfig: string;
  readonly admission: AdmissionregistrationV1Api;
}

function provisionerIdentity(chart: ProvisionerChart): TestUser {
  const { namespace, name } = chart.serviceAccount;
  return { name: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`] };
}

/**
 * etcd and kube-apiserver with the provisioner's ServiceAccount known by a static token, its
 * namespace labelled as docs/deer-flow.md installs it (Pod Security privileged, which hostPath
 * needs), and the RBAC objects of deer-flow's chart.
 */
async function startCluster(cleanups: Cleanups, chart: ProvisionerChart): Promise<StartedCluster> {
  const identity = provisionerIdentity(chart);
  const cp = await startLocalControlPlane({ identities: [identity] });
  cleanups.push(() => cp.stop());
  const admin = cp.admin.makeApiClient(CoreV1Api);
  const namespace = chart.env.K8S_NAMESPACE ?? chart.serviceAccount.namespace;
  await within(API_TIMEOUT_MS, "creating deer-flow's namespace and RBAC objects", (async () => {
    await admin.createNamespace({ body: { metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } } });
    const objects = KubernetesObjectApi.makeApiClient(cp.admin);
    for (const object of chart.objects) await objects.create(object);
  })());
  return {
    admin,
    asProvisioner: cp.as(identity).makeApiClient(CoreV1Api),
    adminConfig: cp.admin,
    provisionerConfig: cp.as(identity),
    provisionerKubeconfig: await cp.kubeconfigFor(identity),
    namespace,
    adminKubeconfig: cp.kubeconfigPath,
    admission: cp.admin.makeApiClient(AdmissionregistrationV1Api),
  };
}

/**
 * mountgate serving the deer-flow profile behind webhook configurations rendered from the chart with
 * examples/deer-flow-values.yaml as shipped (which select deer-flow's namespace by name); waits until
 * the API server calls both webhooks for the provisioner's Pods.
 */
async function startMountgate(
  cleanups: Cleanups,
  scratch: string,
  helm: string,
  cluster: StartedCluster,
): Promise<{ readonly url: string; readonly logFile: string }> {
  const tls = await makeTestCa(scratch);
  const serving = serveDeerFlowProfile({
    cleanups,
    dir: scratch,
    helm,
    tls,
    kubeconfigPath: cluster.adminKubeconfig,
    admission: cluster.admission,
    provisioner: cluster.asProvisioner,
    namespace: cluster.namespace,
    release: 'mountgate',
    helmArgs: [],
  });
  // mountgate's start and the wait for the webhooks have bounds of their own; the API calls between them do not.
  const { mountgate } = await within(SET_UP_TIMEOUT_MS, "starting mountgate behind the chart's webhooks", serving);
  return { url: mountgate.url, logFile: mountgate.logFile };
}

/** The model's Pod for the request, sent as a dry run through the API server as the provisioner. */
async function modelDryRun(cluster: Cluster, body: CreateSandboxBody, env: Readonly<Record<string, string>>): Promise<ModelOutcome> {
  let pod: V1Pod;
  try {
    pod = deerFlowSandboxPod(modelRequestFor(body, env));
  } catch (error) {
    return { kind: 'threw', message: error instanceof Error ? error.message : String(error) };
  }
  pod.metadata = { ...pod.metadata, namespace: cluster.namespace };
  const answer = await rawJson(cluster.provisionerConfig, 'POST', `${podsPath(cluster)}?dryRun=All`, API_TIMEOUT_MS, pod);
  if (answer.status === 201) return { kind: 'admitted', pod: comparablePod(answer.body) };
  return { kind: 'refused', code: answer.status, message: statusMessage(answer.body) };
}

function podsPath(cluster: Cluster): string {
  return `/api/v1/namespaces/${encodeURIComponent(cluster.namespace)}/pods`;
}

/** POST /api/sandboxes as deer-flow's Gateway does it (X-API-Key when one is configured). */
async function createSandbox(url: string, body: CreateSandboxBody, apiKey: string | undefined): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`${url}/api/sandboxes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey === undefined ? {} : { 'X-API-Key': apiKey }) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: `no answer: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The Pod the API server holds under that name, without its per-write fields; undefined when there is none. */
async function storedPod(cluster: Cluster, name: string): Promise<Json | undefined> {
  const answer = await rawJson(cluster.adminConfig, 'GET', `${podsPath(cluster)}/${encodeURIComponent(name)}`, API_TIMEOUT_MS);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`reading Pod ${name}: HTTP ${answer.status}: ${statusMessage(answer.body)}`);
  return comparablePod(answer.body);
}

/** One setting's provisioner, up and running. */
interface SettingRun {
  readonly cluster: Cluster;
  readonly setting: Setting;
  readonly provisionerUrl: string;
  /** The provisioner's log, and mountgate's (its decision lines say whether it judged the Pod). */
  readonly provisionerLog: string;
  readonly mountgateLog: string;
  /** The env that shapes its Pods (what the model is told), without the kubeconfig and the key. */
  readonly env: Readonly<Record<string, string>>;
  /** What the Gateway sends as X-API-Key; none where the setting runs without one. */
  readonly apiKey: string | undefined;
}

/** The model's dry run first (it stores nothing), then the real request, then what the API server stored. */
/** The bytes of a log file written since `from`. */
function logSince(file: string, from: number): string {
  try {
    return readFileSync(file).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * The provisioner's log since `from`. Uvicorn logs an exception's traceback after the 500 has been sent, so a line
 * the request is expected to leave is waited for, a few seconds at most.
 */
async function provisionerLogSince(file: string, from: number, awaited: string | undefined): Promise<string> {
  const deadline = Date.now() + PROVISIONER_LOG_WAIT_MS;
  for (;;) {
    const log = logSince(file, from);
    if (awaited === undefined || log.includes(awaited) || Date.now() >= deadline) return log;
    await sleep(100);
  }
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** How long a decision line may still be on its way: mountgate writes its log asynchronously, right after its answer. */
const DECISION_LINE_WAIT_MS = 2_000;

/** mountgate's decisions on the Pod so far; where one is expected, waits briefly for its line. */
async function decisionsOnPod(run: SettingRun, pod: string, expectOne: boolean): Promise<Decisions> {
  const deadline = Date.now() + DECISION_LINE_WAIT_MS;
  for (;;) {
    const decisions = decisionsOn(logSince(run.mountgateLog, 0).split('\n'), pod);
    if (!expectOne || decisions.validateAllowed > 0 || Date.now() >= deadline) return decisions;
    await sleep(100);
  }
}

async function runRequest(run: SettingRun, request: RequestCase, sandboxId: string): Promise<Result> {
  const what = `${run.setting.id}/${request.id}`;
  const body = request.body(sandboxId);
  const model: ModelOutcome = needsModel(request.expected)
    ? await within(API_TIMEOUT_MS, `${what}: the model's dry run`, modelDryRun(run.cluster, body, run.env))
    : { kind: 'not sent' };
  const logFrom = logSize(run.provisionerLog);
  const answer = await createSandbox(run.provisionerUrl, body, run.apiKey);
  const stored = await within(API_TIMEOUT_MS, `${what}: reading the Pod back`, storedPod(run.cluster, `sandbox-${sandboxId}`));
  const decisions = await decisionsOnPod(run, `sandbox-${sandboxId}`, request.expected.outcome === 'created');
  const log = await provisionerLogSince(run.provisionerLog, logFrom, 'logSays' in request.expected ? request.expected.logSays : undefined);
  const verdict = judge(request.expected, { status: answer.status, body: answer.body, stored, model, decisions, log });
  return { setting: run.setting.id, request: request.id, expected: request.expected, status: answer.status, verdict };
}

/**
 * The provisioner deletes only when asked, and its DELETE is not what is tried here. Ids are never
 * reused in a run, so this only keeps the namespace small.
 */
async function deleteSandboxes(cluster: Cluster, sandboxIds: readonly string[]): Promise<void> {
  await within(API_TIMEOUT_MS, 'deleting the sandboxes', (async () => {
    for (const id of sandboxIds) {
      await deletePod(cluster.admin, cluster.namespace, `sandbox-${id}`);
      await ignoreNotFound(cluster.admin.deleteNamespacedService({ namespace: cluster.namespace, name: `sandbox-${id}-svc` }));
    }
  })());
}

interface RunContext {
  readonly cluster: Cluster;
  readonly chart: ProvisionerChart;
  readonly scratch: string;
  readonly python: string;
  readonly appDir: string;
  readonly apiKey: string;
  readonly interruption: Interruption;
  readonly mountgateLog: string;
}

/** Lines of the provisioner's log shown under a setting where something went otherwise (a traceback, a refusal). */
const LOG_LINES_SHOWN = 15;

/**
 * One setting: its own provisioner process, its requests in order, then its sandboxes deleted.
 * The log goes with the scratch folder at the end, so its last lines are shown when a request of
 * the setting did not go as expected.
 */
async function runSetting(ctx: RunContext, setting: Setting, firstNumber: number, report: (result: Result) => void): Promise<void> {
  const env = settingEnv(ctx.chart.env, setting.env);
  const processEnv = { ...env, KUBECONFIG_PATH: ctx.cluster.provisionerKubeconfig, ...(setting.apiKey ? { PROVISIONER_API_KEY: ctx.apiKey } : {}) };
  const provisioner = await startProvisioner({ dir: ctx.scratch, name: setting.id, python: ctx.python, appDir: ctx.appDir, env: processEnv });
  const run: SettingRun = {
    cluster: ctx.cluster,
    setting,
    provisionerUrl: provisioner.url,
    provisionerLog: provisioner.proc.logFile,
    mountgateLog: ctx.mountgateLog,
    env,
    apiKey: setting.apiKey ? ctx.apiKey : undefined,
  };
  const sandboxIds: string[] = [];
  let unexpected = false;
  try {
    for (const [i, request] of setting.requests.entries()) {
      ctx.interruption.check();
      const sandboxId = sandboxIdFor(firstNumber + i, setting.id, request.id);
      sandboxIds.push(sandboxId);
      const result = await runRequest(run, request, sandboxId);
      unexpected ||= !result.verdict.ok;
      report(result);
    }
    if (unexpected) console.log(provisioner.proc.tail(LOG_LINES_SHOWN).replace(/^/gm, '  | '));
  } finally {
    try {
      await provisioner.proc.stop();
    } finally {
      await deleteSandboxes(ctx.cluster, sandboxIds);
    }
  }
}

async function run(options: Options, interruption: Interruption, cleanups: Cleanups): Promise<number> {
  const started = Date.now();
  const scratch = await mkdtemp(path.join(tmpdir(), 'mountgate-deer-flow-provisioner-'));
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  const source = await deerFlowSource(options.source, scratch);
  const helm = await findHelm();
  if (helm === undefined) throw new Error('helm is needed for both charts: scripts/install-helm.sh builds it');
  const chart = await renderProvisionerChart(helm, source.chartDir);
  const python = await provisionerPython(options.python);
  interruption.check();
  console.log(`${source.description}; provisioner env from its chart: ${JSON.stringify(chart.env)}`);
  if (chart.envFromElsewhere.length > 0) console.log(`not set here (the chart takes them from Secrets or ConfigMaps): ${chart.envFromElsewhere.join(', ')}`);

  const cluster = await startCluster(cleanups, chart);
  interruption.check();
  const mountgate = await startMountgate(cleanups, scratch, helm, cluster);
  interruption.check();
  console.log(`control plane and mountgate (${mountgate.url}) ready in ${((Date.now() - started) / 1000).toFixed(1)} s; provisioner as ${provisionerIdentity(chart).name}`);

  const ctx: RunContext = { cluster, chart, scratch, python, appDir: source.appDir, apiKey: randomBytes(16).toString('hex'), interruption, mountgateLog: mountgate.logFile };
  const results: Result[] = [];
  for (const setting of SETTINGS) {
    interruption.check();
    console.log(`\n# ${setting.id}: ${setting.description}`);
    await runSetting(ctx, setting, results.length + 1, (result) => {
      results.push(result);
      console.log(resultLine(result));
    });
  }
  console.log('');
  for (const line of summaryLines(results)) console.log(line);
  console.log(`${source.description}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return results.every((r) => r.verdict.ok) ? 0 : 1;
}

async function main(): Promise<number> {
  const interruption = new Interruption();
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const cleanups = new Cleanups('stopping the deer-flow provisioner run');
  let status: number;
  try {
    status = await run(options, interruption, cleanups);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n${USAGE}`);
      status = 2;
    } else if (error instanceof Interrupted) {
      console.error(error.message);
      status = 128 + constants.signals[error.signal];
    } else {
      console.error(`the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      status = 1;
    }
  } finally {
    try {
      await cleanups.run();
    } catch (error) {
      console.error(short(`clean-up failed: ${error instanceof Error ? error.message : String(error)}`));
      status = 1;
    }
  }
  return status;
}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
