/**
 * annotation-messages.json: annotation values and the problems mountgate names for them, shared with
 * the Python kit (clients/python/tests/test_messages.py checks its text_problems against the same
 * file), so that the kit's local check names the problems mountgate names, in its order, each worded
 * character for character as mountgate words it. This side checks that the file says what mountgate's
 * parser says.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { kitWordedProblems } from '../helpers/annotation-problems.js';

interface MessageCase {
  readonly name: string;
  readonly annotation: string;
  /** Each violation as the kit words it (see kitWordedProblems), in mountgate's order. */
  readonly problems: readonly string[];
}

const CORPUS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'annotation-messages.json');
const corpus = JSON.parse(readFileSync(CORPUS_FILE, 'utf8')) as { readonly description: string; readonly cases: readonly MessageCase[] };

describe('admission/annotation: the messages shared with the Python kit (annotation-messages.json)', () => {
  it('has cases with distinct names, each naming at least one problem', () => {
    expect(corpus.cases.length).to.be.greaterThan(0);
    expect(new Set(corpus.cases.map((c) => c.name)).size).to.equal(corpus.cases.length);
    for (const c of corpus.cases) expect(c.problems, c.name).to.not.be.empty;
  });
  for (const c of corpus.cases) {
    it(c.name, () => {
      expect(kitWordedProblems(c.annotation)).to.deep.equal(c.problems);
    });
  }
});
