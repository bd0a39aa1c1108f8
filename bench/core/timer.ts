/**
 * Times a synchronous function: calibrate a batch size of about a millisecond,
 * warm up (so the JIT has optimised the code), then time many batches. The
 * median batch is the cost without GC pauses; the mean includes them.
 */
export interface Timing {
  /** Median over batches, nanoseconds per call. */
  readonly medianNs: number;
  /** Total time over total calls, GC pauses included. */
  readonly meanNs: number;
  readonly p90Ns: number;
  readonly calls: number;
  readonly batches: number;
}

const CALIBRATION_MS = 50;
const TARGET_BATCH_NS = 1e6;
const WARMUP_SHARE = 0.25;
const MAX_BATCHES = 200_000;

/** Keeps results observable so the optimiser cannot drop the calls. */
export let sink = 0;
function consume(value: unknown): void {
  if (value === undefined) sink++;
}

export function time(fn: () => unknown, budgetMs: number): Timing {
  let calibrationCalls = 0;
  const calibrationStart = process.hrtime.bigint();
  const calibrationEnd = calibrationStart + BigInt(CALIBRATION_MS * 1e6);
  while (process.hrtime.bigint() < calibrationEnd || calibrationCalls < 10) {
    consume(fn());
    calibrationCalls++;
  }
  const perCall = Number(process.hrtime.bigint() - calibrationStart) / calibrationCalls;
  const batchSize = Math.max(1, Math.round(TARGET_BATCH_NS / perCall));

  const runBatch = (): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batchSize; i++) consume(fn());
    return Number(process.hrtime.bigint() - start);
  };

  const warmupEnd = performance.now() + budgetMs * WARMUP_SHARE;
  while (performance.now() < warmupEnd) runBatch();

  const perBatch: number[] = [];
  let totalNs = 0;
  const end = performance.now() + budgetMs * (1 - WARMUP_SHARE);
  while ((performance.now() < end || perBatch.length < 5) && perBatch.length < MAX_BATCHES) {
    const ns = runBatch();
    totalNs += ns;
    perBatch.push(ns / batchSize);
  }
  perBatch.sort((a, b) => a - b);
  const at = (quantile: number): number => perBatch[Math.min(perBatch.length - 1, Math.floor(quantile * perBatch.length))] ?? 0;
  return { medianNs: at(0.5), meanNs: totalNs / (perBatch.length * batchSize), p90Ns: at(0.9), calls: perBatch.length * batchSize, batches: perBatch.length };
}
