/** docs/reference.md is what admins read to interpret a refusal: it must name exactly what mountgate sends. */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { INTERNAL_ERROR_RULE, MAX_AUDIT_VIOLATION_LENGTH, STATUS_REASONS } from '../../src/admission/response.js';
import { RULES } from '../../src/admission/violation.js';

const REFERENCE = readFileSync(new URL('../../docs/reference.md', import.meta.url), 'utf8');

/** The text of one `##`/`###` section, up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const lines = REFERENCE.split('\n');
  const start = lines.findIndex((line) => line === heading);
  if (start === -1) throw new Error(`docs/reference.md has no "${heading}"`);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((line, index) => index > start && /^#+ /.test(line) && line.indexOf(' ') <= level);
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** The first cell of each body row of the section's table, without its backticks. */
function firstCells(text: string): string[] {
  return [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1] ?? '');
}

describe('docs/reference.md: status reasons and audit annotations', () => {
  it('lists every rule identifier, and no other', () => {
    expect(firstCells(section('### Rule identifiers'))).to.deep.equal([...RULES, INTERNAL_ERROR_RULE]);
  });

  it('lists every status code with its reason', () => {
    const rows = [...section('### Status reasons').matchAll(/^\| `(\d+)` \| `(\w+)` \|/gm)].map((match) => `${match[1]} ${match[2]}`);
    expect([...rows].sort()).to.deep.equal(Object.entries(STATUS_REASONS).map(([code, reason]) => `${code} ${reason}`).sort());
  });

  it('lists the audit annotation keys and the bound on the violation', () => {
    const text = section('### Audit annotations');
    expect(firstCells(text)).to.deep.equal(['verdict', 'rule', 'violation']);
    expect(text).to.include(`at most ${MAX_AUDIT_VIOLATION_LENGTH} characters`);
  });
});
