import { expect } from 'chai';
import type { HttpRun, HttpSection, TargetName } from '../../bench/http-bench.js';
import { checkTargets } from '../../bench/report.js';

/** A fixed-rate run with only what the p99 check reads set to something meaningful. */
function rate1000(target: TargetName, p99: number): HttpRun {
  return {
    scenario: 'rate1000',
    target,
    requests: 10_000,
    seconds: 10,
    requestsPerSecond: 1_000,
    latency: { count: 10_000, mean: p99 / 3, p50: p99 / 4, p90: p99 / 2, p99, max: p99 * 2 },
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    mismatches: 0,
    clientCpuPercent: 10,
    serverCpuPercent: 20,
    serverCpuMicrosPerRequest: 200,
    serverPeakRssMiB: 90,
    otherCpuPercent: 1,
    attempts: 1,
  };
}

function p99Check(runs: readonly HttpRun[], target: 'mutate' | 'validate'): { measured: string; met: boolean; target: string } | undefined {
  const http: HttpSection = { requestBytes: { mutate: 4300, validate: 4300 }, peakResetWorks: true, runs };
  return checkTargets({ http }).find((check) => check.target.startsWith('p99') && check.target.endsWith(`(/${target})`));
}

describe('bench: the p99 goal at a fixed 1,000 req/s', () => {
  // The rule: at most 1.5 x the ceiling's p99 in the same run; 2 ms while the ceiling's is below 2 ms.
  const rows: ReadonlyArray<{ name: string; ceiling: number; mountgate: number; met: boolean; measured: string }> = [
    { name: 'a quiet host: 2 ms, though 1.5 x a 0.7 ms ceiling is less', ceiling: 0.7, mountgate: 1.38, met: true, measured: '1.38 ms (ceiling 0.70 ms, bound 2.00 ms)' },
    { name: 'a quiet host: over 2 ms', ceiling: 0.7, mountgate: 2.01, met: false, measured: '2.01 ms (ceiling 0.70 ms, bound 2.00 ms)' },
    { name: 'a ceiling just under 2 ms: still 2 ms', ceiling: 1.9, mountgate: 2.1, met: false, measured: '2.10 ms (ceiling 1.90 ms, bound 2.00 ms)' },
    { name: 'a ceiling of exactly 2 ms: 1.5 x it', ceiling: 2, mountgate: 3, met: true, measured: '3.00 ms (ceiling 2.00 ms, bound 3.00 ms)' },
    { name: 'a noisy host: within 1.5 x a 6.73 ms ceiling', ceiling: 6.73, mountgate: 4.43, met: true, measured: '4.43 ms (ceiling 6.73 ms, bound 10.1 ms)' },
    { name: 'a noisy host: over 1.5 x a 3 ms ceiling', ceiling: 3, mountgate: 4.6, met: false, measured: '4.60 ms (ceiling 3.00 ms, bound 4.50 ms)' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const check = p99Check([rate1000('ceiling', row.ceiling), rate1000('mutate', row.mountgate), rate1000('validate', row.mountgate)], 'mutate');
      expect(check).to.deep.equal({ target: "p99 ≤ 1.5 × the ceiling's (2 ms while the ceiling's is below 2 ms) at 1,000 req/s (/mutate)", measured: row.measured, met: row.met });
    });
  }

  it('without the ceiling at the same rate there is nothing to compare with: the 2 ms bound alone, said so', () => {
    const check = p99Check([rate1000('validate', 1.9)], 'validate');
    expect(check).to.deep.equal({ target: 'p99 ≤ 2 ms at 1,000 req/s, no ceiling run to compare with (/validate)', measured: '1.90 ms', met: true });
  });
});
