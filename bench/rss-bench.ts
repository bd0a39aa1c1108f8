/**
 * Section 4: a fresh mountgate answers many reviews (half /mutate, half
 * /validate, 10 keep-alive connections); then its resident memory is read, at
 * once and after a short rest. A leak per request would show here. The main
 * run is `serve` as the image runs it; two shorter runs show what the chart's
 * Pod Security preflight (which loads the Kubernetes client) and a smaller V8
 * young generation change.
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

export type RssVariant = 'image' | 'preflight' | 'small-young-generation';

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
  if (wanted('image')) record(await measureRss(workspace, load, 'image', '`serve` as the image runs it', config.rssRequests, {}));
  if (wanted('preflight')) {
    const kubeconfig = await unreachableKubeconfig(workspace);
    const title = 'with --pod-security-preflight (the chart turns it on): the Kubernetes client is loaded';
    record(await measureRss(workspace, load, 'preflight', title, variantRequests, { serveArgs: ['--pod-security-preflight', '--kubeconfig', kubeconfig] }));
  }
  if (wanted('small-young-generation')) {
    const title = 'with NODE_OPTIONS=--max-semi-space-size=4 added';
    record(await measureRss(workspace, load, 'small-young-generation', title, variantRequests, { nodeOptions: '--max-semi-space-size=4' }));
  }
  return { runs };
}
