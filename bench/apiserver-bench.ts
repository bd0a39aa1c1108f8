/**
 * Section 5: Pod CREATE latency through a real kube-apiserver, with and without
 * mountgate in the path. The e2e environment (test/e2e/env.ts) brings up etcd
 * and the API server; mountgate runs as the chart installs it with MountPolicies
 * on (apiserver-layered.ts). Four sides take turns in rotating order, so drift
 * hits every side alike: a namespace mountgate's webhooks select, one they
 * select that has a MountPolicy, one no webhook selects, and one a do-nothing
 * webhook pair selects (apiserver-floor.ts: what any two webhooks cost).
 *
 * mountgate is measured as it runs in a cluster: on a core of its own
 * (apiserver-pinning.ts) and warm (WARM_REVIEWS direct reviews first). The same
 * creates are then repeated with every process free to use both cores.
 */
import { sleep } from '../test/e2e/controlplane.js';
import { setUp, sandboxPod, uniqueName, type E2E } from '../test/e2e/env.js';
import type { BenchConfig } from './config.js';
import { MARK_LABEL, startFloor } from './apiserver-floor.js';
import { apiserverMetrics, decisionTimes, meanBetween, mountgateMetrics, readHistogram, type Histogram } from './apiserver-metrics.js';
import { directCalls, reviewOf, warmUp, type DirectCalls, type DirectReview, type Endpoint } from './apiserver-direct.js';
import { inProcess, type InProcessTiming } from './apiserver-inprocess.js';
import { startLayeredMountgate, type LayeredMountgate } from './apiserver-layered.js';
import { answerWriteTimes } from './apiserver-write-times.js';
import { controlPlanePids, place, type Layout, type Placement } from './apiserver-pinning.js';
import { THREE_MOUNTS } from './fixtures.js';
import { LatencyRecorder, type LatencySummary } from './load/latency.js';
import { watchInterference } from './machine.js';
import { cpuSeconds } from './proc-stats.js';

/** mountgate's own time per review, mean ms. */
export interface PerReviewMs {
  readonly mutate: number;
  readonly validate: number;
}

/** One pass of timed creates in one layout of the processes. */
export interface LayoutRun {
  readonly layout: Layout;
  readonly podsPerSide: number;
  readonly withWebhooks: LatencySummary;
  /** In the namespace with a MountPolicy. */
  readonly withMountPolicy: LatencySummary;
  readonly withoutWebhooks: LatencySummary;
  /** With the do-nothing webhook pair instead of mountgate's. */
  readonly withFloorWebhooks: LatencySummary;
  readonly p50AddedMs: number;
  readonly p50AddedWithMountPolicyMs: number;
  /** What the do-nothing pair adds at p50: the API server's own price of two webhook calls. */
  readonly p50AddedByFloorMs: number;
  readonly p50Ratio: number;
  readonly p99Ratio: number;
  /** Calls mountgate counted during the measured creates, to show the webhooks really ran. */
  readonly mountgateCalls: { readonly mutate: number; readonly validate: number };
  /** Mean ms per call over both of mountgate's namespaces: as the API server timed each webhook call, and as mountgate timed its own work. */
  readonly perCallMs: {
    readonly apiserverMutate: number;
    readonly apiserverValidate: number;
    readonly mountgateMutate: number;
    readonly mountgateValidate: number;
  };
  /** mountgate's time per review by namespace, from its decision log (the histogram has no namespace label). */
  readonly mountgateByNamespace: { readonly plain: PerReviewMs; readonly withMountPolicy: PerReviewMs };
  /** Mean ms mountgate spent inside res.end() per answer (bench/preload/time-answer-write.mjs): the socket write its histogram includes. */
  readonly answerWriteMs: PerReviewMs;
  /** mountgate's CPU (every thread) over the reviews it answered meanwhile, ms per review. */
  readonly mountgateCpuMsPerReview: number;
  /** CPU of every process but the section's own (etcd, the API server, mountgate, the do-nothing server, the client) during the measured creates, % of one core. */
  readonly otherCpuPercent: number;
  readonly seconds: number;
}

