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
import type { Outcome } from './one-request.js';

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

export interface TallyOptions {
  readonly rate: number;
  /** Requests (by seq) before this one open the connections and are not timed; their answers are still checked. */
  readonly firstMeasuredSeq: number;
  readonly expected: ExpectedAnswer;
  /** Results kept at most (bounds memory): rate times duration, with room. */
  readonly capacity: number;
}

/** The extra numbers a vegeta run gives beside LoadResult's (whose latency is vegeta's own, from the start). */
export interface VegetaExtras {
  /** From the moment each request was due to the end of its answer: the start lag added to vegeta's latency. */
  readonly fromDue: LatencySummary;
  /** How late requests started after they were due (lower bound, see above). */
  readonly startLag: LatencySummary;
}

export class VegetaTally {
  readonly #kept: Kept[] = [];
  #referenceSecond: number | undefined;
  #dropped = 0;

  constructor(private readonly options: TallyOptions) {}

  add(result: VegetaResult): void {
    if (this.#kept.length >= this.options.capacity) {
      this.#dropped++;
      return;
    }
    const time = parseTimestamp(result.timestamp);
    this.#referenceSecond ??= time.seconds;
    this.#kept.push({
      seq: result.seq,
      startedMs: (time.seconds - this.#referenceSecond) * 1000 + time.nanos / 1e6,
      latencyMs: result.latency / 1e6,
      outcome: outcomeOf(result, this.options.expected),
    });
  }

  /** `clientCpuPercent`: vegeta's own CPU over the attack, % of one core. */
  result(clientCpuPercent: number): LoadResult & VegetaExtras {
    const intervalMs = 1000 / this.options.rate;
    const dueOffset = (seq: number): number => (seq + 1) * intervalMs;
    // With no results at all there is nothing to time; 0 keeps the sums finite.
    let began = this.#kept.length === 0 ? 0 : Number.POSITIVE_INFINITY;
    for (const kept of this.#kept) began = Math.min(began, kept.startedMs - dueOffset(kept.seq));

    const fromDue = new LatencyRecorder();
    const fromStart = new LatencyRecorder();
    const startLag = new LatencyRecorder();
    const counts = { ok: 0, non2xx: 0, mismatch: 0, timeout: 0, error: this.#dropped };
    const windowStart = began + dueOffset(this.options.firstMeasuredSeq);
    let windowEnd = windowStart;
    for (const kept of this.#kept) {
      counts[kept.outcome]++;
      if (kept.seq < this.options.firstMeasuredSeq) continue;
      windowEnd = Math.max(windowEnd, kept.startedMs + kept.latencyMs);
      if (kept.outcome !== 'ok') continue;
      const lag = kept.startedMs - (began + dueOffset(kept.seq));
      fromDue.record(lag + kept.latencyMs);
      fromStart.record(kept.latencyMs);
      startLag.record(lag);
    }
    const latency = fromStart.summary();
    const seconds = Math.max(windowEnd - windowStart, 1) / 1000;
    return {
      requests: this.#kept.filter((kept) => kept.seq >= this.options.firstMeasuredSeq && kept.outcome !== 'error' && kept.outcome !== 'timeout').length,
      seconds,
      requestsPerSecond: latency.count / seconds,
      latency,
      errors: counts.error,
      timeouts: counts.timeout,
      non2xx: counts.non2xx,
      mismatches: counts.mismatch,
      clientCpuPercent,
      fromDue: fromDue.summary(),
      startLag: startLag.summary(),
    };
  }
}
