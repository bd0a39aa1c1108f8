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
import type { V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { policySchema } from '../src/policy/schema.js';
import { sleep } from '../test/e2e/controlplane.js';
import { EXAMPLE_POLICY } from '../test/e2e/env.js';
import { apiserverMetrics, meanBetween, readHistogram, type Histogram } from './apiserver-metrics.js';
import type { BenchConfig } from './config.js';
import { compareCorpus, CORPUS_POLICY, corpusPolicyInForce, type CorpusComparison } from './kyverno/corpus.js';
import { KYVERNO_GAPS, type MountgatePolicySpec } from './kyverno/policy.js';
import { findKyverno, KYVERNO_VERSION } from './kyverno/process.js';
import { startStack, type Stack } from './kyverno/stack.js';
import { timedPod, verify } from './kyverno/verify.js';
import { AlternatingCreates } from './kyverno/rounds.js';
import type { LatencySummary } from './load/latency.js';
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

async function webhookHistograms(stack: Stack, names: readonly string[]): Promise<Histogram> {
  const text = await apiserverMetrics(stack.cp.admin);
  return names.map((name) => readHistogram(text, WEBHOOK_HISTOGRAM, { name })).reduce((a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }), { sum: 0, count: 0 });
}

export async function runKyvernoSection(config: BenchConfig, log: (line: string) => void): Promise<KyvernoSection | KyvernoSkipped> {
  const install = findKyverno();
  if ('missing' in install) return { skipped: install.missing };
  // Through mountgate's own schema: the profile is what `mountgate serve` would load, defaults filled in.
  const raw: unknown = parseYaml(await readFile(EXAMPLE_POLICY, 'utf8'));
  policySchema.validateSync(raw, { strict: true, abortEarly: false });
  const profile: MountgatePolicySpec = policySchema.cast(raw);
  log(`starting etcd, kube-apiserver, mountgate and Kyverno ${KYVERNO_VERSION}`);
  const stack = await startStack(install, profile, () => timedPod());
  try {
    const { core, kyverno, mountgate } = stack;
    const injected = (pod: V1Pod | string): boolean => typeof pod !== 'string' && (pod.spec?.volumes ?? []).some((volume) => volume.name.startsWith('mountgate-'));
    await stack.applyPolicy({ ...profile, requesters: [stack.adminName] }, async (probe) => injected(await probe()));
    const verified = await verify(stack);
    log(`  verified: ${verified.length} checks`);

    const creates = new AlternatingCreates(
      [
        { namespace: stack.kyvernoNs, injects: true },
        { namespace: stack.mountgateNs, injects: true },
        { namespace: stack.plainNs, injects: false },
      ],
      (namespace) => core.createNamespacedPod({ namespace, body: timedPod() }),
      injected,
    );
    const deadline = Date.now() + SECTION_BUDGET_MS;
    await creates.run(WARMUP_PER_SIDE, false, deadline);

    const kyvernoWebhooks = await kyverno.resourceWebhooks();
    const mountgateCpu = (): Promise<number> => mountgate.metric('process_cpu_seconds_total', {});
    const idleStart = { kyverno: cpuSeconds(kyverno.pid), mountgate: await mountgateCpu(), at: performance.now() };
    await sleep(config.quick ? IDLE_MS / 5 : IDLE_MS);
    const idleSeconds = (performance.now() - idleStart.at) / 1000;
    const idleRate = { kyverno: (cpuSeconds(kyverno.pid) - idleStart.kyverno) / idleSeconds, mountgate: ((await mountgateCpu()) - idleStart.mountgate) / idleSeconds };
    const reading = async (): Promise<{ kyverno: Histogram; mountgate: Histogram; kyvernoCpu: number; mountgateCpu: number }> => ({
      kyverno: await webhookHistograms(stack, kyvernoWebhooks),
      mountgate: await webhookHistograms(stack, stack.mountgateWebhooks),
      kyvernoCpu: cpuSeconds(kyverno.pid),
      mountgateCpu: await mountgateCpu(),
    });
    const before = await reading();
    const interference = watchInterference([]);
    const started = performance.now();
    const done = await creates.run(config.apiserverPods, true, deadline, log);
    const seconds = (performance.now() - started) / 1000;
    const machineBusyPercent = interference().otherCpuPercent;
    const after = await reading();
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
    const [withKyverno, withMountgate, withoutWebhooks] = creates.summaries();
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
