/**
 * `node --import tsx bench/instructions.ts [REQUESTS] [TARGET...]`: how many machine instructions
 * the server executes per review, counted by valgrind's callgrind. Unlike CPU time on this shared
 * machine the count hardly moves between runs, so it is what a change is judged by; the wall-clock
 * tables stay for the side-by-side comparison.
 *
 * Each target runs in its own server under `valgrind --tool=callgrind --instr-atstart=no` (all its
 * threads: V8's GC and compiler helpers count too). After WARMUP reviews (so V8 has optimised the
 * hot path, as in a long-running server) instrumentation is turned on with callgrind_control,
 * REQUESTS reviews are answered over 10 keep-alive connections, and it is turned off again.
 * Targets: ceiling (bench/ceiling-server.ts on the 4.3 KB review), mutate, validate (the 4.3 KB
 * review), mutate-no-mf, validate-no-mf (the same review without managedFields). Default: all.
 * `--annotate` also prints callgrind_annotate's top functions for each.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkCeiling, prepareBodies, type Bodies } from './bodies.js';
import type { RequestSpec } from './load/jobs.js';
import { startCeiling, startLoadGenerator, startMountgate, type LoadGenerator, type ServerProcess } from './processes.js';
import { createWorkspace, type Workspace } from './workspace.js';

const execFileAsync = promisify(execFile);

const TARGETS = ['ceiling', 'mutate', 'validate', 'mutate-no-mf', 'validate-no-mf'] as const;
type TargetName = (typeof TARGETS)[number];

/**
 * V8 is still compiling well after 10,000 reviews (--trace-opt: some 100 optimisations in the 5,000
 * reviews after the first 10,000, a handful after 25,000), and its compiler threads count: after
 * 10,000, over a quarter of what was counted for the ceiling and for /mutate went with V8's warm-up.
 * After 40,000 no compiler function is above 0.5% of a count (BENCHMARKS.md, "Instructions after a
 * longer warm-up").
 */
const WARMUP = 40_000;
const CONNECTIONS = 10;
/** Under callgrind a review takes some 50x its normal time: generous bounds for each load. */
const READY_TIMEOUT_MS = 180_000;
const BUDGET_MS_PER_REQUEST = 50;

interface Options {
  readonly requests: number;
  readonly targets: readonly TargetName[];
  readonly annotate: boolean;
}

function readOptions(argv: readonly string[]): Options {
  const annotate = argv.includes('--annotate');
  const words = argv.filter((word) => word !== '--annotate');
  const first = words[0];
  const requests = first !== undefined && /^\d+$/.test(first) ? Number(first) : 2_000;
  if (requests < 1 || requests > 100_000) throw new Error('REQUESTS must be between 1 and 100000');
  const names = words.filter((word) => !/^\d+$/.test(word));
  for (const name of names) if (!TARGETS.some((target) => target === name)) throw new Error(`unknown target ${name} (known: ${TARGETS.join(', ')})`);
  return { requests, targets: names.length === 0 ? TARGETS : TARGETS.filter((target) => names.includes(target)), annotate };
}

