/** Audit output: an aligned table (one row per broken rule) or JSON. */
import { describeViolation } from '../admission/violation.js';
import type { Finding } from './judge.js';

export type OutputFormat = 'table' | 'json';

export interface AuditSummary {
  readonly podsScanned: number;
  readonly findings: readonly Finding[];
}

export function formatReport(summary: AuditSummary, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(summary, null, 2)}\n`;
  // RULE is the identifier the API server's audit log and alerts name, so one search finds both.
  const rows = [['NAMESPACE', 'POD', 'RULE', 'REASON']];
  for (const finding of summary.findings) {
    for (const v of finding.violations) rows.push([finding.namespace, finding.pod, v.rule, describeViolation(v)]);
  }
  const padded = [0, 1, 2];
  const widths = padded.map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const table = rows.map((row) => row.map((cell, column) => (column < padded.length ? cell.padEnd(widths[column] ?? 0) : cell)).join('   ').trimEnd());
  const verdict =
    summary.findings.length === 0
      ? `no Pod breaks the policy (${summary.podsScanned} scanned)`
      : `${summary.findings.length} of ${summary.podsScanned} Pods break the policy`;
  return `${summary.findings.length > 0 ? `${table.join('\n')}\n\n` : ''}${verdict}\n`;
}
