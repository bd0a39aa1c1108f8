/**
 * vegeta's results (`vegeta encode -to json`, one JSON object a line) turned
 * into a LoadResult, every answer checked as an admission answer.
 *
 * vegeta stamps a request when a worker starts it, and times it from there to
 * the end of the answer. That time has no coordinated omission from the server:
 * the pacer hands each tick to a free worker, starting a new one when all are
 * busy, and the wait for one of the pool's connections comes after the stamp.
 * What it leaves out is the generator's own lateness: the pacer sleeps between
 * ticks, and Go on Linux rounds a sleep under 1 ms up to about 1 ms (epoll_wait
 * takes milliseconds), so at 1,000 req/s requests start 0-1 ms after they were
 * due. That lag is the generator's, not the server's, so LoadResult.latency is
 * vegeta's own time; the lag and the time from the due moment are kept beside
 * it, so a generator that falls behind shows.
 *
 * The constant pacer makes tick n (0-based) due at began + (n + 1) / rate, and
 * the n-th request a worker starts gets seq n after at least n + 1 ticks, so it
 * cannot start before tick n was due. `began` is not in the results; the
 * earliest start less its offset is an upper bound of it, so the lag derived
 * from it is a lower bound of the real one.
 */
import { boolean, number, object, string, type InferType } from 'yup';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import type { LoadResult } from './jobs.js';

/** How one request ended: answered right, answered with another status or a wrong answer, or not answered. */
export type Outcome = 'ok' | 'non2xx' | 'mismatch' | 'timeout' | 'error';

const resultSchema = object({
  seq: number().strict().integer().min(0).required(),
  code: number().strict().integer().min(0).required(),
  /** RFC 3339 with nanoseconds (Go's time.Time). */
  timestamp: string().strict().required(),
  /** Nanoseconds (Go's time.Duration). */
  latency: number().strict().integer().min(0).required(),
  error: string().strict().defined(),
  /** Base64 of the answer; null when there was none. */
  body: string().strict().nullable().defined(),
});
export type VegetaResult = InferType<typeof resultSchema>;

const answerSchema = object({
  response: object({
    uid: string().strict().required(),
    allowed: boolean().strict().required(),
    patch: string().strict().optional(),
    patchType: string().strict().optional(),
  }).required(),
});

/** What every answer must say: allowed, for this uid, with a JSON patch (/mutate) or without (/validate). */
export interface ExpectedAnswer {
  readonly uid: string;
  readonly patch: boolean;
}

export function parseResultLine(line: string): VegetaResult {
  return resultSchema.validateSync(JSON.parse(line), { stripUnknown: true });
}

/** Go's RFC 3339 time as whole epoch seconds and nanoseconds; doubles cannot hold epoch nanoseconds exactly. */
export function parseTimestamp(text: string): { readonly seconds: number; readonly nanos: number } {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  const whole = match?.[1];
  const zone = match?.[3];
  if (whole === undefined || zone === undefined) throw new Error(`not an RFC 3339 time: ${text}`);
  const milliseconds = Date.parse(`${whole}${zone}`);
  if (!Number.isFinite(milliseconds)) throw new Error(`not an RFC 3339 time: ${text}`);
  return { seconds: milliseconds / 1000, nanos: Number((match?.[2] ?? '').padEnd(9, '0')) };
}

/** Whether a 2xx body is the admission answer the benchmark expects. */
export function answerIsRight(bodyBase64: string | null, expected: ExpectedAnswer): boolean {
  if (bodyBase64 === null) return false;
  let answer: InferType<typeof answerSchema>;
  try {
    answer = answerSchema.validateSync(JSON.parse(Buffer.from(bodyBase64, 'base64').toString('utf8')));
  } catch {
    return false;
  }
  const { uid, allowed, patch, patchType } = answer.response;
  if (!allowed || uid !== expected.uid) return false;
  return expected.patch ? patch !== undefined && patch !== '' && patchType === 'JSONPatch' : patch === undefined && patchType === undefined;
}

export function outcomeOf(result: VegetaResult, expected: ExpectedAnswer): Outcome {
  if (result.code === 0) return /timeout|deadline exceeded/i.test(result.error) ? 'timeout' : 'error';
  if (result.code < 200 || result.code > 299) return 'non2xx';
  if (result.error !== '') return 'error';
  return answerIsRight(result.body, expected) ? 'ok' : 'mismatch';
}

interface Kept {
  readonly seq: number;
  /** When the request started, ms after the reference second. */
  readonly startedMs: number;
  readonly latencyMs: number;
  readonly outcome: Outcome;
}

/** What every tally is told. */
interface CommonOptions {
  readonly expected: ExpectedAnswer;
  /** Results kept at most (bounds memory); the rest count as errors. */
  readonly capacity: number;
}

export interface TallyOptions extends CommonOptions {
  readonly rate: number;
  /** Requests (by seq) before this one open the connections and are not timed; their answers are still checked. */
  readonly firstMeasuredSeq: number;
}

export interface ClosedTallyOptions extends CommonOptions {
  /** Requests started within this many ms of the first are not timed (their answers are still checked). */
  readonly leadInMs: number;
}

