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
  const rows = [['NAMESPACE', 'POD', 'REASON']];
  for (const finding of summary.findings) {
    for (const v of finding.violations) rows.push([finding.namespace, finding.pod, describeViolation(v)]);
  }
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const table = rows.map((row) => row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell)).join('   ').trimEnd());
  const verdict =
    summary.findings.length === 0
      ? `no Pod breaks the policy (${summary.podsScanned} scanned)`
      : `${summary.findings.length} of ${summary.podsScanned} Pods break the policy`;
  return `${summary.findings.length > 0 ? `${table.join('\n')}\n\n` : ''}${verdict}\n`;
}
