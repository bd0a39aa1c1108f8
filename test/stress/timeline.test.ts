/** The latency summary the stress tests judge by: percentiles by nearest rank. */
import { expect } from 'chai';
import { summarize } from './support/timeline.js';

describe('stress support: latency percentiles by nearest rank', () => {
  const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => n - i);
  const rows: ReadonlyArray<[string, readonly number[], { p50: number; p95: number; p99: number; max: number }]> = [
    ['one probe is every percentile', [7], { p50: 7, p95: 7, p99: 7, max: 7 }],
    ['of 9, the p95 is the slowest', oneTo(9), { p50: 5, p95: 9, p99: 9, max: 9 }],
    ['of 20, the p95 is the 19th: one slow probe in 20 is the max alone', oneTo(20), { p50: 10, p95: 19, p99: 20, max: 20 }],
    ['of 100, the p95 is the 95th and the p99 the 99th', oneTo(100), { p50: 50, p95: 95, p99: 99, max: 100 }],
  ];
  for (const [name, latencies, expected] of rows) {
    it(name, () => {
      expect(summarize(latencies)).to.deep.equal({ count: latencies.length, ...expected });
    });
  }
});
