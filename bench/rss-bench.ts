/**
 * Section 4: a fresh mountgate answers many reviews (half /mutate, half
 * /validate, 10 keep-alive connections); then its resident memory is read, at
 * once and after a short rest. A leak per request would show here. The main
 * run is `serve` with the chart's default settings: the image's environment and
 * the Pod Security preflight (which loads the kubeconfig code and watches
 * namespaces); two shorter runs show what the preflight and V8's default young
 * generation size cost.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchConfig } from './config.js';
import { prepareBodies } from './bodies.js';
import { heapReport, type HeapReport } from './heap.js';
import type { LoadResult } from './load/jobs.js';
import { watchInterference } from './machine.js';
import { startMountgate, type LoadGenerator, type MountgateOptions } from './processes.js';
import { memory } from './proc-stats.js';
import type { Workspace } from './workspace.js';

export type RssVariant = 'chart' | 'no-preflight' | 'v8-default-young-generation';

export interface RssRun {
  readonly variant: RssVariant;
  readonly title: string;
  /** The V8 heap after the requests and the rest, from mountgate's /metrics. */
  readonly heap: HeapReport | undefined;
  readonly requests: number;
  readonly rssAtStartMiB: number;
  readonly rssAfterMiB: number;
  readonly rssAfterRestMiB: number;
  readonly peakRssMiB: number;
  readonly load: LoadResult;
  readonly otherCpuPercent: number;
}

export interface RssSection {
  readonly runs: readonly RssRun[];
}

const REST_MS = 3_000;
/** Generous: at 1,000 req/s, 100k requests take 100 s. */
const BUDGET_MS_PER_REQUEST = 1;
/** The variants only need to show a difference in footprint. */
const VARIANT_REQUESTS = 30_000;
const DEFAULT_SEMI_SPACE = '--max-semi-space-size=16';

/** A kubeconfig for a server that is not there: the preflight loads its client, fails to list, retries. */
async function unreachableKubeconfig(workspace: Workspace): Promise<string> {
  const file = path.join(workspace.dir, 'kubeconfig-unreachable');
  await writeFile(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: none, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
      'users: [{name: none, user: {token: none}}]',
      'contexts: [{name: none, context: {cluster: none, user: none}}]',
      'current-context: none',
      '',
    ].join('\n'),
  );
  return file;
}

async function measureRss(
  workspace: Workspace,
  load: LoadGenerator,
  variant: RssVariant,
  title: string,
  requests: number,
  options: MountgateOptions,
): Promise<RssRun> {
  const server = await startMountgate(workspace, `mountgate-rss-${variant}`, options);
  try {
    const bodies = await prepareBodies(server.port, workspace.caCert);
    const rssAtStartMiB = memory(server.pid).rssMiB;
    const interference = watchInterference([server.pid, load.pid]);
    const result = await load.run(
      {
        kind: 'closed',
        target: { origin: `https://127.0.0.1:${server.port}`, ca: workspace.caCert },
        requests: [bodies.mutate, bodies.validate],
        connections: 10,
        amount: requests,
      },
      requests * BUDGET_MS_PER_REQUEST,
    );
    const { otherCpuPercent } = interference();
    const after = memory(server.pid);
    await new Promise((resolve) => setTimeout(resolve, REST_MS));
    const rested = memory(server.pid);
    const heap = server.metricsPort === undefined ? undefined : await heapReport(server.metricsPort);
    return {
      variant,
      title,
      heap,
      requests: result.requests,
      rssAtStartMiB,
      rssAfterMiB: after.rssMiB,
      rssAfterRestMiB: rested.rssMiB,
      peakRssMiB: rested.peakRssMiB,
      load: result,
      otherCpuPercent,
    };
  } finally {
    await server.stop();
  }
}

export async function runRssSection(config: BenchConfig, workspace: Workspace, load: LoadGenerator, log: (line: string) => void): Promise<RssSection> {
  const variantRequests = Math.min(VARIANT_REQUESTS, config.rssRequests);
  const runs: RssRun[] = [];
  const wanted = (variant: RssVariant): boolean => config.rssVariants?.has(variant) ?? true;
  const record = (run: RssRun): void => {
    log(`  ${run.variant}: ${run.requests} requests, RSS ${run.rssAtStartMiB.toFixed(1)} -> ${run.rssAfterMiB.toFixed(1)} MiB (peak ${run.peakRssMiB.toFixed(1)})`);
    runs.push(run);
  };
  const kubeconfig = await unreachableKubeconfig(workspace);
  const preflight = ['--pod-security-preflight', '--kubeconfig', kubeconfig];
  if (wanted('chart')) {
    const title = '`serve` with the chart\'s defaults: the image\'s settings, --pod-security-preflight';
    record(await measureRss(workspace, load, 'chart', title, config.rssRequests, { serveArgs: preflight }));
  }
  if (wanted('no-preflight')) record(await measureRss(workspace, load, 'no-preflight', 'the same without --pod-security-preflight', variantRequests, {}));
  if (wanted('v8-default-young-generation')) {
    // The last of a repeated V8 flag wins; 16 MiB is V8's own default on 64-bit.
    const title = `with the chart's defaults and V8's default young generation (NODE_OPTIONS ${DEFAULT_SEMI_SPACE} added)`;
    record(await measureRss(workspace, load, 'v8-default-young-generation', title, variantRequests, { serveArgs: preflight, nodeOptions: DEFAULT_SEMI_SPACE }));
  }
  return { runs };
}