function launcher(outFile: string): string[] {
  // V8 writes code at run time; valgrind must watch for it everywhere but in mapped files.
  return ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${outFile}`, `--log-file=${outFile}.log`];
}

async function instrumentation(pid: number, on: boolean): Promise<void> {
  await execFileAsync('callgrind_control', ['-i', on ? 'on' : 'off', String(pid)]);
}

/** "totals:" of a callgrind file: the instructions counted while instrumentation was on. */
async function countedInstructions(file: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  const line = /^totals:\s+(\d+)/m.exec(text);
  if (line?.[1] === undefined) throw new Error(`${file}: no totals`);
  return Number(line[1]);
}

interface Counted {
  readonly target: TargetName;
  readonly requests: number;
  readonly errors: number;
  readonly instructionsPerRequest: number;
}

/** Warms the server up, then counts REQUESTS reviews; stops the server so callgrind writes its file. */
async function count(target: TargetName, server: ServerProcess, request: RequestSpec, load: LoadGenerator, workspace: Workspace, options: Options, prefix: string): Promise<Counted> {
  const job = (amount: number) => ({ kind: 'closed' as const, target: { origin: `https://127.0.0.1:${server.port}`, ca: workspace.caCert }, requests: [request], connections: CONNECTIONS, amount });
  try {
    await load.run(job(WARMUP), WARMUP * BUDGET_MS_PER_REQUEST);
    await instrumentation(server.pid, true);
    const result = await load.run(job(options.requests), options.requests * BUDGET_MS_PER_REQUEST);
    await instrumentation(server.pid, false);
    await server.stop();
    const file = await latestFile(workspace.dir, prefix);
    if (options.annotate) {
      const annotated = await execFileAsync('callgrind_annotate', ['--inclusive=no', file], { maxBuffer: 64 * 1024 * 1024 });
      process.stdout.write(`${target}:\n${annotated.stdout.split('\n').slice(0, 60).join('\n')}\n`);
    }
    return { target, requests: result.requests, errors: result.errors + result.timeouts + result.non2xx + result.mismatches, instructionsPerRequest: (await countedInstructions(file)) / result.requests };
  } finally {
    await server.stop();
  }
}

async function latestFile(dir: string, prefix: string): Promise<string> {
  const names = (await readdir(dir)).filter((name) => name.startsWith(prefix) && !name.endsWith(".log")).sort();
  const last = names.at(-1);
  if (last === undefined) throw new Error(`no callgrind output ${prefix}* in ${dir}`);
  return path.join(dir, last);
}

function requestOf(target: TargetName, bodies: Bodies, small: Bodies): RequestSpec {
  if (target === 'ceiling' || target === 'mutate') return bodies.mutate;
  if (target === 'validate') return bodies.validate;
  return target === 'mutate-no-mf' ? small.mutate : small.validate;
}

const options = readOptions(process.argv.slice(2));
const workspace = await createWorkspace();
const load = startLoadGenerator();
try {
  // Bodies and the ceiling's patch come from an ordinary mountgate, as in the HTTP benchmark.
  const plain = await startMountgate(workspace, 'mountgate-bodies');
  let bodies: Bodies;
  let small: Bodies;
  try {
    bodies = await prepareBodies(plain.port, workspace.caCert);
    small = await prepareBodies(plain.port, workspace.caCert, 'no-managed-fields');
  } finally {
    await plain.stop();
  }
  const patchFile = path.join(workspace.dir, 'patch.b64');
  await writeFile(patchFile, bodies.patchBase64);
  process.stdout.write(`bodies: ${bodies.mutateBytes} / ${bodies.validateBytes} B; without managedFields ${small.mutateBytes} / ${small.validateBytes} B\n`);
  for (const target of options.targets) {
    const prefix = `callgrind.${target}.`;
    const outFile = path.join(workspace.dir, `${prefix}%p`);
    const server =
      target === 'ceiling'
        ? await startCeiling({ certPath: workspace.certPath, keyPath: workspace.keyPath, patchFile, pinned: true, launcher: launcher(outFile), readyTimeoutMs: READY_TIMEOUT_MS })
        : await startMountgate(workspace, `mountgate-${target}`, { launcher: launcher(outFile), readyTimeoutMs: READY_TIMEOUT_MS });
    if (target === 'ceiling') await checkCeiling(server.port, workspace.caCert, bodies).catch(async (error: unknown) => {
      await server.stop();
      throw error;
    });
    const counted = await count(target, server, requestOf(target, bodies, small), load, workspace, options, prefix);
    process.stdout.write(`${target}: ${Math.round(counted.instructionsPerRequest).toLocaleString('en-US')} instructions per review (${counted.requests} reviews, ${counted.errors} errors)\n`);
  }
} finally {
  await load.stop();
  await workspace.remove();
}
