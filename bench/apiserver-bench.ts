/**
 * Section 5: Pod CREATE latency through a real kube-apiserver, with and without
 * mountgate in the path. The e2e environment (test/e2e/env.ts) brings up etcd,
 * the API server, `mountgate serve` and the webhook registrations; its two
 * namespaces give the comparison: the webhooks select one and not the other.
 * Creates alternate between the two (ABBA order) so drift hits both sides alike.
 */
import { setUp, sandboxPod, uniqueName } from '../test/e2e/env.js';
import type { BenchConfig } from './config.js';
import { apiserverMetrics, meanBetween, mountgateMetrics, readHistogram, type Histogram } from './apiserver-metrics.js';
import { THREE_MOUNTS } from './fixtures.js';
import { LatencyRecorder, type LatencySummary } from './load/latency.js';
import { watchInterference } from './machine.js';

export interface ApiserverSection {
  readonly webhookSource: string;
  readonly podsPerSide: number;
  /** Unmeasured creates per side before timing. */
  readonly warmupPerSide: number;
  readonly withWebhooks: LatencySummary;
  readonly withoutWebhooks: LatencySummary;
  readonly p50AddedMs: number;
  readonly p50Ratio: number;
  readonly p99Ratio: number;
  /** Calls mountgate counted during the measured creates, to show the webhooks really ran. */
  readonly mountgateCalls: { readonly mutate: number; readonly validate: number };
  /** Mean milliseconds per call: as the API server timed each webhook call, and as mountgate timed its own work. */
  readonly perCallMs: {
    readonly apiserverMutate: number;
    readonly apiserverValidate: number;
    readonly mountgateMutate: number;
    readonly mountgateValidate: number;
  };
  /** CPU of the whole machine during the measured creates (API server, etcd, mountgate, client and anything else), % of one core. */
  readonly machineBusyPercent: number;
  readonly seconds: number;
}

const WARMUP_PER_SIDE = 20;
const SECTION_BUDGET_MS = 10 * 60_000;

export async function runApiserverSection(config: BenchConfig, log: (line: string) => void): Promise<ApiserverSection> {
  log('starting etcd, kube-apiserver and mountgate (test/e2e/env.ts)');
  const { env, tearDown } = await setUp();
  try {
    const { core, enabledNs, excludedNs, mountgate } = env;
    const deadline = Date.now() + SECTION_BUDGET_MS;
    const withWebhooks = new LatencyRecorder();
    const withoutWebhooks = new LatencyRecorder();
    const create = async (namespace: string, recorder: LatencyRecorder | undefined): Promise<void> => {
      const body = sandboxPod(uniqueName('bench'), THREE_MOUNTS);
      const started = performance.now();
      const created = await core.createNamespacedPod({ namespace, body });
      const elapsed = performance.now() - started;
      recorder?.record(elapsed);
      const injected = (created.spec?.volumes ?? []).some((volume) => volume.name.startsWith('mountgate-'));
      if (injected !== (namespace === enabledNs)) throw new Error(`a Pod in ${namespace} was ${injected ? '' : 'not '}mutated`);
    };
    const pair = async (index: number, measured: boolean): Promise<void> => {
      // ABBA: even pairs start with the webhook side, odd pairs without.
      const sides: Array<[string, LatencyRecorder]> = [[enabledNs, withWebhooks], [excludedNs, withoutWebhooks]];
      if (index % 2 === 1) sides.reverse();
      for (const [namespace, recorder] of sides) await create(namespace, measured ? recorder : undefined);
    };

    for (let i = 0; i < WARMUP_PER_SIDE && Date.now() < deadline; i++) await pair(i, false);
    const calls = async (): Promise<{ mutate: number; validate: number }> => ({
      mutate: await mountgate.metric('mountgate_admission_requests_total', { endpoint: 'mutate' }),
      validate: await mountgate.metric('mountgate_admission_requests_total', { endpoint: 'validate' }),
    });
    const callsBefore = await calls();
    const histograms = async (): Promise<Record<'apiserverMutate' | 'apiserverValidate' | 'mountgateMutate' | 'mountgateValidate', Histogram>> => {
      const [api, own] = [await apiserverMetrics(env.cp.admin), await mountgateMetrics(mountgate.options.metricsPort)];
      const webhook = 'apiserver_admission_webhook_admission_duration_seconds';
      return {
        apiserverMutate: readHistogram(api, webhook, { name: env.mutateWebhook, type: 'admit' }),
        apiserverValidate: readHistogram(api, webhook, { name: env.validateWebhook, type: 'validating' }),
        mountgateMutate: readHistogram(own, 'mountgate_admission_duration_seconds', { endpoint: 'mutate' }),
        mountgateValidate: readHistogram(own, 'mountgate_admission_duration_seconds', { endpoint: 'validate' }),
      };
    };
    const histogramsBefore = await histograms();
    const interference = watchInterference([]);
    const started = performance.now();
    let done = 0;
    for (; done < config.apiserverPods && Date.now() < deadline; done++) {
      await pair(done, true);
      if ((done + 1) % 100 === 0) log(`  ${done + 1} pairs of Pods created`);
    }
    const seconds = (performance.now() - started) / 1000;
    const machineBusyPercent = interference().otherCpuPercent;
    const callsAfter = await calls();
    const histogramsAfter = await histograms();
    const perCallMs = (key: keyof typeof histogramsAfter): number => meanBetween(histogramsBefore[key], histogramsAfter[key]) * 1000;
    const withSummary = withWebhooks.summary();
    const withoutSummary = withoutWebhooks.summary();
    return {
      webhookSource: env.webhookSource,
      podsPerSide: done,
      warmupPerSide: WARMUP_PER_SIDE,
      withWebhooks: withSummary,
      withoutWebhooks: withoutSummary,
      p50AddedMs: withSummary.p50 - withoutSummary.p50,
      p50Ratio: withSummary.p50 / withoutSummary.p50,
      p99Ratio: withSummary.p99 / withoutSummary.p99,
      mountgateCalls: { mutate: callsAfter.mutate - callsBefore.mutate, validate: callsAfter.validate - callsBefore.validate },
      perCallMs: {
        apiserverMutate: perCallMs('apiserverMutate'),
        apiserverValidate: perCallMs('apiserverValidate'),
        mountgateMutate: perCallMs('mountgateMutate'),
        mountgateValidate: perCallMs('mountgateValidate'),
      },
      machineBusyPercent,
      seconds,
    };
  } finally {
    await tearDown();
  }
}
