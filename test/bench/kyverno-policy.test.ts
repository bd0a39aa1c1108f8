/**
 * The prefix patterns of the benchmark's Kyverno ClusterPolicy (bench/kyverno/policy.ts) cover a
 * path by whole segment, as mountgate's rules do. RE2 and JavaScript agree on these patterns
 * (anchors, groups, bracket classes, alternation), so JavaScript's RegExp judges them here; the
 * benchmark checks the whole policy against a running Kyverno.
 */
import { expect } from 'chai';
import { clusterPolicy, prefixPattern, rank } from '../../bench/kyverno/policy.js';

const ROWS: ReadonlyArray<{ name: string; prefix: string; path: string; covered: boolean }> = [
  { name: 'the prefix itself', prefix: '/srv/sandbox', path: '/srv/sandbox', covered: true },
  { name: 'a path under it', prefix: '/srv/sandbox', path: '/srv/sandbox/a/b', covered: true },
  { name: 'one trailing slash', prefix: '/srv/sandbox', path: '/srv/sandbox/', covered: true },
  { name: 'a longer first segment', prefix: '/srv/sandbox', path: '/srv/sandbox2', covered: false },
  { name: 'a longer segment further down', prefix: '/srv/sandbox', path: '/srv/sandbox2/a', covered: false },
  { name: 'the parent', prefix: '/srv/sandbox', path: '/srv', covered: false },
  { name: 'a prefix written with a trailing slash', prefix: '/srv/sandbox/', path: '/srv/sandbox/a', covered: true },
  { name: 'a dot is a dot', prefix: '/srv/models/qwen2.5', path: '/srv/models/qwen2x5', covered: false },
  { name: 'a dotted segment', prefix: '/.deer-flow/threads', path: '/.deer-flow/threads/t1/user-data', covered: true },
  { name: 'a wildcard fills one segment', prefix: '/.deer-flow/users/*/skills_view', path: '/.deer-flow/users/u-1/skills_view/custom', covered: true },
  { name: 'a wildcard never fills two', prefix: '/.deer-flow/users/*/skills_view', path: '/.deer-flow/users/a/b/skills_view', covered: false },
  { name: 'a wildcard never fills none', prefix: '/.deer-flow/users/*/skills_view', path: '/.deer-flow/users/skills_view', covered: false },
];

/** Pairs of prefixes covering one path, the first deciding (docs/reference.md: most segments, then a literal before "*"). */
const ORDER: ReadonlyArray<{ name: string; wins: string; loses: string }> = [
  { name: 'more segments', wins: '/srv/models/scratch', loses: '/srv/models' },
  { name: 'more segments, even as "*"', wins: '/a/*/c', loses: '/a/b' },
  { name: 'a literal before "*" at the same depth', wins: '/a/b', loses: '/a/*' },
  { name: 'the first position where they differ decides', wins: '/a/b/*', loses: '/a/*/c' },
];

describe('bench: the Kyverno ClusterPolicy', () => {
  for (const row of ORDER) {
    it(`deciding entry: ${row.name}`, () => {
      expect(rank(row.wins)).to.be.greaterThan(rank(row.loses));
    });
  }

  it('ranks a prefix the same with or without a trailing slash', () => {
    expect(rank('/srv/models/')).to.equal(rank('/srv/models'));
  });

  for (const row of ROWS) {
    it(`prefix pattern: ${row.name}`, () => {
      expect(new RegExp(`^${prefixPattern(row.prefix)}`).test(row.path)).to.equal(row.covered);
    });
  }

  for (const prefix of ['/srv/a b', '/srv/..', '/srv/(x)', "/srv/it's"]) {
    it(`refuses a prefix it cannot write safely: ${JSON.stringify(prefix)}`, () => {
      expect(() => prefixPattern(prefix)).to.throw('not supported');
    });
  }

  it('has the requester rule only when the policy names requesters', () => {
    const names = (requesters: string[]): unknown[] => {
      const policy = clusterPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], requesters }) as { spec: { rules: Array<{ name: string }> } };
      return policy.spec.rules.map((rule) => rule.name);
    };
    expect(names([])).to.not.include('annotation-requester');
    expect(names(['alice'])).to.include('annotation-requester');
  });
});
