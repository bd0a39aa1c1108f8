/**
 * What readAdmissionReview says of an envelope it refuses: yup's words, at a
 * cost and a length that do not grow with the lists in the body.
 */
import { expect } from 'chai';
import { readAdmissionReview } from '../../src/admission/review.js';
import { review, sandboxPod } from '../helpers/pods.js';

/** A review as the server parses it, with `request.userInfo.groups` (and more of `request`) replaced. */
function withRequest(change: Record<string, unknown>, groups: unknown[]): unknown {
  const body = review(sandboxPod());
  const request = body.request as Record<string, unknown>;
  return { ...body, request: { ...request, ...change, userInfo: { username: 'x', groups } } };
}

const groupProblem = (index: number): string => `request.userInfo.groups[${index}] must be a string`;

describe('admission/review: refused envelopes', () => {
  const rows: Array<{ name: string; body: unknown; problems: string[] }> = [
    {
      name: 'thirty non-string groups: the first ten named, then how many more',
      body: withRequest({}, new Array<number>(30).fill(0)),
      problems: [...Array.from({ length: 10 }, (_, index) => groupProblem(index)), 'and 20 more problems'],
    },
    {
      // yup (abortEarly: false) built 300 000 errors here and overflowed the stack joining them.
      name: '300 000 non-string groups: only the first, found without yup walking the list',
      body: withRequest({}, new Array<number>(300_000).fill(0)),
      problems: [groupProblem(0)],
    },
    {
      name: 'a missing uid beside 200 non-string groups: the first problem in the schema order',
      body: withRequest({ uid: undefined }, new Array<number>(200).fill(0)),
      problems: ['request.uid is required'],
    },
    {
      name: 'a long list of strings with one number deep inside: that entry',
      body: withRequest({}, [...new Array<string>(150_000).fill('g'), 7, 'g', 8]),
      problems: [groupProblem(150_000)],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const read = readAdmissionReview(row.body);
      expect(read.ok).to.equal(false);
      expect(read.ok ? [] : read.problems).to.deep.equal(row.problems);
    });
  }
});
