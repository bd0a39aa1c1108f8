/**
 * The in-process path for the API-server section: the review mountgate was
 * sent directly (apiserver-direct.ts), judged by the same policy file, in a
 * tight loop in a process of its own on the webhook core, from the built code
 * (dist/), with no HTTP, socket or log line. Prints one InProcessTiming as JSON.
 *
 *   taskset -c 0 node --import tsx bench/apiserver-inprocess-worker.ts POLICY REVIEW_JSON BUDGET_MS
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { time } from './core/timer.js';
import { REPO_ROOT } from './workspace.js';
import type { InProcessTiming } from './apiserver-inprocess.js';

type DecideModule = typeof import('../src/admission/decide.js');
type ReviewModule = typeof import('../src/admission/review.js');
type ResponseModule = typeof import('../src/admission/response.js');
type LoadModule = typeof import('../src/policy/load.js');

const [policyFile, reviewFile, budget] = process.argv.slice(2);
if (policyFile === undefined || reviewFile === undefined) throw new Error('usage: apiserver-inprocess-worker.ts POLICY REVIEW_JSON [BUDGET_MS]');
const budgetMs = Number(budget ?? '1000');

const dist = (relative: string): string => path.join(REPO_ROOT, 'dist', relative);
const { decide } = (await import(dist('admission/decide.js'))) as DecideModule;
const { readAdmissionReview } = (await import(dist('admission/review.js'))) as ReviewModule;
const { fromVerdict, toReview } = (await import(dist('admission/response.js'))) as ResponseModule;
const { parsePolicy } = (await import(dist('policy/load.js'))) as LoadModule;

const policy = parsePolicy(readFileSync(policyFile, 'utf8'), policyFile);
const body = readFileSync(reviewFile, 'utf8');
const parsed: unknown = JSON.parse(body);

/** What mountgate's histogram times, minus the socket write: envelope, decision, answer, serialising. */
const answer = (review: unknown): string => {
  const read = readAdmissionReview(review);
  if (!read.ok) throw new Error(`the review is malformed: ${read.problems.join('; ')}`);
  const verdict = decide('mutate', read.request, policy);
  if (!verdict.allowed) throw new Error('the in-process path must time an admitted review');
  return JSON.stringify(toReview(read.request.uid, fromVerdict(verdict)));
};
answer(parsed);

const ROUNDS = 3;
const withParse: number[] = [];
const withoutParse: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  withParse.push(time(() => answer(JSON.parse(body)), budgetMs / ROUNDS).medianNs);
  withoutParse.push(time(() => answer(parsed), budgetMs / ROUNDS).medianNs);
}
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const result: InProcessTiming = { parseToAnswerMs: median(withParse) / 1e6, envelopeToAnswerMs: median(withoutParse) / 1e6, budgetMs };
process.stdout.write(`${JSON.stringify(result)}\n`);
