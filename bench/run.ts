/**
 * `npm run bench`: builds mountgate, then measures, in order, the HTTP path
 * against the ceiling (sections 1-2), the decision core (3), memory after many
 * requests (4), Pod CREATEs through a real API server (5) and the same
 * against Kyverno (6, when bench/tools/install-kyverno.sh has cached it);
 * writes bench/results.json and the table in BENCHMARKS.md.
 *
 * BENCH_QUICK=1 for a smoke run; BENCH_ONLY=http,core,rss,apiserver,kyverno for some
 * sections (more settings in config.ts). Those runs write to a temporary folder
 * (or BENCH_OUT) and leave the committed results alone, unless BENCH_WRITE=1.
 * BENCH_WAIT_QUIET=SECONDS waits (at most that long) for other jobs to stop
 * before each section.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runApiserverSection, type ApiserverSection } from './apiserver-bench.js';
import { isFullRun, readConfig } from './config.js';
import { runCoreSection, type CoreResults } from './core-bench.js';
import { runHttpSection, type HttpSection } from './http-bench.js';
import { runKyvernoSection, type KyvernoSection, type KyvernoSkipped } from './kyverno-bench.js';
import { machineState, waitForQuiet, watchInterference } from './machine.js';
import { serverNode, serverNodeVersion, startLoadGenerator } from './processes.js';
import { BENCHMARKS_MD, checkTargets, RESULTS_JSON, writeResults, type Results } from './report.js';
import { runRssSection, type RssSection } from './rss-bench.js';
import { createWorkspace, REPO_ROOT } from './workspace.js';

const execFileAsync = promisify(execFile);
const BUILD_TIMEOUT_MS = 5 * 60_000;
/** Above this much CPU used by others (% of one core) the machine is too busy for numbers worth quoting. */
const BUSY_PERCENT = 10;
const START_SAMPLE_MS = 2_000;

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

async function main(): Promise<void> {
  const config = readConfig(process.env);
  // Fails now, not after the build, when the image's Node.js is missing.
  const nodeVersion = serverNodeVersion();
  log(`mountgate, the ceiling and the core run under Node.js ${nodeVersion} (${serverNode()}) with the image's flags`);
  const waitSeconds = Number(process.env.BENCH_WAIT_QUIET ?? '0');
  const quietBeforeSection = async (): Promise<void> => {
    if (waitSeconds > 0 && !(await waitForQuiet(waitSeconds, log))) log(`the machine did not get quiet within ${waitSeconds} s; measuring anyway`);
  };
  await quietBeforeSection();
  const before = machineState();
  const sample = watchInterference([]);
  await new Promise((resolve) => setTimeout(resolve, START_SAMPLE_MS));
  const startOtherCpuPercent = sample().otherCpuPercent;
  if (startOtherCpuPercent > BUSY_PERCENT) {
    log(`WARNING: other processes use ${startOtherCpuPercent.toFixed(0)}% CPU: these numbers will not be worth quoting (BENCH_WAIT_QUIET=600 waits)`);
  }
  log('building mountgate (npm run build)');
  await execFileAsync('npm', ['run', 'build'], { cwd: REPO_ROOT, timeout: BUILD_TIMEOUT_MS });

  let http: HttpSection | undefined;
  let core: CoreResults | undefined;
  let rss: RssSection | undefined;
  let apiserver: ApiserverSection | undefined;
  let kyverno: KyvernoSection | KyvernoSkipped | undefined;

  const workspace = await createWorkspace();
  try {
    if (config.sections.has('http') || config.sections.has('rss')) {
      const load = startLoadGenerator();
      try {
        if (config.sections.has('http')) {
          await quietBeforeSection();
          log(`HTTP: ceiling, /mutate, /validate; ${config.runSeconds} s per run`);
          http = await runHttpSection(config, workspace, load, log);
        }
        if (config.sections.has('rss')) {
          await quietBeforeSection();
          log(`RSS after ${config.rssRequests} requests, and two variants`);
          rss = await runRssSection(config, workspace, load, log);
        }
      } finally {
        await load.stop();
      }
    }
    if (config.sections.has('core')) {
      await quietBeforeSection();
      log('core: decide() alone');
      core = await runCoreSection(config);
    }
  } finally {
    await workspace.remove();
  }
  if (config.sections.has('apiserver')) {
    await quietBeforeSection();
    log(`API server: ${config.apiserverPods} Pod CREATEs per side`);
    apiserver = await runApiserverSection(config, log);
  }
  if (config.sections.has('kyverno')) {
    await quietBeforeSection();
    log(`Kyverno: ${config.apiserverPods} Pod CREATEs per side, then the hostile-path corpus`);
    // A peer that fails to start must not cost the run its other sections: the report says why.
    kyverno = await runKyvernoSection(config, log).catch((error: unknown): KyvernoSkipped => ({
      skipped: `the section failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    }));
    if ('skipped' in kyverno) log(`Kyverno not measured: ${kyverno.skipped}`);
  }

  const sections = { http, core, rss, apiserver, kyverno };
  const results: Results = {
    command: `${config.quick ? 'BENCH_QUICK=1 ' : ''}npm run bench`,
    quick: config.quick,
    node: nodeVersion,
    startOtherCpuPercent,
    before,
    after: machineState(),
    ...sections,
    targets: checkTargets(sections),
  };

  const official = isFullRun(config) || process.env.BENCH_WRITE === '1';
  const requestedDir = process.env.BENCH_OUT;
  const outDir = requestedDir ?? (official ? undefined : await mkdtemp(path.join(tmpdir(), 'mountgate-bench-results-')));
  const json = outDir === undefined ? RESULTS_JSON : path.join(outDir, 'results.json');
  const markdown = outDir === undefined ? BENCHMARKS_MD : path.join(outDir, 'BENCHMARKS.md');
  await mkdir(path.dirname(json), { recursive: true });
  await writeResults(results, json, markdown);
  for (const check of results.targets) log(`${check.met ? 'met   ' : 'MISSED'} ${check.target}: ${check.measured}`);
  log(`wrote ${json} and ${markdown}`);
}

await main();