/** The top-level fields are the pinned run's (the one the targets judge). */
export interface ApiserverSection extends LayoutRun {
  readonly webhookSource: string;
  /** Unmeasured creates per side before timing. */
  readonly warmupPerSide: number;
  /** Direct reviews mountgate answered before the timed creates. */
  readonly warmReviews: number;
  /** The same creates with every process free to use both cores. */
  readonly shared?: LayoutRun;
  /** mountgate called directly right after the pinned creates (apiserver-direct.ts). */
  readonly direct?: DirectCalls;
  /** The same /mutate review judged in a tight loop on the webhook core (apiserver-inprocess.ts). */
  readonly inProcess?: InProcessTiming;
}

const WARMUP_PER_SIDE = 20;
/**
 * Direct reviews before the timed creates, taking turns between /mutate and /validate of both
 * namespaces. A fresh mountgate's histogram kept falling for ~3,000 reviews (V8 still optimising),
 * V8 still compiles mountgate's code after 10,000 (bench/instructions.ts counts after 40,000 for that
 * reason); a webhook in a cluster has answered far more.
 */
export const WARM_REVIEWS = 40_000;
const SECTION_BUDGET_MS = 10 * 60_000;
const FLOOR_READY_MS = 60_000;
/** pino writes the decision lines asynchronously; give the last ones time to reach the file. */
const LOG_SETTLE_MS = 500;

type Histograms = Record<'apiserverMutate' | 'apiserverValidate' | 'mountgateMutate' | 'mountgateValidate', Histogram>;

interface Side {
  readonly namespace: string;
  readonly recorder: LatencyRecorder;
  readonly pods: Set<string>;
  readonly check: (injected: boolean) => boolean;
}

export async function runApiserverSection(config: BenchConfig, log: (line: string) => void): Promise<ApiserverSection> {
  log('starting etcd, kube-apiserver and mountgate (test/e2e/env.ts)');
  const { env, tearDown } = await setUp();
  try {
    const podWith = (name = uniqueName('bench')) => sandboxPod(name, THREE_MOUNTS);
    log('  the MountPolicy CRD, mountgate --mount-policies, a namespace with a MountPolicy');
    const floor = await startFloor(env);
    try {
      const layered = await startLayeredMountgate(env, podWith);
      try {
        const placement: Placement = { webhooks: [layered.server.pid, floor.pid], controlPlane: controlPlanePids() };
        try {
          return await measure(config, env, layered, floor.namespace, placement, podWith, log);
        } finally {
          // This process goes on after the section; give it both cores back.
          await place(placement, 'shared').catch(() => undefined);
        }
      } finally {
        await layered.stop();
      }
    } finally {
      await floor.stop();
    }
  } finally {
    await tearDown();
  }
}

