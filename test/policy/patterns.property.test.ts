/**
 * The deciding entry against an oracle written from the rules alone: every
 * entry in file order, coverage by splitting strings, the order of the
 * reference (most segments; a literal beats "*" or a placeholder at the first
 * position where they differ; read-only; the earlier entry).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decidingHostPathEntry, fillPlaceholders } from '../../src/policy/match.js';
import { parsePolicy } from '../../src/policy/load.js';
import { hostPath, INVALID_VALUES, policySpec, validFacts, type EntrySpec, type Facts } from '../helpers/pattern-arbitraries.js';

const RUNS = Number(process.env.MOUNTGATE_PROPERTY_RUNS ?? 1000);

function validValue(value: string | undefined): value is string {
  if (value === undefined || value.length < 1 || value.length > 64) return false;
  return [...value].every((c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || c === '-');
}

function oracle(entries: readonly EntrySpec[], path: string, facts: Facts, trusted: readonly string[]): EntrySpec | undefined {
  const isTrusted = trusted.includes(facts.username) || facts.groups.some((g) => trusted.includes(`group:${g}`));
  const values: Record<string, string | undefined> = {
    '{namespace}': facts.namespace,
    '{user}': facts.username,
    '{sandboxUser}': isTrusted ? facts.sandboxUser : undefined,
  };
  const parts = path.split('/').slice(1);
  const covering = entries.filter((entry) => {
    const prefix = entry.pathPrefix.split('/').slice(1);
    return (
      prefix.length <= parts.length &&
      prefix.every((p, i) => {
        if (p === '*') return true;
        if (p in values) {
          const value = values[p];
          return validValue(value) && value === parts[i];
        }
        return p === parts[i];
      })
    );
  });
  const literal = (entry: EntrySpec): boolean[] => entry.pathPrefix.split('/').slice(1).map((p) => p !== '*' && !(p in values));
  let best: EntrySpec | undefined;
  for (const entry of covering) {
    if (best === undefined) {
      best = entry;
      continue;
    }
    const [a, b] = [literal(entry), literal(best)];
    if (a.length !== b.length) {
      if (a.length > b.length) best = entry;
      continue;
    }
    const differ = a.findIndex((x, i) => x !== b[i]);
    if (differ >= 0) {
      if (a[differ] === true) best = entry;
      continue;
    }
    if (entry.readOnly && !best.readOnly) best = entry;
  }
  return best;
}

const facts = fc.oneof(
  { weight: 4, arbitrary: validFacts },
  {
    weight: 1,
    arbitrary: fc.record({
      namespace: fc.constantFrom(...INVALID_VALUES, 'team-a'),
      username: fc.constantFrom(...INVALID_VALUES, 'alice'),
      groups: fc.subarray(['provisioners']),
      sandboxUser: fc.option(fc.constantFrom(...INVALID_VALUES, 'u3'), { nil: undefined }),
    }),
  },
);

describe('policy/match: properties', function () {
  this.timeout(120_000);

  it('decides the entry the rules decide, for requestable and carriable lists alike', () => {
    fc.assert(
      fc.property(policySpec, hostPath, facts, (spec, path, request) => {
        const policy = parsePolicy(JSON.stringify(spec), 'p.json');
        const fillings = fillPlaceholders(policy, {
          namespace: request.namespace,
          requester: { username: request.username, groups: [...request.groups] },
          sandboxUser: request.sandboxUser,
        });
        const decided = (literal: typeof policy.requestable, patterns: typeof policy.requestablePatterns) => {
          const entry = decidingHostPathEntry(literal, patterns, path, fillings);
          return entry === undefined ? undefined : { pathPrefix: entry.pathPrefix, readOnly: entry.readOnly };
        };
        expect(decided(policy.requestable, policy.requestablePatterns)).to.deep.equal(oracle(spec.allowedHostPaths, path, request, spec.trustedProvisioners));
        expect(decided(policy.carriable, policy.carriablePatterns)).to.deep.equal(
          oracle([...spec.allowedHostPaths, ...spec.builtinHostPaths], path, request, spec.trustedProvisioners),
        );
      }),
      { numRuns: RUNS },
    );
  });
});