/** The extra numbers a vegeta run gives beside LoadResult's (whose latency is vegeta's own, from the start). */
export interface VegetaExtras {
  /** From the moment each request was due to the end of its answer: the start lag added to vegeta's latency. */
  readonly fromDue: LatencySummary;
  /** How late requests started after they were due (lower bound, see above). */
  readonly startLag: LatencySummary;
}

/** The results as they come, each checked; at most `capacity` kept. */
class Results {
  readonly kept: Kept[] = [];
  dropped = 0;
  #referenceSecond: number | undefined;

  constructor(private readonly options: CommonOptions) {}

  add(result: VegetaResult): void {
    if (this.kept.length >= this.options.capacity) {
      this.dropped++;
      return;
    }
    const time = parseTimestamp(result.timestamp);
    this.#referenceSecond ??= time.seconds;
    this.kept.push({
      seq: result.seq,
      startedMs: (time.seconds - this.#referenceSecond) * 1000 + time.nanos / 1e6,
      latencyMs: result.latency / 1e6,
      outcome: outcomeOf(result, this.options.expected),
    });
  }

  /** Every outcome counted (the lead-in's too), and the measured ones timed from their start. */
  summarise(measured: (kept: Kept) => boolean, windowStart: number, clientCpuPercent: number, onTimed?: (kept: Kept) => void): LoadResult {
    const fromStart = new LatencyRecorder();
    const counts = { ok: 0, non2xx: 0, mismatch: 0, timeout: 0, error: this.dropped };
    let windowEnd = windowStart;
    let answered = 0;
    let answeredInAll = 0;
    let attackStart = Number.POSITIVE_INFINITY;
    let attackEnd = Number.NEGATIVE_INFINITY;
    for (const kept of this.kept) {
      counts[kept.outcome]++;
      attackStart = Math.min(attackStart, kept.startedMs);
      attackEnd = Math.max(attackEnd, kept.startedMs + kept.latencyMs);
      if (kept.outcome !== 'error' && kept.outcome !== 'timeout') answeredInAll++;
      if (!measured(kept)) continue;
      windowEnd = Math.max(windowEnd, kept.startedMs + kept.latencyMs);
      if (kept.outcome !== 'error' && kept.outcome !== 'timeout') answered++;
      if (kept.outcome !== 'ok') continue;
      fromStart.record(kept.latencyMs);
      onTimed?.(kept);
    }
    const latency = fromStart.summary();
    const seconds = Math.max(windowEnd - windowStart, 1) / 1000;
    return {
      requests: answered,
      seconds,
      requestsPerSecond: latency.count / seconds,
      latency,
      errors: counts.error,
      timeouts: counts.timeout,
      non2xx: counts.non2xx,
      mismatches: counts.mismatch,
      clientCpuPercent,
      wholeAttack: { requests: answeredInAll, seconds: this.kept.length === 0 ? 0 : Math.max(attackEnd - attackStart, 1) / 1000 },
    };
  }
}

/** A constant-rate (open-loop) attack: each request timed from its start, with its lag behind its due moment kept apart. */
export class VegetaTally {
  readonly #results: Results;

  constructor(private readonly options: TallyOptions) {
    this.#results = new Results(options);
  }

  add(result: VegetaResult): void {
    this.#results.add(result);
  }

  /** `clientCpuPercent`: vegeta's own CPU over the attack, % of one core. */
  result(clientCpuPercent: number): LoadResult & VegetaExtras {
    const intervalMs = 1000 / this.options.rate;
    const dueOffset = (seq: number): number => (seq + 1) * intervalMs;
    const kept = this.#results.kept;
    // With no results at all there is nothing to time; 0 keeps the sums finite.
    let began = kept.length === 0 ? 0 : Number.POSITIVE_INFINITY;
    for (const one of kept) began = Math.min(began, one.startedMs - dueOffset(one.seq));

    const fromDue = new LatencyRecorder();
    const startLag = new LatencyRecorder();
    const load = this.#results.summarise((one) => one.seq >= this.options.firstMeasuredSeq, began + dueOffset(this.options.firstMeasuredSeq), clientCpuPercent, (one) => {
      const lag = one.startedMs - (began + dueOffset(one.seq));
      fromDue.record(lag + one.latencyMs);
      startLag.record(lag);
    });
    return { ...load, fromDue: fromDue.summary(), startLag: startLag.summary() };
  }
}

/** An attack as fast as a fixed number of workers go (closed loop): each request timed from its start. */
export class VegetaClosedTally {
  readonly #results: Results;

  constructor(private readonly options: ClosedTallyOptions) {
    this.#results = new Results(options);
  }

  add(result: VegetaResult): void {
    this.#results.add(result);
  }

  result(clientCpuPercent: number): LoadResult {
    const kept = this.#results.kept;
    let first = kept.length === 0 ? 0 : Number.POSITIVE_INFINITY;
    for (const one of kept) first = Math.min(first, one.startedMs);
    const windowStart = first + this.options.leadInMs;
    return this.#results.summarise((one) => one.startedMs >= windowStart, windowStart, clientCpuPercent);
  }
}
