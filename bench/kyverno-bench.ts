/**
 * Section 6: mountgate against Kyverno, the peer deer-flow's chart points
 * admins to, through the same kube-apiserver. A control plane of its own
 * (bench/kyverno/stack.ts): Kyverno's webhooks see only its namespace, so Pod
 * CREATEs can take turns between Kyverno's namespace, mountgate's and one
 * without webhooks in the same run. Both enforce the shipped deer-flow profile
 * (examples/deer-flow-policy.yaml; Kyverno's as the closest ClusterPolicy,
 * bench/kyverno/policy.ts), verified on a good and a bad Pod before timing.
 * Then the hostile-path corpus goes through Kyverno (bench/kyverno/corpus.ts).
 */
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { sleep } from '../test/e2e/controlplane.js';
import { EXAMPLE_POLICY, uniqueName } from '../test/e2e/env.js';
import { injectedMount, injectedVolume, normalizeMounts } from '../test/e2e/expect.js';
import { apiserverMetrics, meanBetween, readHistogram, type Histogram } from './apiserver-metrics.js';
import type { BenchConfig } from './config.js';
import { sandboxPod as reviewedSandboxPod, THREE_MOUNTS } from './fixtures.js';
import { compareCorpus, CORPUS_POLICY, corpusPolicyInForce, type CorpusComparison } from './kyverno/corpus.js';
import { KYVERNO_GAPS, type MountgatePolicySpec } from './kyverno/policy.js';
import { findKyverno, KYVERNO_VERSION } from './kyverno/process.js';
import { startStack, type Stack } from './kyverno/stack.js';
import { LatencyRecorder, type LatencySummary } from './load/latency.js';
import { watchInterference } from './machine.js';
import { cpuSeconds, memory } from './proc-stats.js';

export interface AdmissionCost {
  /** Webhook calls the API server made to it during the timed creates (its apiserver_admission_webhook_admission_duration_seconds_count). */
  readonly reviews: number;
  /** Mean milliseconds per call as the API server timed them. */
  readonly apiserverMsPerCall: number;
  /** Process CPU (user + system) over the timed creates, per call. */
  readonly cpuMicrosPerReview: number;
  /** CPU the process used while no Pod was created (its controllers, leases, informers), % of one core. */
  readonly idleCpuPercent: number;
  /** cpuMicrosPerReview less the idle rate over the same window. */
  readonly cpuMicrosPerReviewBeyondIdle: number;
  readonly rssMiB: number;
}

export interface KyvernoSection {
  readonly version: string;
  readonly podsPerSide: number;
  readonly warmupPerSide: number;
  readonly withKyverno: LatencySummary;
  readonly withMountgate: LatencySummary;
  readonly withoutWebhooks: LatencySummary;
  readonly kyverno: AdmissionCost;
  readonly mountgate: AdmissionCost;
  /** What was checked before timing: Kyverno injects what mountgate injects for the timed Pod, and denies a bad one. */
  readonly verified: readonly string[];
  readonly gaps: readonly string[];
  readonly corpus: CorpusComparison;
  /** CPU of the whole machine during the timed creates, % of one core. */
  readonly machineBusyPercent: number;
  readonly seconds: number;
}

export interface KyvernoSkipped {
  readonly skipped: string;
}

const WARMUP_PER_SIDE = 20;
const SECTION_BUDGET_MS = 10 * 60_000;
const WEBHOOK_HISTOGRAM = 'apiserver_admission_webhook_admission_duration_seconds';
/** How long both processes are watched with no Pod being created, to tell their background CPU from their reviews'. */
const IDLE_MS = 10_000;

/** The benchmark's deer-flow sandbox Pod (bench/fixtures.ts) as a client sends it: no namespace, status or managedFields. */
export function timedPod(mounts: readonly unknown[] = THREE_MOUNTS): V1Pod {
  const { metadata, spec, kind, apiVersion } = reviewedSandboxPod(mounts, 1, 'no-managed-fields');
  const { namespace: _namespace, ...rest } = metadata as Record<string, unknown>;
  return { kind, apiVersion, metadata: { ...rest, name: uniqueName('bench') }, spec } as V1Pod;
}

