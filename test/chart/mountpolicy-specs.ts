/**
 * Generated MountPolicy specs, near the edges of every field rule, and what mountgate's own schema
 * (src/policy/mount-policy.ts, the truth for the fields) says of them. Shared by crd-schema.test.ts
 * (the CRD's structural schema through ajv) and the cluster suite (the CRD's CEL rules in a real
 * API server), so that both compare the CRD with the same rows.
 */
import fc from 'fast-check';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';

/** Rules only the CRD has: bounds that keep the API server's CEL cost and objects small. */
export const CRD_MAX_ITEMS = 128;
export const CRD_MAX_MOUNTS = 1000;

const ASTRAL = '\u{1F600}';

/** Segments that break, or pass at the edge of, each path rule. */
const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('srv', 'tenants', 'team-a', '.cache', '...', 'a.b', 'é', ASTRAL) },
  { weight: 3, arbitrary: fc.constantFrom('*', '{namespace}', '{user}', '{sandboxUser}') },
  { weight: 2, arbitrary: fc.constantFrom('', '.', '..', 'team-*', '{tenant}', '{}', '{user}x', 'a\u0007', 'a\u007f', 'a\u0000', 'a b', 'x\\..') },
);

/** Segments that every path rule accepts. */
const goodSegment = fc.constantFrom('srv', 'tenants', 'team-a', '.cache', '...', 'a.b', 'é', ASTRAL, '*', '{namespace}', '{user}', '{sandboxUser}');

/** Strings at the length limits: 4096 UTF-16 units in all, counted with the leading "/". */
const longPath = fc.constantFrom(
  `/${'a'.repeat(4095)}`,
  `/${'a'.repeat(4096)}`,
  `/${'a'.repeat(4094)}/`,
  `/${ASTRAL.repeat(2047)}`,
  `/${ASTRAL.repeat(2048)}`,
  `/srv/${'é'.repeat(4091)}`,
);

/**
 * Paths that break no rule but length: a literal first segment, then good segments; ASCII at the
 * length limit (where code points and UTF-16 units agree).
 */
export const goodPathString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(fc.constantFrom('srv', '.cache', 'é'), fc.array(goodSegment, { maxLength: 3 }), fc.boolean())
      .map(([first, rest, trailing]) => `/${[first, ...rest].join('/')}${trailing ? '/' : ''}`),
  },
  { weight: 1, arbitrary: fc.constantFrom(`/${'a'.repeat(4095)}`, `/${'a'.repeat(4096)}`, `/${'a'.repeat(4094)}/`) },
);

/** One thing wrong with an otherwise good path, so that each rule alone decides some rows. */
const BAD_SEGMENTS = ['', '.', '..', 'team-*', '{tenant}', '{}', '{user}x', 'a\u0007', 'a\u007f', 'a\u0000', 'a\\b'] as const;
const oneFault: fc.Arbitrary<(path: string) => string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(...BAD_SEGMENTS), fc.nat()).map(([bad, at]) => (path: string): string => {
      const segments = path.slice(1).split('/').filter((x, i, all) => x !== '' || i < all.length - 1);
      segments.splice(1 + (at % segments.length), 0, bad);
      return `/${segments.join('/')}`;
    }),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      (path: string): string => path.slice(1),
      (): string => '/',
      (path: string): string => path.replace(/^\/[^/]*/, '/*'),
      (path: string): string => path.replace(/^\/[^/]*/, '/{namespace}'),
    ),
  },
);

/** Any path-like string: good, good but for one fault, or many faults at once; at the length limits too. */
export const pathString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: goodPathString },
  { weight: 4, arbitrary: fc.tuple(goodPathString, oneFault).map(([path, fault]) => fault(path)) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        absolute: fc.constantFrom(true, true, true, true, true, false),
        segments: fc.array(segment, { minLength: 0, maxLength: 4 }),
        trailing: fc.constantFrom(false, false, false, true),
      })
      .map(({ absolute, segments, trailing }) => `${absolute ? '/' : ''}${segments.join('/')}${trailing && segments.length > 0 ? '/' : ''}`),
  },
  { weight: 1, arbitrary: longPath },
);

function entryOf(path: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ pathPrefix: path, readOnly: fc.boolean() }, { requiredKeys: ['pathPrefix'] }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>({ readOnly: true }, { pathPrefix: '/srv/a', readOnly: 'true' }, { pathPrefix: '/srv/a', readonly: true }, { pathPrefix: 7 }, '/srv/a'),
    },
  );
}

function maxMountsOf(lowest: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: lowest, max: 12 }) },
    { weight: 2, arbitrary: fc.constantFrom(CRD_MAX_MOUNTS - 1, CRD_MAX_MOUNTS, CRD_MAX_MOUNTS + 1) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(1.5, '3', true) },
  );
}

