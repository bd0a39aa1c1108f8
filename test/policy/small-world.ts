/**
 * A small world to try policies on by brute force: random policies over a few
 * names, every view (placeholder values) over them, every path of a few
 * segments. The link-hazard and volumeRoot: requested properties hold
 * `check`'s searches to it.
 */
import fc from 'fast-check';
import type { Filling, Fillings } from '../../src/policy/match.js';
import { PLACEHOLDER_VALUE, PLACEHOLDERS, type Placeholder } from '../../src/policy/patterns.js';

export const RUNS = Number(process.env.MOUNTGATE_PROPERTY_RUNS ?? 100);
// "s.t" is a name no placeholder may take (a namespace or user has no dot here), so it never doubles as one.
export const LITERALS = ['a', 'b', 's.t'];
const SEGMENT = fc.constantFrom(...LITERALS, '*', '{namespace}', '{user}', '{sandboxUser}');
// A policy entry starts with a literal segment.
export const ENTRY = fc.record({
  pathPrefix: fc.tuple(fc.constantFrom(...LITERALS), fc.array(SEGMENT, { maxLength: 2 })).map(([first, rest]) => `/${[first, ...rest].join('/')}`),
  readOnly: fc.boolean(),
});
// Anyone; a user the paths spell; one they do not; a service account only (its username fills no {user}); a group; mixes.
export const REQUESTERS = fc.constantFrom<readonly string[]>([], ['a'], ['v1'], ['system:serviceaccount:x:y'], ['group:g'], ['a', 'system:serviceaccount:x:y'], ['v1', 'v2']);

const UNFILLED: Filling = { ok: false, why: 'not filled' };

/** Every view over the names; {user} also unfilled, as a service account's username leaves it; {sandboxUser} only when trusted. */
export function allViews(trusted: boolean): Fillings[] {
  const values: Filling[] = [...LITERALS.filter((value) => PLACEHOLDER_VALUE.test(value)), 'v1', 'v2'].map((value) => ({ ok: true, value }));
  let views: Array<Record<Placeholder, Filling>> = [{ namespace: UNFILLED, user: UNFILLED, sandboxUser: UNFILLED }];
  for (const name of PLACEHOLDERS) {
    const options = name === 'namespace' ? values : name === 'user' || trusted ? [...values, UNFILLED] : [UNFILLED];
    views = views.flatMap((view) => options.map((filling) => ({ ...view, [name]: filling })));
  }
  return views;
}

/** Every path of 1 to `depth` segments over the literals, the names views take, and one no view takes. */
export function allPaths(depth: number): string[] {
  const alphabet = [...LITERALS, 'v1', 'v2', 'z'];
  let level = [''];
  const paths: string[] = [];
  for (let i = 0; i < depth; i++) {
    level = level.flatMap((prefix) => alphabet.map((name) => `${prefix}/${name}`));
    paths.push(...level);
  }
  return paths;
}

/** Whether someone in `requesters` may ask in this view: a listed username, or anyone in a listed group. */
export function mayRequest(requesters: readonly string[], view: Fillings): boolean {
  if (requesters.length === 0 || requesters.some((name) => name.startsWith('group:'))) return true;
  return view.user.ok ? requesters.includes(view.user.value) : requesters.some((name) => !PLACEHOLDER_VALUE.test(name));
}
