/** Audit output: an aligned table (one row per broken rule) or JSON. */
import { describeViolation } from '../admission/violation.js';
import { escapeControl } from '../cli/usage.js';
import type { Finding, Unjudged } from './judge.js';
import { MAX_CANDIDATE_REQUESTERS } from './unknown-requester.js';

export type OutputFormat = 'table' | 'json';

export interface AuditSummary {
  readonly podsScanned: number;
  readonly findings: readonly Finding[];
  /** Pods admitted or refused depending on who created them (see judge.ts): listed apart, not counted as breaking. */
  readonly cannotJudgeOffline: readonly Unjudged[];
}

export function formatReport(summary: AuditSummary, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(summary, null, 2)}\n`;
  // RULE is the identifier the API server's audit log and alerts name, so one search finds both. Cells are
  // escaped: paths from the cluster may hold C1 controls, which a terminal takes for escape sequences.
  const rows = [['NAMESPACE', 'POD', 'RULE', 'REASON']];
  for (const finding of summary.findings) {
    for (const v of finding.violations) rows.push([finding.namespace, finding.pod, v.rule, describeViolation(v)].map(escapeControl));
  }
  const unjudged = [['NAMESPACE', 'POD', 'CANNOT JUDGE OFFLINE']];
  for (const pod of summary.cannotJudgeOffline) {
    const filled = `${pod.needs.join(' and ')} ${pod.needs.length > 1 ? 'are' : 'is'} filled from who created the Pod, which is not recorded`;
    const why = pod.tooManyRequesters === true ? `more than ${MAX_CANDIDATE_REQUESTERS} requesters could decide, too many to try` : 'admitted only for some requesters';
    unjudged.push([pod.namespace, pod.pod, `${why}: ${filled}`].map(escapeControl));
  }
  const verdict =
    summary.findings.length === 0
      ? `no Pod breaks the policy (${summary.podsScanned} scanned${summary.cannotJudgeOffline.length > 0 ? `, ${summary.cannotJudgeOffline.length} cannot be judged offline` : ''})`
      : `${summary.findings.length} of ${summary.podsScanned} Pods break the policy${summary.cannotJudgeOffline.length > 0 ? `, ${summary.cannotJudgeOffline.length} cannot be judged offline` : ''}`;
  const tables = [...(summary.findings.length > 0 ? [aligned(rows, 3)] : []), ...(summary.cannotJudgeOffline.length > 0 ? [aligned(unjudged, 2)] : [])];
  return `${tables.map((table) => `${table}\n\n`).join('')}${verdict}\n`;
}

/** The first `padded` columns padded to their widest cell; the last one free. */
function aligned(rows: readonly string[][], padded: number): string {
  const columns = [...Array(padded).keys()];
  const widths = columns.map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => (column < padded ? cell.padEnd(widths[column] ?? 0) : cell)).join('   ').trimEnd()).join('\n');
}
