/**
 * Section 5: Pod CREATE latency through a real kube-apiserver, with and without
 * mountgate in the path. The e2e environment (test/e2e/env.ts) brings up etcd,
 * the API server, `mountgate serve` and the webhook registrations; its two
 * namespaces give the comparison (the webhooks select one and not the other),
 * and a third side has a do-nothing webhook pair (apiserver-floor.ts): the part
 * of the difference that any two webhooks would cost. Creates take turns
 * between the sides in rotating order, so drift hits every side alike.
 */
import { sleep } from '../test/e2e/controlplane.js';
import { setUp, sandboxPod, uniqueName } from '../test/e2e/env.js';
import type { BenchConfig } from './config.js';
import { MARK_LABEL, startFloor } from './apiserver-floor.js';
import { apiserverMetrics, meanBetween, mountgateMetrics, readHistogram, type Histogram } from './apiserver-metrics.js';
import { directCalls, type DirectCalls } from './apiserver-direct.js';
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
  /** With the do-nothing webhook pair instead of mountgate's. */
  readonly withFloorWebhooks: LatencySummary;
  readonly p50AddedMs: number;
  /** What the do-nothing pair adds at p50: the API server's own price of two webhook calls. */
  readonly p50AddedByFloorMs: number;
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
  /** mountgate called directly afterwards, one review at a time (apiserver-direct.ts). */
  readonly direct?: DirectCalls;
  /** CPU of the whole machine during the measured creates (API server, etcd, mountgate, client and anything else), % of one core. */
  readonly machineBusyPercent: number;
  readonly seconds: number;
}

const WARMUP_PER_SIDE = 20;
const SECTION_BUDGET_MS = 10 * 60_000;
const FLOOR_READY_MS = 60_000;

type Histograms = Record<'apiserverMutate' | 'apiserverValidate' | 'mountgateMutate' | 'mountgateValidate', Histogram>;

export async function runApiserverSection(config: BenchConfig, log: (line: string) => void): Promise<ApiserverSection> {
  log('starting etcd, kube-apiserver and mountgate (test/e2e/env.ts)');
  const { env, tearDown } = await setUp();
  try {
    const { core, enabledNs, excludedNs, mountgate } = env;
    const floor = await startFloor(env);
    try {
      const deadline = Date.now() + SECTION_BUDGET_MS;
      const podWith = () => sandboxPod(uniqueName('bench'), THREE_MOUNTS);

      // The API server picks up new webhook configurations within a second or so.
      const floorReadyBy = Date.now() + FLOOR_READY_MS;
      for (let attempt = 0; ; attempt++) {
        const probe = await core.createNamespacedPod({ namespace: floor.namespace, body: podWith(), dryRun: 'All' });
        if (probe.metadata?.labels?.[MARK_LABEL] === 'yes') break;
        if (Date.now() > floorReadyBy || attempt > 600) throw new Error('the floor webhooks did not take effect within 60 s');
        await sleep(100);
      }

      const sides = [
        { namespace: enabledNs, recorder: new LatencyRecorder(), check: (injected: boolean) => injected },
        { namespace: excludedNs, recorder: new LatencyRecorder(), check: (injected: boolean) => !injected },
        { namespace: floor.namespace, recorder: new LatencyRecorder(), check: (injected: boolean) => !injected },
      ];
      const round = async (index: number, measured: boolean): Promise<void> => {
        for (let k = 0; k < sides.length; k++) {
          const side = sides[(index + k) % sides.length];
          if (side === undefined) continue;
          const started = performance.now();
          const created = await core.createNamespacedPod({ namespace: side.namespace, body: podWith() });
          const elapsed = performance.now() - started;
          if (measured) side.recorder.record(elapsed);
          const injected = (created.spec?.volumes ?? []).some((volume) => volume.name.startsWith('mountgate-'));
          if (!side.check(injected)) throw new Error(`a Pod in ${side.namespace} was ${injected ? '' : 'not '}mutated by mountgate`);
        }
      };

      for (let i = 0; i < WARMUP_PER_SIDE && Date.now() < deadline; i++) await round(i, false);
      const calls = async (): Promise<{ mutate: number; validate: number }> => ({
        mutate: await mountgate.metric('mountgate_admission_requests_total', { endpoint: 'mutate' }),
        validate: await mountgate.metric('mountgate_admission_requests_total', { endpoint: 'validate' }),
      });
      const histograms = async (): Promise<Histograms> => {
        const [api, own] = [await apiserverMetrics(env.cp.admin), await mountgateMetrics(mountgate.options.metricsPort)];
        const webhook = 'apiserver_admission_webhook_admission_duration_seconds';
        return {
          apiserverMutate: readHistogram(api, webhook, { name: env.mutateWebhook, type: 'admit' }),
          apiserverValidate: readHistogram(api, webhook, { name: env.validateWebhook, type: 'validating' }),
          mountgateMutate: readHistogram(own, 'mountgate_admission_duration_seconds', { endpoint: 'mutate' }),
          mountgateValidate: readHistogram(own, 'mountgate_admission_duration_seconds', { endpoint: 'validate' }),
        };
      };
      const callsBefore = await calls();
      const histogramsBefore = await histograms();
      const interference = watchInterference([]);
      const started = performance.now();
      let done = 0;
      for (; done < config.apiserverPods && Date.now() < deadline; done++) {
        await round(done, true);
        if ((done + 1) % 100 === 0) log(`  ${done + 1} rounds of Pods created`);
      }
      const seconds = (performance.now() - started) / 1000;
      const machineBusyPercent = interference().otherCpuPercent;
      const callsAfter = await calls();
      const histogramsAfter = await histograms();
      const perCallMs = (key: keyof Histograms): number => meanBetween(histogramsBefore[key], histogramsAfter[key]) * 1000;
      log('  the same mountgate called directly, one review at a time');
      // An extra view of the same process: a failure here is reported, not fatal to the section.
      const direct = await directCalls({ url: mountgate.url, ca: env.tls.caPem.toString('utf8'), metricsPort: mountgate.options.metricsPort }, podWith(), enabledNs, done).catch(
        (error: unknown) => {
          log(`  direct calls failed: ${error instanceof Error ? error.message : String(error)}`);
          return undefined;
        },
      );
      const [withSummary, withoutSummary, floorSummary] = sides.map((side) => side.recorder.summary());
      if (withSummary === undefined || withoutSummary === undefined || floorSummary === undefined) throw new Error('a side is missing');
      return {
        webhookSource: env.webhookSource,
        podsPerSide: done,
        warmupPerSide: WARMUP_PER_SIDE,
        withWebhooks: withSummary,
        withoutWebhooks: withoutSummary,
        withFloorWebhooks: floorSummary,
        p50AddedMs: withSummary.p50 - withoutSummary.p50,
        p50AddedByFloorMs: floorSummary.p50 - withoutSummary.p50,
        p50Ratio: withSummary.p50 / withoutSummary.p50,
        p99Ratio: withSummary.p99 / withoutSummary.p99,
        mountgateCalls: { mutate: callsAfter.mutate - callsBefore.mutate, validate: callsAfter.validate - callsBefore.validate },
        perCallMs: {
          apiserverMutate: perCallMs('apiserverMutate'),
          apiserverValidate: perCallMs('apiserverValidate'),
          mountgateMutate: perCallMs('mountgateMutate'),
          mountgateValidate: perCallMs('mountgateValidate'),
        },
        ...(direct === undefined ? {} : { direct }),
        machineBusyPercent,
        seconds,
      };
    } finally {
      await floor.stop();
    }
  } finally {
    await tearDown();
  }
}