async function measure(
  config: BenchConfig,
  env: E2E,
  layered: LayeredMountgate,
  floorNamespace: string,
  placement: Placement,
  podWith: () => ReturnType<typeof sandboxPod>,
  log: (line: string) => void,
): Promise<ApiserverSection> {
  const { core } = env;
  const deadline = Date.now() + SECTION_BUDGET_MS;
  const endpoint: Endpoint = { url: layered.url, ca: env.tls.caPem.toString('utf8'), metricsPort: layered.metricsPort, answerWrites: () => answerWriteTimes(layered.server.pid) };

  // The API server picks up new webhook configurations within a second or so.
  const floorReadyBy = Date.now() + FLOOR_READY_MS;
  for (let attempt = 0; ; attempt++) {
    const probe = await core.createNamespacedPod({ namespace: floorNamespace, body: podWith(), dryRun: 'All' });
    if (probe.metadata?.labels?.[MARK_LABEL] === 'yes') break;
    if (Date.now() > floorReadyBy || attempt > 600) throw new Error('the floor webhooks did not take effect within 60 s');
    await sleep(100);
  }

  await place(placement, 'pinned');
  const newSides = (): Side[] => [
    { namespace: env.enabledNs, check: (injected: boolean) => injected },
    { namespace: layered.namespace, check: (injected: boolean) => injected },
    { namespace: env.excludedNs, check: (injected: boolean) => !injected },
    { namespace: floorNamespace, check: (injected: boolean) => !injected },
  ].map((side) => ({ ...side, recorder: new LatencyRecorder(), pods: new Set<string>() }));
  const round = async (sides: readonly Side[], index: number, measured: boolean): Promise<void> => {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(index + k) % sides.length];
      if (side === undefined) continue;
      const body = podWith();
      const started = performance.now();
      const created = await core.createNamespacedPod({ namespace: side.namespace, body });
      const elapsed = performance.now() - started;
      if (measured) {
        side.recorder.record(elapsed);
        side.pods.add(body.metadata?.name ?? '');
      }
      const injected = (created.spec?.volumes ?? []).some((volume) => volume.name.startsWith('mountgate-'));
      if (!side.check(injected)) throw new Error(`a Pod in ${side.namespace} was ${injected ? '' : 'not '}mutated by mountgate`);
    }
  };
  const warmSides = newSides();
  for (let i = 0; i < WARMUP_PER_SIDE && Date.now() < deadline; i++) await round(warmSides, i, false);

  // The reviews as the API server builds them: its own dry-run objects (defaults filled in), by the admin.
  const asApiServerSends = async (namespace: string): Promise<DirectReview[]> => {
    const before = await core.createNamespacedPod({ namespace: env.excludedNs, body: podWith(), dryRun: 'All' });
    const after = await core.createNamespacedPod({ namespace, body: podWith(), dryRun: 'All' });
    return [reviewOf('/mutate', before, namespace, env.adminName), reviewOf('/validate', after, namespace, env.adminName)];
  };
  const plainReviews = await asApiServerSends(env.enabledNs);
  const reviews = [...plainReviews, ...(await asApiServerSends(layered.namespace))];
  log(`  warming mountgate up: ${WARM_REVIEWS} direct reviews`);
  await warmUp(endpoint, reviews, WARM_REVIEWS);

  const timedRun = async (layout: Layout, pods: number): Promise<LayoutRun> => {
    await place(placement, layout);
    const sides = newSides();
    const [plain, withPolicy, without, floor] = sides;
    if (plain === undefined || withPolicy === undefined || without === undefined || floor === undefined) throw new Error('a side is missing');
    const histogramsBefore = await histograms(env, layered);
    const writesBefore = await answerWriteTimes(layered.server.pid);
    const cpuBefore = cpuSeconds(layered.server.pid);
    const interference = watchInterference([...placement.webhooks, ...placement.controlPlane]);
    const started = performance.now();
    let done = 0;
    for (; done < pods && Date.now() < deadline; done++) {
      await round(sides, done, true);
      if ((done + 1) % 100 === 0) log(`  ${layout}: ${done + 1} rounds of Pods created`);
    }
    const seconds = (performance.now() - started) / 1000;
    const { otherCpuPercent } = interference();
    const cpu = cpuSeconds(layered.server.pid) - cpuBefore;
    const histogramsAfter = await histograms(env, layered);
    const writesAfter = await answerWriteTimes(layered.server.pid);
    const perCallMs = (key: keyof Histograms): number => meanBetween(histogramsBefore[key], histogramsAfter[key]) * 1000;
    const calls = (key: 'mountgateMutate' | 'mountgateValidate'): number => histogramsAfter[key].count - histogramsBefore[key].count;
    await sleep(LOG_SETTLE_MS);
    const byLog = async (side: Side): Promise<PerReviewMs> => {
      const times = await decisionTimes(layered.logFile, side.pods);
      const none = { sum: 0, count: 0 };
      return { mutate: meanBetween(none, times.mutate) * 1000, validate: meanBetween(none, times.validate) * 1000 };
    };
    const [withSummary, policySummary, withoutSummary, floorSummary] = [plain, withPolicy, without, floor].map((side) => side.recorder.summary());
    if (withSummary === undefined || policySummary === undefined || withoutSummary === undefined || floorSummary === undefined) throw new Error('a side is missing');
    const mountgateCalls = { mutate: calls('mountgateMutate'), validate: calls('mountgateValidate') };
    return {
      layout,
      podsPerSide: done,
      withWebhooks: withSummary,
      withMountPolicy: policySummary,
      withoutWebhooks: withoutSummary,
      withFloorWebhooks: floorSummary,
      p50AddedMs: withSummary.p50 - withoutSummary.p50,
      p50AddedWithMountPolicyMs: policySummary.p50 - withoutSummary.p50,
      p50AddedByFloorMs: floorSummary.p50 - withoutSummary.p50,
      p50Ratio: withSummary.p50 / withoutSummary.p50,
      p99Ratio: withSummary.p99 / withoutSummary.p99,
      mountgateCalls,
      perCallMs: {
        apiserverMutate: perCallMs('apiserverMutate'),
        apiserverValidate: perCallMs('apiserverValidate'),
        mountgateMutate: perCallMs('mountgateMutate'),
        mountgateValidate: perCallMs('mountgateValidate'),
      },
      mountgateByNamespace: { plain: await byLog(plain), withMountPolicy: await byLog(withPolicy) },
      answerWriteMs: {
        mutate: meanBetween(writesBefore.mutate, writesAfter.mutate) * 1000,
        validate: meanBetween(writesBefore.validate, writesAfter.validate) * 1000,
      },
      mountgateCpuMsPerReview: (cpu * 1000) / Math.max(1, mountgateCalls.mutate + mountgateCalls.validate),
      otherCpuPercent,
      seconds,
    };
  };

  const pinned = await timedRun('pinned', config.apiserverPods);
  log('  the same mountgate called directly, one review at a time; then the in-process path');
  // Extra views of the same process: a failure here is reported, not fatal to the section.
  const optional = <T>(what: string, run: () => Promise<T>): Promise<T | undefined> =>
    run().catch((error: unknown) => {
      log(`  ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
  const plainMutate = plainReviews[0];
  const direct = plainMutate === undefined ? undefined : await optional('direct calls', () => directCalls(endpoint, plainMutate, pinned.podsPerSide));
  const inProcessTiming =
    plainMutate === undefined ? undefined : await optional('the in-process path', () => inProcess(env.dir, env.mountgate.options.policy, plainMutate.body));
  const shared = await timedRun('shared', config.apiserverPods);
  return {
    ...pinned,
    webhookSource: `${env.webhookSource} with mountPolicies.enabled=true`,
    warmupPerSide: WARMUP_PER_SIDE,
    warmReviews: WARM_REVIEWS,
    shared,
    ...(direct === undefined ? {} : { direct }),
    ...(inProcessTiming === undefined ? {} : { inProcess: inProcessTiming }),
  };
}

async function histograms(env: E2E, layered: LayeredMountgate): Promise<Histograms> {
  const [api, own] = [await apiserverMetrics(env.cp.admin), await mountgateMetrics(layered.metricsPort)];
  const webhook = 'apiserver_admission_webhook_admission_duration_seconds';
  return {
    apiserverMutate: readHistogram(api, webhook, { name: layered.mutateWebhook, type: 'admit' }),
    apiserverValidate: readHistogram(api, webhook, { name: layered.validateWebhook, type: 'validating' }),
    mountgateMutate: readHistogram(own, 'mountgate_admission_duration_seconds', { endpoint: 'mutate' }),
    mountgateValidate: readHistogram(own, 'mountgate_admission_duration_seconds', { endpoint: 'validate' }),
  };
}
