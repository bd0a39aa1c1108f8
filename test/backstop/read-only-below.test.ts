/**
 * The backstop's read-only entries below a path (variables readOnlyBelow and holdsReadOnly, and the
 * entry its message names), step by step as the CEL in src/backstop/cel.ts takes them, over the
 * same entries it is given (backstopEntries), against mountgate's own decision (hostPathAllowance).
 * The CEL text itself is run by a real API server in test/e2e/backstop.test.ts; this shows, over
 * many generated policies, that the steps it takes decide as mountgate does.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { backstopEntries, celEntries } from '../../src/backstop/policy.js';
import { APPLICABLE, HOLDS_READ_ONLY, HOST_PATH_VOLUMES, READ_ONLY_BELOW, WRITERS_MESSAGE } from '../../src/backstop/cel.js';
import { hostPathAllowance } from '../../src/policy/allowance.js';
import type { Fillings } from '../../src/policy/match.js';
import { PLACEHOLDERS, type Placeholder } from '../../src/policy/patterns.js';
import { policyOf } from '../helpers/policies.js';

type Values = Readonly<Partial<Record<Placeholder, string>>>;
/** An entry as the CEL holds it: [rank, prefix, under, segments...]. */
type Entry = readonly string[];

const minimum = (values: readonly string[]): string => values.reduce((a, b) => (b < a ? b : a));

/**
 * The CEL each step below stands for, as cel.ts writes it: the property runs the steps, not this text, so the
 * text is held here and a change to it fails until the steps are brought along.
 */
const CEL = {
  applicable:
    "variables.policyEntries.filter(e, (!('{namespace}' in e) || variables.namespaceName != '') && (!('{user}' in e) || variables.username != '') && (!('{sandboxUser}' in e) || variables.sandboxUser != '')).map(e, e.map(s, s == '{namespace}' ? variables.namespaceName : s == '{user}' ? variables.username : s == '{sandboxUser}' ? variables.sandboxUser : s))",
  covers:
    "(e.size() == 3 ? (v.path == e[1] || v.path.startsWith(e[2])) : (v.path.startsWith(e[2]) && segs.size() > e.size() - 3 && variables.positions.all(i, i >= e.size() - 3 || e[i + 3] == '*' || e[i + 3] == segs[i + 1])))",
  decides: "'decides': [covering.map(e, e[0])].map(r, r.size() == 0 ? '' : string(r.min()))[0]",
  readOnlyBelow:
    "variables.applicable.filter(e, e[0].endsWith('0') && (e.size() == 3 || e.exists(s, s == '*') || [e[1].replace('{namespace}', variables.namespaceName).replace('{user}', variables.username).replace('{sandboxUser}', variables.sandboxUser)].map(own, variables.applicable.filter(f, f[0] <= e[0] && (f.size() == 3 ? f[1] == own : f.size() == e.size() && own.startsWith(f[2]) && variables.positions.all(i, i >= e.size() - 3 || f[i + 3] == '*' || f[i + 3] == e[i + 3]))).map(f, f[0]).min().endsWith('0'))[0]))",
  literalBelow: "e.size() == 3 && e[1].size() > v.path.size() && e[1].startsWith(v.path + '/')",
  patternBelow: "e.size() > 3 && segs.size() < e.size() - 2 && variables.positions.all(i, i >= segs.size() - 1 || e[i + 3] == '*' || e[i + 3] == segs[i + 1])",
  holdsReadOnly:
    "!variables.hostPathVolumes.exists(v, v.decides.endsWith('1')) || variables.readOnlyBelow.size() == 0 ? [] : variables.hostPathVolumes.filter(v, v.decides.endsWith('1') && (variables.readOnlyBelow.exists(e, LITERAL_BELOW) || variables.readOnlyBelow.exists(e, e.size() > 3) && [v.path.split('/')].map(segs, variables.readOnlyBelow.exists(e, PATTERN_BELOW))[0])).map(v, v.name)",
  named:
    "[variables.readOnlyBelow.filter(e, LITERAL_BELOW)].map(l, l.size() > 0 ? [l.map(e, (e[1].size() + e[1].findAll('[\\\\x{10000}-\\\\x{10FFFF}]').size())).max()].map(n, l.filter(e, (e[1].size() + e[1].findAll('[\\\\x{10000}-\\\\x{10FFFF}]').size()) == n)[0][1])[0] : [v.path.split('/')].map(segs, [variables.readOnlyBelow.filter(e, PATTERN_BELOW)].map(p, [p.map(e, e[0]).min()].map(r, p.filter(e, e[0] == r)[0][1])[0])[0])[0])[0]",
};
const withBelow = (text: string): string => text.replaceAll('LITERAL_BELOW', CEL.literalBelow).replaceAll('PATTERN_BELOW', CEL.patternBelow);

