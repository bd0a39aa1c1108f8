/**
 * Whether what happened to one request is what its setting expects, and the tool's lines. Pure: no I/O.
 */
import { podDifferences, type Difference, type Json } from './pod-diff.js';
import type { Expected } from './settings.js';

/** What became of the model's Pod, sent as a dry run through the same API server as the same user. */
export type ModelOutcome =
  /** Not sent: the expectation is a refusal by the provisioner before it builds a Pod. */
  | { readonly kind: 'not sent' }
  /** The model could not build a Pod for the request. */
  | { readonly kind: 'threw'; readonly message: string }
  | { readonly kind: 'admitted'; readonly pod: Json }
  | { readonly kind: 'refused'; readonly code: number; readonly message: string };

/** mountgate's decisions on the sandbox's Pod for real writes (dry runs, such as the model's, left out). */
export interface Decisions {
  /** /validate admitting it. */
  readonly validateAllowed: number;
  /** Any decision at all. */
  readonly all: number;
}

/** What one request came to. */
export interface Observation {
  /** The provisioner's HTTP status; 0 when it gave no answer. */
  readonly status: number;
  readonly body: string;
  /** The Pod the API server holds under the sandbox's name afterwards (comparablePod), if any. */
  readonly stored: Json | undefined;
  readonly model: ModelOutcome;
  readonly decisions: Decisions;
  /** The provisioner's log since the request was sent. */
  readonly log: string;
}

/** Counts mountgate's decision lines (its JSON log) on Pod `pod` that were no dry run. */
export function decisionsOn(logLines: readonly string[], pod: string): Decisions {
  let validateAllowed = 0;
  let all = 0;
  for (const line of logLines) {
    if (!line.startsWith('{')) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry !== 'object' || entry === null || !('msg' in entry) || entry.msg !== 'admission decision') continue;
    if (!('pod' in entry) || entry.pod !== pod || !('dryRun' in entry) || entry.dryRun !== false) continue;
    all++;
    if ('endpoint' in entry && entry.endpoint === 'validate' && 'verdict' in entry && entry.verdict === 'allowed') validateAllowed++;
  }
  return { validateAllowed, all };
}

export interface Verdict {
  readonly ok: boolean;
  readonly text: string;
}

const MAX_TEXT = 300;

/** One line, at most MAX_TEXT characters: answers and values can be long JSON. */
export function short(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT - 1)}…` : line;
}

function describeModel(model: ModelOutcome): string {
  switch (model.kind) {
    case 'not sent':
      return 'not sent';
    case 'threw':
      return `not built (${short(model.message)})`;
    case 'admitted':
      return 'admitted';
    case 'refused':
      return `refused with ${model.code} (${short(model.message)})`;
  }
}

export function describeDifference(d: Difference): string {
  const value = (v: Json | undefined): string => (v === undefined ? '(absent)' : short(JSON.stringify(v)));
  return `${d.field}: model ${value(d.model)}, real ${value(d.real)}`;
}

function judgeCreated(seen: Observation): Verdict {
  const problems: string[] = [];
  if (seen.status !== 200) problems.push(`expected HTTP 200, got ${seen.status}: ${short(seen.body)}`);
  if (seen.stored === undefined) problems.push('no Pod stored');
  if (seen.model.kind !== 'admitted') problems.push(`the model's Pod was ${describeModel(seen.model)}`);
  // The Pod is mountgate's to judge: created only once its /validate admitted it.
  if (seen.decisions.validateAllowed !== 1) problems.push(`expected one /validate of mountgate admitting the Pod, saw ${seen.decisions.validateAllowed}`);
  if (problems.length > 0) return { ok: false, text: problems.join('; ') };
  const differences = seen.model.kind === 'admitted' ? podDifferences(seen.model.pod, seen.stored) : [];
  if (differences.length === 0) return { ok: true, text: 'same as the model' };
  return { ok: false, text: `differs from the model in ${differences.length} field(s): ${differences.map(describeDifference).join('; ')}` };
}

function judgeRefused(expected: Extract<Expected, { outcome: 'refused' }>, seen: Observation): Verdict {
  const problems: string[] = [];
  if (seen.status !== expected.status) problems.push(`expected HTTP ${expected.status}, got ${seen.status}`);
  if (!seen.body.includes(expected.detail)) problems.push(`expected ${JSON.stringify(expected.detail)} in the answer, got ${short(seen.body)}`);
  if (seen.stored !== undefined) problems.push('a Pod was stored');
  if (expected.model === undefined && seen.decisions.all !== 0) {
    problems.push(`the provisioner was to refuse before it asked the API server, but mountgate judged its Pod ${seen.decisions.all} time(s)`);
  }
  if (expected.logSays !== undefined && !seen.log.includes(expected.logSays)) {
    problems.push(`expected ${JSON.stringify(expected.logSays)} in the provisioner's log, got ${short(seen.log.split('\n').slice(-3).join(' | '))}`);
  }
  const model = expected.model;
  if (model !== undefined) {
    const refusedSo = seen.model.kind === 'refused' && seen.model.code === model.code && seen.model.message.includes(model.says);
    if (!refusedSo) problems.push(`expected the model's Pod refused with ${model.code} (${JSON.stringify(model.says)}), but it was ${describeModel(seen.model)}`);
  }
  if (problems.length > 0) return { ok: false, text: problems.join('; ') };
  const why = seen.model.kind === 'refused' ? `; the API server says: ${short(seen.model.message)}` : '';
  return { ok: true, text: `refused as expected: ${short(seen.body)}${why}` };
}

export function judge(expected: Expected, seen: Observation): Verdict {
  return expected.outcome === 'created' ? judgeCreated(seen) : judgeRefused(expected, seen);
}

/** Whether the model's Pod is needed to judge a request (it is sent only then). */
export function needsModel(expected: Expected): boolean {
  return expected.outcome === 'created' || expected.model !== undefined;
}

export interface Result {
  readonly setting: string;
  readonly request: string;
  readonly expected: Expected;
  readonly status: number;
  readonly verdict: Verdict;
}

const SETTING_WIDTH = 24;
const REQUEST_WIDTH = 20;

/** The line for one request: setting, request, HTTP status, verdict. */
export function resultLine(result: Result): string {
  const status = result.status === 0 ? 'no answer' : `HTTP ${result.status}`;
  return `${result.setting.padEnd(SETTING_WIDTH)} ${result.request.padEnd(REQUEST_WIDTH)} ${status.padEnd(9)} ${result.verdict.ok ? '' : 'UNEXPECTED: '}${result.verdict.text}`;
}

/** The closing lines: how many requests, Pods and refusals, and which requests did not go as expected. */
export function summaryLines(results: readonly Result[]): string[] {
  const settings = new Set(results.map((r) => r.setting)).size;
  const fine = results.filter((r) => r.verdict.ok);
  const created = fine.filter((r) => r.expected.outcome === 'created').length;
  const unexpected = results.filter((r) => !r.verdict.ok);
  const lines = [
    `${results.length} requests in ${settings} settings: ${fine.length} as expected (${created} Pods same as the model, ${fine.length - created} refusals as expected), ${unexpected.length} not`,
  ];
  if (unexpected.length > 0) lines.push(`not as expected: ${unexpected.map((r) => `${r.setting}/${r.request}`).join(', ')}`);
  return lines;
}
