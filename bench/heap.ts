/** Where a mountgate process's memory is, from its own /metrics (prom-client's default Node.js metrics). */
export interface HeapReport {
  /** V8 heap in use and reserved, MiB. */
  readonly heapUsedMiB: number;
  readonly heapTotalMiB: number;
  /** Memory of C++ objects bound to JS (Buffers, TLS), MiB. */
  readonly externalMiB: number;
}

const SERIES = {
  heapUsedMiB: 'nodejs_heap_size_used_bytes',
  heapTotalMiB: 'nodejs_heap_size_total_bytes',
  externalMiB: 'nodejs_external_memory_bytes',
} as const;

export async function heapReport(metricsPort: number): Promise<HeapReport> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const text = await response.text();
  const read = (name: string): number => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
    return match?.[1] === undefined ? Number.NaN : Number(match[1]) / 1024 / 1024;
  };
  return {
    heapUsedMiB: read(SERIES.heapUsedMiB),
    heapTotalMiB: read(SERIES.heapTotalMiB),
    externalMiB: read(SERIES.externalMiB),
  };
}