function specOf(path: fc.Arbitrary<string>, reservedPath: fc.Arbitrary<string>, lowestMaxMounts: number): fc.Arbitrary<Record<string, unknown>> {
  const spec = fc.record(
    {
      allowedHostPaths: fc.oneof(
        { weight: 12, arbitrary: fc.array(entryOf(path), { maxLength: 4 }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>('/srv/a', { pathPrefix: '/srv/a' }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(CRD_MAX_ITEMS, CRD_MAX_ITEMS + 1).map((n) => Array.from({ length: n }, (_, i) => ({ pathPrefix: `/srv/t${i}` }))),
        },
      ),
      reservedMountPaths: fc.oneof(
        { weight: 8, arbitrary: fc.array(reservedPath, { maxLength: 3 }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>('/workspace', [1], ['/']) },
      ),
      maxMounts: maxMountsOf(lowestMaxMounts),
    },
    { requiredKeys: [] },
  );
  // Now and then an unknown key. Nulls are left out: the API server drops those the CRD does not keep, and keeps the
  // others (the optional keys, nullable) for mountgate's webhook to refuse; mountpolicy.test.ts pins which are kept.
  return fc.tuple(spec, fc.integer({ min: 0, max: 11 })).map(([s, dice]): Record<string, unknown> => (dice === 0 ? { ...s, maxMount: 1 } : s));
}

/** Specs near the edge of every rule, as a client could send them. */
export const anySpec = specOf(pathString, pathString, -2);
/** Specs whose strings and numbers break no CEL rule: only structure (types, keys, lengths, list sizes) can be wrong. */
export const structuralSpec = specOf(goodPathString, goodPathString.filter((p) => !/[*{}]/.test(p)), 0);

/** The generated row sets both comparisons use: the same rows on every run (fixed seeds). */
export const ROW_SETS = [
  {
    name: 'specs that break only structure (types, unknown keys, missing pathPrefix, lengths, list sizes)',
    arbitrary: structuralSpec,
    count: 400,
    seed: 1212,
    /** Every rule these rows can break is structural: ajv alone must give mountgate's verdict. */
    structuralOnly: true,
  },
  { name: 'specs near the edge of every rule', arbitrary: anySpec, count: 600, seed: 1213, structuralOnly: false },
] as const;

export interface SpecRow {
  readonly name: string;
  readonly spec: Record<string, unknown>;
}

/** The same rows on every run (a fixed seed), named by their JSON. */
export function specRows(arbitrary: fc.Arbitrary<Record<string, unknown>>, count: number, seed: number): SpecRow[] {
  return fc.sample(arbitrary, { numRuns: count, seed }).map((spec) => ({ name: short(JSON.stringify(spec)), spec }));
}

function short(text: string): string {
  return text.length <= 160 ? text : `${text.slice(0, 120)}... (${text.length} characters)`;
}

/** mountgate's own verdict on a spec: the problems compileMountPolicy finds (none: valid). */
export function mountgateProblems(spec: unknown): readonly string[] {
  return compileMountPolicy({ metadata: { namespace: 'team-a', name: 'generated', generation: 1, uid: 'u' }, spec }).problems;
}

/**
 * What the API server itself refuses of what mountgate refuses: all but unknown keys, which the CRD
 * keeps (x-kubernetes-preserve-unknown-fields) for mountgate's webhook to refuse by name.
 */
export function schemaProblems(spec: unknown): readonly string[] {
  return mountgateProblems(spec).filter((problem) => !problem.includes(' has an unknown key: '));
}

/** Why the CRD refuses a spec that mountgate's schema has no rule against: its extra bounds. */
export function crdOnlyRule(spec: Record<string, unknown>): string | undefined {
  const entries = spec['allowedHostPaths'];
  if (Array.isArray(entries)) {
    if (entries.length > CRD_MAX_ITEMS) return `more than ${CRD_MAX_ITEMS} allowedHostPaths`;
    // The list is keyed by pathPrefix (x-kubernetes-list-type: map).
    const keys = entries.map((e: unknown) => (typeof e === 'object' && e !== null && 'pathPrefix' in e ? e.pathPrefix : undefined)).filter((k) => k !== undefined);
    if (new Set(keys).size !== keys.length) return 'a pathPrefix listed twice';
  }
  const reserved = spec['reservedMountPaths'];
  if (Array.isArray(reserved) && reserved.length > CRD_MAX_ITEMS) return `more than ${CRD_MAX_ITEMS} reservedMountPaths`;
  const max = spec['maxMounts'];
  if (typeof max === 'number' && max > CRD_MAX_MOUNTS) return `maxMounts above ${CRD_MAX_MOUNTS}`;
  return undefined;
}