/** variables.applicable: the entries whose placeholders all have values, the values filled in. */
function applicable(entries: readonly Entry[], values: Values): Entry[] {
  return entries
    .filter((e) => PLACEHOLDERS.every((name) => !e.includes(`{${name}}`) || values[name] !== undefined))
    .map((e) => e.map((s) => PLACEHOLDERS.reduce((text, name) => (s === `{${name}}` ? (values[name] ?? s) : text), s)));
}

/** COVERS in cel.ts, segs being the path split at "/". */
function covers(e: Entry, path: string, segs: readonly string[]): boolean {
  if (e.length === 3) return path === e[1] || path.startsWith(e[2] ?? '');
  return path.startsWith(e[2] ?? '') && segs.length > e.length - 3 && e.slice(3).every((s, i) => s === '*' || s === segs[i + 1]);
}

/** The rank of the deciding entry, '' when none covers the path (variables.hostPathVolumes' decides). */
function decides(path: string, entries: readonly Entry[]): string {
  const segs = path.split('/');
  const ranks = entries.filter((e) => covers(e, path, segs)).map((e) => e[0] ?? '');
  return ranks.length === 0 ? '' : minimum(ranks);
}

/** variables.readOnlyBelow. */
function readOnlyBelow(entries: readonly Entry[], values: Values): Entry[] {
  return entries.filter((e) => {
    const rank = e[0] ?? '';
    if (!rank.endsWith('0')) return false;
    if (e.length === 3 || e.includes('*')) return true;
    const own = PLACEHOLDERS.reduce((text, name) => text.replaceAll(`{${name}}`, values[name] ?? ''), e[1] ?? '');
    const there = entries.filter((f) => (f[0] ?? '') <= rank && (f.length === 3 ? f[1] === own : f.length === e.length && own.startsWith(f[2] ?? '') && f.slice(3).every((s, i) => s === '*' || s === e[i + 3])));
    return minimum(there.map((f) => f[0] ?? '')).endsWith('0');
  });
}

const literalBelow = (e: Entry, path: string): boolean => e.length === 3 && [...(e[1] ?? '')].length > [...path].length && (e[1] ?? '').startsWith(`${path}/`);
const patternBelow = (e: Entry, segs: readonly string[]): boolean =>
  e.length > 3 && segs.length < e.length - 2 && e.slice(3).every((s, i) => i >= segs.length - 1 || s === '*' || s === segs[i + 1]);

/** variables.holdsReadOnly for one volume. */
function holds(path: string, decided: string, below: readonly Entry[]): boolean {
  if (below.length === 0 || !decided.endsWith('1')) return false;
  const segs = path.split('/');
  return below.some((e) => literalBelow(e, path)) || below.some((e) => patternBelow(e, segs));
}

/** The entry the message names: the longest literal in UTF-16 code units (first of equals), else the pattern of least rank (first of equals). */
function named(path: string, below: readonly Entry[]): string {
  const utf16 = (s: string): number => [...s].length + [...s].filter((c) => (c.codePointAt(0) ?? 0) > 0xffff).length;
  const literals = below.filter((e) => literalBelow(e, path));
  if (literals.length > 0) {
    const longest = Math.max(...literals.map((e) => utf16(e[1] ?? '')));
    return literals.find((e) => utf16(e[1] ?? '') === longest)?.[1] ?? '';
  }
  const segs = path.split('/');
  const patterns = below.filter((e) => patternBelow(e, segs));
  const least = minimum(patterns.map((e) => e[0] ?? ''));
  return patterns.find((e) => e[0] === least)?.[1] ?? '';
}

function fillingsOf(values: Values): Fillings {
  const of = (name: Placeholder) => {
    const value = values[name];
    return value === undefined ? { ok: false as const, why: 'not given' } : { ok: true as const, value };
  };
  return { namespace: of('namespace'), user: of('user'), sandboxUser: of('sandboxUser') };
}

