/**
 * How long and how hard each part of the benchmark runs. BENCH_QUICK=1 gives a
 * smoke run of well under a minute: the same code paths, numbers too short to quote.
 * BENCH_ONLY=http,core,rss,apiserver picks sections (default: all of them).
 */
export const SECTIONS = ['http', 'core', 'rss', 'apiserver'] as const;
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
  /** Pod CREATEs per side (with / without the webhooks) through the API server. */
  readonly apiserverPods: number;
  /** Wall-clock budget per core-benchmark case, in milliseconds. */
  readonly coreCaseMs: number;
}

export function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const quick = env.BENCH_QUICK === '1';
  return {
    quick,
    sections: readSections(env.BENCH_ONLY),
    runSeconds: quick ? 2 : 8,
    warmupSeconds: quick ? 1 : 4,
    rssRequests: quick ? 10_000 : 100_000,
    apiserverPods: quick ? 30 : 300,
    coreCaseMs: quick ? 200 : 1_500,
  };
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
