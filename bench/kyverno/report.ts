/** The Kyverno section's part of the generated table in BENCHMARKS.md. */
import type { KyvernoSection, KyvernoSkipped } from '../kyverno-bench.js';
import type { LatencySummary } from '../load/latency.js';

const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(Math.abs(value) < 10 ? 2 : 1) : 'n/a');
/** A difference with its sign: "+3.20", "-1.44". */
const signed = (value: number): string => `${value >= 0 ? '+' : ''}${ms(value)}`;
const int = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
/** How many of the cases Kyverno admits and mountgate denies are named under the table. */
const NAMED_CASES = 25;

export function kyvernoLines(section: KyvernoSection | KyvernoSkipped): string[] {
  if ('skipped' in section) return [`Not run: ${section.skipped}`];
  const base = section.withoutWebhooks;
  const row = (name: string, s: LatencySummary, added: boolean): string =>
    `| ${name} | ${int(s.count)} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.max)} | ${added ? signed(s.p50 - base.p50) : ''} | ${added ? signed(s.p99 - base.p99) : ''} |`;
  const cost = (name: string, c: KyvernoSection['kyverno']): string =>
    `| ${name} | ${int(c.reviews)} | ${ms(c.apiserverMsPerCall)} | ${int(c.cpuMicrosPerReview)} | ${c.idleCpuPercent.toFixed(1)} | ${int(c.cpuMicrosPerReviewBeyondIdle)} | ${c.rssMiB.toFixed(1)} |`;
  const lines = [
    `Kyverno ${section.version} (built from its Go module by bench/tools/install-kyverno.sh) runs out of cluster against a control plane of this section's own, ` +
      'with a ClusterPolicy generated from examples/deer-flow-policy.yaml (bench/kyverno/policy.ts); a mountgate with the same profile serves a second namespace. ' +
      `Pod CREATEs of the benchmark's sandbox Pod with 3 mounts (bench/fixtures.ts), one at a time, take turns between Kyverno's namespace, mountgate's and one without webhooks ` +
      `(${section.warmupPerSide} unmeasured per side first). Machine CPU while measuring: ${section.machineBusyPercent.toFixed(0)}% of one core (everything).`,
    '',
    '| Pod CREATE | Pods | p50 ms | p90 ms | p99 ms | max ms | added p50 ms | added p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row(`with Kyverno ${section.version}`, section.withKyverno, true),
    row('with mountgate', section.withMountgate, true),
    row('without webhooks', base, false),
    '',
    'Per webhook call during the timed creates (calls and time from the API server\'s apiserver_admission_webhook_admission_duration_seconds; CPU is the process\'s user + system time ' +
      'over the same window, per call; "idle" is what the process used in a window with no Pod created just before, and the last CPU column takes that rate off):',
    '',
    '| admission controller | webhook calls | API server ms per call | CPU µs per call | idle CPU % | CPU µs per call beyond idle | RSS MiB after |',
    '|---|---:|---:|---:|---:|---:|---:|',
    cost(`Kyverno ${section.version}`, section.kyverno),
    cost('mountgate', section.mountgate),
    '',
    `Checked before timing: ${section.verified.join('; ')}.`,
    '',
    'The hostile-path corpus (test/fuzz/corpus), each case a real dry-run Pod CREATE with Kyverno in front (its ClusterPolicy generated from the corpus policy); ' +
      "mountgate's verdict from its decision core (/mutate, then /validate), the Pod it admits sent through the same API server without webhooks. " +
      'Cases that change the policy or are not a Pod CREATE are not sent.',
    '',
    '| corpus file | cases | sent | admitted with Kyverno | admitted with mountgate | Kyverno admits, mountgate denies | … of which the Pod breaks the hostPath rules (oracle) | mountgate admits, Kyverno denies |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of section.corpus.rows) {
    lines.push(`| ${r.file} | ${r.cases} | ${r.sent} | ${r.kyvernoAdmits} | ${r.mountgateAdmits} | ${r.kyvernoOnly} | ${r.kyvernoOnlyUnsafe} | ${r.mountgateOnly} |`);
  }
  const kyvernoOnly = section.corpus.cases.filter((c) => c.kyvernoAdmits && !c.mountgateAdmits);
  if (kyvernoOnly.length > 0) {
    const named = kyvernoOnly.slice(0, NAMED_CASES).map((c) => `${c.file.replace(/\.json$/, '')}: ${c.name}${c.oracleProblems.length > 0 ? ` (${c.oracleProblems[0] ?? ''})` : ''}`);
    lines.push('', `Admitted with Kyverno, denied by mountgate${kyvernoOnly.length > NAMED_CASES ? ` (first ${NAMED_CASES} of ${kyvernoOnly.length}; all in bench/results.json)` : ''}: ${named.join('; ')}.`);
  }
  return lines;
}