// Few names, so that entries nest, collide and meet placeholder values; one beyond U+FFFF for lengths.
const NAMES = ['a', 'b', 'ab', '😀'] as const;
const segment = fc.constantFrom(...NAMES, '*', '{namespace}', '{user}', '{sandboxUser}');
const entry = fc
  .tuple(fc.constantFrom(...NAMES), fc.array(segment, { maxLength: 3 }), fc.boolean())
  .map(([first, rest, readOnly]) => ({ pathPrefix: `/${[first, ...rest].join('/')}`, readOnly }));
const path = fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((segments) => `/${segments.join('/')}`);
/** Entries, and a path: random, or above one of the entries (its first segments, `*` and placeholders given a name). */
const policyAndPath = fc.array(entry, { minLength: 2, maxLength: 10 }).chain((entries) =>
  fc.tuple(
    fc.constant(entries),
    fc.oneof(
      path,
      fc.tuple(fc.constantFrom(...entries), fc.nat(3), fc.constantFrom('a', 'b')).map(([{ pathPrefix }, drop, name]) => {
        const segments = pathPrefix.slice(1).split('/');
        const kept = segments.slice(0, Math.max(1, segments.length - 1 - drop));
        return `/${kept.map((s) => (s === '*' || s.startsWith('{') ? name : s)).join('/')}`;
      }),
    ),
  ),
);
const value = fc.option(fc.constantFrom('a', 'b'), { nil: undefined });
const values = fc.record({ namespace: value, user: value, sandboxUser: value }).map((v): Values =>
  Object.fromEntries(Object.entries(v).filter(([, given]) => given !== undefined)),
);

describe('backstop: read-only entries below a path, step by step as the CEL takes them', () => {
  it('stands for the CEL as cel.ts writes it', () => {
    expect(APPLICABLE, 'applicable').to.equal(CEL.applicable);
    expect(HOST_PATH_VOLUMES, 'covers').to.contain(`[variables.applicable.filter(e, ${CEL.covers})].map(covering,`);
    expect(HOST_PATH_VOLUMES, 'decides').to.contain(CEL.decides);
    expect(READ_ONLY_BELOW, 'readOnlyBelow').to.equal(CEL.readOnlyBelow);
    expect(HOLDS_READ_ONLY, 'holdsReadOnly').to.equal(withBelow(CEL.holdsReadOnly));
    expect(WRITERS_MESSAGE, 'named').to.contain(`v.name in variables.holdsReadOnly ? strings.quote(${withBelow(CEL.named)}) + ' inside it is read-only'`);
  });

  it('holds a read-only entry below exactly where mountgate says so, and names the same entry', () => {
    let below = 0;
    fc.assert(
      fc.property(policyAndPath, fc.nat(10), values, ([entries, at], split, given) => {
        const policy = policyOf({ allowedHostPaths: entries.slice(0, split), builtinHostPaths: entries.slice(split) });
        const cel = applicable(backstopEntries(policy).map((e) => [e.rank, e.prefix, e.under, ...e.segments]), given);
        const mine = hostPathAllowance(policy, 'carriable', at, fillingsOf(given));
        const decided = decides(at, cel);
        expect(decided !== '', 'covered').to.equal(mine.allowed);
        if (!mine.allowed) return;
        const readOnly = readOnlyBelow(cel, given);
        const holding = holds(at, decided, readOnly);
        expect({ readOnly: decided.endsWith('0') || holding, below: holding }).to.deep.equal({ readOnly: mine.readOnly !== undefined, below: mine.readOnly?.below === true });
        if (holding) {
          below++;
          expect(named(at, readOnly)).to.equal(mine.readOnly?.pathPrefix);
        }
      }),
      { numRuns: 4000 },
    );
    // The property says little unless paths holding a read-only entry came up often (200 to 260 of 4000 in trials).
    expect(below).to.be.above(100);
  });

  it('fills every placeholder mountgate knows when it looks at a pattern\'s own prefix', () => {
    for (const name of PLACEHOLDERS) expect(READ_ONLY_BELOW).to.contain(`.replace('{${name}}', variables.`);
  });

  it('reads the entries as the policy literal lists them: [rank, prefix, under, segments...]', () => {
    const policy = policyOf({ allowedHostPaths: [{ pathPrefix: '/a/{user}/b', readOnly: true }], builtinHostPaths: [] });
    expect(celEntries(backstopEntries(policy))).to.equal('[["99960100", "/a/{user}/b", "/a/", "a", "{user}", "b"]]');
  });
});
