/**
 * How long and how hard each part of the benchmark runs. BENCH_QUICK=1 gives a
 * smoke run: the same code paths, numbers too short to quote.
 * BENCH_ONLY=http,core,rss,apiserver,kyverno picks sections (default: all of them);
 * BENCH_SCENARIOS=c1,c10,... picks HTTP loads, BENCH_RSS_VARIANTS=image,... RSS runs; BENCH_RUN_SECONDS and
 * BENCH_RSS_REQUESTS override those two settings (bench/steps.ts uses them).
 */
export const SECTIONS = ['http', 'core', 'rss', 'apiserver', 'kyverno'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchConfig {
  readonly quick: boolean;
  readonly sections: ReadonlySet<Section>;
  /** Seconds per closed-loop, fixed-rate and reconnect run. */
  readonly runSeconds: number;
  /** Seconds of load before the measured runs, per server, so the JIT has settled. */
  readonly warmupSeconds: number;
  /** Requests sent to a fresh mountgate before its RSS is read. */
  readonly rssRequests: number;
  /** Pod CREATEs per side (with / without the webhooks) through the API server, in the API-server and Kyverno sections. */
  readonly apiserverPods: number;
  /** Wall-clock budget per core-benchmark case, in milliseconds. */
  readonly coreCaseMs: number;
  /** HTTP loads to run, by name (see http-bench.ts SCENARIOS); undefined for all. */
  readonly scenarios: ReadonlySet<string> | undefined;
  /** RSS runs to make, by variant (see rss-bench.ts); undefined for all. */
  readonly rssVariants: ReadonlySet<string> | undefined;
}

const FULL_RUN_SECONDS = 6;
const FULL_RSS_REQUESTS = 100_000;

export function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const quick = env.BENCH_QUICK === '1';
  return {
    quick,
    sections: readSections(env.BENCH_ONLY),
    runSeconds: positive(env.BENCH_RUN_SECONDS, 'BENCH_RUN_SECONDS') ?? (quick ? 2 : FULL_RUN_SECONDS),
    warmupSeconds: quick ? 1 : 4,
    rssRequests: positive(env.BENCH_RSS_REQUESTS, 'BENCH_RSS_REQUESTS') ?? (quick ? 10_000 : FULL_RSS_REQUESTS),
    apiserverPods: quick ? 30 : 300,
    coreCaseMs: quick ? 200 : 1_500,
    scenarios: nameSet(env.BENCH_SCENARIOS),
    rssVariants: nameSet(env.BENCH_RSS_VARIANTS),
  };
}

/** The full run's settings: only such a run writes the committed results and table (unless BENCH_WRITE=1). */
export function isFullRun(config: BenchConfig): boolean {
  return (
    !config.quick &&
    config.sections.size === SECTIONS.length &&
    config.scenarios === undefined &&
    config.rssVariants === undefined &&
    config.runSeconds === FULL_RUN_SECONDS &&
    config.rssRequests === FULL_RSS_REQUESTS
  );
}

function nameSet(value: string | undefined): ReadonlySet<string> | undefined {
  return value === undefined || value.trim() === '' ? undefined : new Set(value.split(',').map((name) => name.trim()));
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`${name} must be a positive number, not ${value}`);
  return number;
}

function readSections(value: string | undefined): ReadonlySet<Section> {
  if (value === undefined || value.trim() === '') return new Set(SECTIONS);
  const wanted = value.split(',').map((part) => part.trim());
  const known = new Set<string>(SECTIONS);
  const unknown = wanted.filter((part) => !known.has(part));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown section ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
  return new Set(SECTIONS.filter((section) => wanted.includes(section)));
}

/** The two cores of the machine: the server under test on one, the load generator on the other. */
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';