function mountgateParts(pod: V1Pod): { volumes: unknown[]; mounts: unknown[] } {
  const sandbox = pod.spec?.containers.find((container) => container.name === 'sandbox');
  return {
    volumes: (pod.spec?.volumes ?? []).filter((volume) => volume.name.startsWith('mountgate-')).sort((a, b) => a.name.localeCompare(b.name)),
    mounts: normalizeMounts((sandbox?.volumeMounts ?? []).filter((mount) => mount.name.startsWith('mountgate-'))).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** The injected volumes and mounts the reference prescribes for THREE_MOUNTS (docs/reference.md section 7). */
function expectedParts(): { volumes: unknown[]; mounts: unknown[] } {
  const entries = THREE_MOUNTS.map((mount) => ({ host: String(mount.host_path), target: String(mount.container_path), readOnly: mount.read_only !== false }));
  return {
    volumes: entries.map((entry) => injectedVolume(entry.host, entry.readOnly ? 'Directory' : 'DirectoryOrCreate')).sort((a, b) => a.name.localeCompare(b.name)),
    mounts: entries.map((entry) => injectedMount(entry.host, entry.target, entry.readOnly)).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

async function verify(stack: Stack): Promise<string[]> {
  const expected = expectedParts();
  const verified: string[] = [];
  for (const namespace of [stack.kyvernoNs, stack.mountgateNs]) {
    const who = namespace === stack.kyvernoNs ? 'Kyverno' : 'mountgate';
    const good = await stack.core.createNamespacedPod({ namespace, body: timedPod(), dryRun: 'All' });
    // Through JSON: the client's model objects carry undefined fields and their own key order.
    const got: unknown = JSON.parse(JSON.stringify(mountgateParts(good)));
    if (!isDeepStrictEqual(got, expected)) throw new Error(`${who} did not inject the reference's volumes and mounts: ${JSON.stringify(got)} (expected ${JSON.stringify(expected)})`);
    verified.push(`${who} admits the timed Pod with the 3 volumes and mounts the reference prescribes (names, types, read-only flags)`);
    for (const bad of [
      { host_path: '/etc', container_path: '/mnt/etc' },
      { host_path: '/srv/sandbox2/x', container_path: '/mnt/x' },
      { host_path: '/srv/models/x', container_path: '/mnt/x', read_only: false },
      { host_path: '/srv/sandbox/x', container_path: '/mnt/skills/x' },
    ]) {
      const denied = await stack.core.createNamespacedPod({ namespace, body: timedPod([bad]), dryRun: 'All' }).then(
        () => false,
        () => true,
      );
      if (!denied) throw new Error(`${who} admitted ${JSON.stringify(bad)}`);
    }
    verified.push(`${who} denies /etc, a look-alike prefix (/srv/sandbox2), a read-write model and a reserved target`);
  }
  return verified;
}

async function webhookHistograms(stack: Stack, names: readonly string[]): Promise<Histogram> {
  const text = await apiserverMetrics(stack.cp.admin);
  return names.map((name) => readHistogram(text, WEBHOOK_HISTOGRAM, { name })).reduce((a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }), { sum: 0, count: 0 });
}

export async function runKyvernoSection(config: BenchConfig, log: (line: string) => void): Promise<KyvernoSection | KyvernoSkipped> {
  const install = findKyverno();
  if ('missing' in install) return { skipped: install.missing };
  const profile = parseYaml(await readFile(EXAMPLE_POLICY, 'utf8')) as MountgatePolicySpec;
  log(`starting etcd, kube-apiserver, mountgate and Kyverno ${KYVERNO_VERSION}`);
  const stack = await startStack(install, profile, () => timedPod());
  try {
    const { core, kyverno, mountgate } = stack;
    const injected = (pod: V1Pod | string): boolean => typeof pod !== 'string' && (pod.spec?.volumes ?? []).some((volume) => volume.name.startsWith('mountgate-'));
    await stack.applyPolicy({ ...profile, requesters: [stack.adminName] }, async (probe) => injected(await probe()));
    const verified = await verify(stack);
    log(`  verified: ${verified.length} checks`);

    const sides = [
      { namespace: stack.kyvernoNs, recorder: new LatencyRecorder(), injects: true },
      { namespace: stack.mountgateNs, recorder: new LatencyRecorder(), injects: true },
      { namespace: stack.plainNs, recorder: new LatencyRecorder(), injects: false },
    ];
    const round = async (index: number, measured: boolean): Promise<void> => {
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(index + k) % sides.length];
        if (side === undefined) continue;
        const started = performance.now();
        const created = await core.createNamespacedPod({ namespace: side.namespace, body: timedPod() });
        const elapsed = performance.now() - started;
        if (measured) side.recorder.record(elapsed);
        if (injected(created) !== side.injects) throw new Error(`a Pod in ${side.namespace} was ${side.injects ? 'not ' : ''}mutated`);
      }
    };
    const deadline = Date.now() + SECTION_BUDGET_MS;
    for (let i = 0; i < WARMUP_PER_SIDE && Date.now() < deadline; i++) await round(i, false);

    const kyvernoWebhooks = await kyverno.resourceWebhooks();
    const mountgateCpu = (): Promise<number> => mountgate.metric('process_cpu_seconds_total', {});
    const idleStart = { kyverno: cpuSeconds(kyverno.pid), mountgate: await mountgateCpu(), at: performance.now() };
    await sleep(config.quick ? IDLE_MS / 5 : IDLE_MS);
    const idleSeconds = (performance.now() - idleStart.at) / 1000;
    const idleRate = { kyverno: (cpuSeconds(kyverno.pid) - idleStart.kyverno) / idleSeconds, mountgate: ((await mountgateCpu()) - idleStart.mountgate) / idleSeconds };
    const before = {
      kyverno: await webhookHistograms(stack, kyvernoWebhooks),
      mountgate: await webhookHistograms(stack, stack.mountgateWebhooks),
      kyvernoCpu: cpuSeconds(kyverno.pid),
      mountgateCpu: await mountgateCpu(),
    };
    const interference = watchInterference([]);
    const started = performance.now();
    let done = 0;
    for (; done < config.apiserverPods && Date.now() < deadline; done++) {
      await round(done, true);
      if ((done + 1) % 100 === 0) log(`  ${done + 1} rounds of Pods created`);
    }
    const seconds = (performance.now() - started) / 1000;
    const machineBusyPercent = interference().otherCpuPercent;
    const after = {
      kyverno: await webhookHistograms(stack, kyvernoWebhooks),
      mountgate: await webhookHistograms(stack, stack.mountgateWebhooks),
      kyvernoCpu: cpuSeconds(kyverno.pid),
      mountgateCpu: await mountgateCpu(),
    };
    const cost = (key: 'kyverno' | 'mountgate', cpu: number, rssMiB: number): AdmissionCost => {
      const reviews = after[key].count - before[key].count;
      const perReview = (seconds: number): number => (reviews > 0 ? (seconds / reviews) * 1e6 : Number.NaN);
      return {
        reviews,
        apiserverMsPerCall: meanBetween(before[key], after[key]) * 1000,
        cpuMicrosPerReview: perReview(cpu),
        idleCpuPercent: idleRate[key] * 100,
        cpuMicrosPerReviewBeyondIdle: perReview(cpu - idleRate[key] * seconds),
        rssMiB,
      };
    };
    const kyvernoCost = cost('kyverno', after.kyvernoCpu - before.kyvernoCpu, memory(kyverno.pid).rssMiB);
    const mountgateCost = cost('mountgate', after.mountgateCpu - before.mountgateCpu, (await mountgate.metric('process_resident_memory_bytes', {})) / 2 ** 20);
    const [withKyverno, withMountgate, withoutWebhooks] = sides.map((side) => side.recorder.summary());
    if (withKyverno === undefined || withMountgate === undefined || withoutWebhooks === undefined) throw new Error('a side is missing');

    log('  the hostile-path corpus through Kyverno');
    const corpusPolicy = { ...CORPUS_POLICY, requesters: [] };
    await stack.applyPolicy(corpusPolicy, () => corpusPolicyInForce(stack.cp.admin, stack.kyvernoNs));
    const corpus = await compareCorpus(stack.cp.admin, stack.kyvernoNs, stack.plainNs);

    return {
      version: kyverno.version,
      podsPerSide: done,
      warmupPerSide: WARMUP_PER_SIDE,
      withKyverno,
      withMountgate,
      withoutWebhooks,
      kyverno: kyvernoCost,
      mountgate: mountgateCost,
      verified,
      gaps: KYVERNO_GAPS,
      corpus,
      machineBusyPercent,
      seconds,
    };
  } finally {
    await stack.tearDown();
  }
}
