/**
 * Section 4: a fresh mountgate answers `rssRequests` reviews (half /mutate,
 * half /validate, 10 keep-alive connections); then its resident memory is read,
 * at once and after a short rest. A leak per request would show here.
 */
import type { BenchConfig } from './config.js';
import { prepareBodies } from './bodies.js';
import { heapReport, type HeapReport } from './heap.js';
import type { LoadResult } from './load/jobs.js';
import { watchInterference } from './machine.js';
import { startMountgate, type LoadGenerator } from './processes.js';
import { memory } from './proc-stats.js';
import type { Workspace } from './workspace.js';

export interface RssSection {
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

const REST_MS = 3_000;
/** Generous: at 1,000 req/s, 100k requests take 100 s. */
const BUDGET_MS_PER_REQUEST = 1;

export async function runRssSection(config: BenchConfig, workspace: Workspace, load: LoadGenerator): Promise<RssSection> {
  const server = await startMountgate(workspace, 'mountgate-rss');
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
        amount: config.rssRequests,
      },
      config.rssRequests * BUDGET_MS_PER_REQUEST,
    );
    const { otherCpuPercent } = interference();
    const after = memory(server.pid);
    await new Promise((resolve) => setTimeout(resolve, REST_MS));
    const rested = memory(server.pid);
    const heap = server.metricsPort === undefined ? undefined : await heapReport(server.metricsPort);
    return {
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
