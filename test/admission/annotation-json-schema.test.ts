/**
 * schema/annotation.schema.json, the JSON Schema clients in any language validate the annotation
 * against, accepts exactly what mountgate's annotation parser reads as well-formed: the same named
 * rows and a property-based corpus of well-formed values and near misses go to both. A string with a
 * lone UTF-16 surrogate is well-formed to both (JSON Schema cannot say otherwise); canonicalPath
 * refuses it as a path, and the Python kit before it is sent.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_ANNOTATION_ENTRIES, annotationEntrySchema, parseAnnotation } from '../../src/admission/annotation.js';
import { FIELD } from '../helpers/pods.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCHEMA_FILE = 'schema/annotation.schema.json';
const schemaDocument: unknown = JSON.parse(readFileSync(path.join(REPO_ROOT, SCHEMA_FILE), 'utf8'));
// strictTypes and strictTuples: ajv refuses to compile a schema with ambiguous types.
const validateSchema = new Ajv2020({ strictTypes: true, strictTuples: true }).compile(schemaDocument as object);

/** The two answers for one annotation value, as written in the Pod. */
function verdicts(text: string): { readonly mountgate: boolean; readonly schema: boolean } {
  return { mountgate: parseAnnotation(text, FIELD).violations.length === 0, schema: validateSchema(JSON.parse(text)) };
}

const GOOD = { hostPath: '/srv/sandbox/a', mountPath: '/data' };
const many = (count: number): string => JSON.stringify(Array.from({ length: count }, () => GOOD));

/** [name, annotation text, well-formed?] */
const rows: Array<readonly [string, string, boolean]> = [
  ['an empty list', '[]', true],
  ['the mountgate spelling', '[{"hostPath":"/a","mountPath":"/b","readOnly":false}]', true],
  ['the deer-flow spelling', '[{"host_path":"/a","container_path":"/b","read_only":true}]', true],
  ['spellings mixed across fields', '[{"host_path":"/a","mountPath":"/b","readOnly":true}]', true],
  ['no readOnly at all', '[{"hostPath":"/a","mountPath":"/b"}]', true],
  ['empty and relative paths (the path rules judge them, not the shape)', '[{"hostPath":"","mountPath":"rel/../x"}]', true],
  ['a path longer than 4096 UTF-16 code units (a path rule)', JSON.stringify([{ hostPath: `/${'a'.repeat(5000)}`, mountPath: '/b' }]), true],
  // JSON Schema cannot require well-formed Unicode; neither does the parser: the path rules refuse a lone surrogate.
  ['a lone surrogate in hostPath (a path rule)', '[{"hostPath":"/srv/sandbox/\\ud800","mountPath":"/b"}]', true],
  ['two identical entries (merged later, with a warning)', '[{"hostPath":"/a","mountPath":"/b"},{"hostPath":"/a","mountPath":"/b"}]', true],
  [`exactly ${MAX_ANNOTATION_ENTRIES} entries`, many(MAX_ANNOTATION_ENTRIES), true],
  [`${MAX_ANNOTATION_ENTRIES + 1} entries`, many(MAX_ANNOTATION_ENTRIES + 1), false],
  ['an object instead of a list', '{"hostPath":"/a","mountPath":"/b"}', false],
  ['a string', '"[]"', false],
  ['null', 'null', false],
  ['a list of strings', '["/srv/a:/b"]', false],
  ['null and nested lists', '[null,[]]', false],
  ['a list nested in the list', '[[{"hostPath":"/a","mountPath":"/b"}]]', false],
  ['an unknown key', '[{"hostPath":"/a","mountPath":"/b","subPath":"x"}]', false],
  ['a key differing only in case', '[{"hostpath":"/a","mountPath":"/b"}]', false],
  ['a prototype-pollution key', '[{"hostPath":"/a","mountPath":"/b","__proto__":{"readOnly":false}}]', false],
  ['a constructor key', '[{"hostPath":"/a","mountPath":"/b","constructor":"x"}]', false],
  ['readOnly given as the string "true"', '[{"hostPath":"/a","mountPath":"/b","readOnly":"true"}]', false],
  ['read_only given as a number', '[{"host_path":"/a","container_path":"/b","read_only":1}]', false],
  ['readOnly given as null', '[{"hostPath":"/a","mountPath":"/b","readOnly":null}]', false],
  ['a hostPath that is a number', '[{"hostPath":7,"mountPath":"/b"}]', false],
  ['a mountPath that is null', '[{"hostPath":"/a","mountPath":null}]', false],
  ['a hostPath that is a list of segments', '[{"hostPath":["srv","a"],"mountPath":"/b"}]', false],
  ['a missing hostPath', '[{"mountPath":"/b"}]', false],
  ['a missing container_path', '[{"host_path":"/a"}]', false],
  ['an empty object', '[{}]', false],
  ['both spellings of hostPath, same value', '[{"hostPath":"/a","host_path":"/a","mountPath":"/b"}]', false],
  ['both spellings of mountPath', '[{"hostPath":"/a","mountPath":"/b","container_path":"/c"}]', false],
  ['both spellings of readOnly', '[{"hostPath":"/a","mountPath":"/b","readOnly":true,"read_only":true}]', false],
  ['one good entry and one bad one', '[{"hostPath":"/a","mountPath":"/b"},{"hostPath":"/a"}]', false],
];

// ---- the property-based corpus ------------------------------------------------------------------

const FIELDS = [
  { canonical: 'hostPath', alias: 'host_path', type: 'string', required: true },
  { canonical: 'mountPath', alias: 'container_path', type: 'string', required: true },
  { canonical: 'readOnly', alias: 'read_only', type: 'boolean', required: false },
] as const;

/** What a generated value contains, so that the corpus can show it covered every near miss. */
type Feature =
  | 'well-formed entry'
  | 'field missing'
  | 'both spellings'
  | 'wrong type'
  | 'extra key'
  | 'entry not an object'
  | 'not an array'
  | 'nested junk'
  | 'near the entry limit';

interface Sample {
  /** The annotation value as a Pod carries it. */
  readonly text: string;
  readonly features: readonly Feature[];
}

const pathLike = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('/srv/sandbox/a', '/data', '/mnt/skills', '/', '', 'relative', '/a/../b', '/a//b', '/a\u0000b') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const json = fc.jsonValue({ maxDepth: 2 });
/** Values of the wrong type for a field of `type`; the near misses first (`"true"`, 1, null, a list of segments). */
const wrongValue = (type: 'string' | 'boolean'): fc.Arbitrary<unknown> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary:
        type === 'boolean'
          ? fc.constantFrom<unknown>('true', 'false', '', 0, 1, null, [], {}, [true])
          : fc.constantFrom<unknown>(null, 7, true, false, [], {}, ['srv', 'a'], { path: '/a' }),
    },
    { weight: 1, arbitrary: json.filter((value) => typeof value !== type) },
  );
const rightValue = (type: 'string' | 'boolean'): fc.Arbitrary<unknown> => (type === 'string' ? pathLike : fc.boolean());

/** How one field appears in an entry. */
const presence = (required: boolean): fc.Arbitrary<'none' | 'canonical' | 'alias' | 'both'> =>
  fc.oneof(
    { weight: 40, arbitrary: fc.constantFrom('canonical' as const, 'alias' as const) },
    { weight: required ? 1 : 20, arbitrary: fc.constant('none' as const) },
    { weight: 1, arbitrary: fc.constant('both' as const) },
  );
const extraKey = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('subPath', 'HostPath', 'hostpath', 'mount_path', 'readonly', 'hostPath ', ' hostPath', 'host-path', '__proto__', 'constructor', 'toString', 'type', ''),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** One entry as JSON text, so that keys such as __proto__ arrive as JSON.parse makes them: own keys. */
const objectEntry: fc.Arbitrary<Sample> = fc
  .record({
    fields: fc.tuple(
      ...FIELDS.map((field) =>
        fc.record({
          presence: presence(field.required),
          // one value per spelling; each mostly of the right type
          values: fc.tuple(
            ...[0, 1].map(() => fc.oneof({ weight: 40, arbitrary: rightValue(field.type).map((value) => ({ value, wrong: false })) }, { weight: 1, arbitrary: wrongValue(field.type).map((value) => ({ value, wrong: true })) })),
          ),
        }),
      ),
    ),
    extras: fc.oneof({ weight: 30, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(extraKey, json), { minLength: 1, maxLength: 2 }) }),
    order: fc.boolean(),
  })
  .map(({ fields, extras, order }) => {
    const pairs: Array<readonly [string, unknown]> = [];
    const features = new Set<Feature>();
    FIELDS.forEach((field, index) => {
      const chosen = fields[index];
      if (chosen === undefined) return;
      const keys = { none: [], canonical: [field.canonical], alias: [field.alias], both: [field.canonical, field.alias] }[chosen.presence];
      if (chosen.presence === 'none' && field.required) features.add('field missing');
      if (chosen.presence === 'both') features.add('both spellings');
      keys.forEach((key, spelling) => {
        const picked = chosen.values[spelling];
        if (picked === undefined) return;
        if (picked.wrong) features.add('wrong type');
        pairs.push([key, picked.value]);
      });
    });
    for (const extra of extras) pairs.push(extra);
    if (extras.length > 0) features.add('extra key');
    if (order) pairs.reverse();
    if (features.size === 0) features.add('well-formed entry');
    return { text: `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`, features: [...features] };
  });

const notAnObject: fc.Arbitrary<Sample> = fc
  .oneof(json.filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)), fc.constant([GOOD]))
  .map((value) => ({ text: JSON.stringify(value), features: ['entry not an object'] }));

const entry = fc.oneof({ weight: 40, arbitrary: objectEntry }, { weight: 1, arbitrary: notAnObject });

const list = (entries: fc.Arbitrary<readonly Sample[]>, extra: readonly Feature[] = []): fc.Arbitrary<Sample> =>
  entries.map((items) => ({ text: `[${items.map((item) => item.text).join(',')}]`, features: [...new Set([...items.flatMap((item) => item.features), ...extra])] }));

/** fast-check prints a counterexample in full; a value near the entry limit is 40 KB. */
const shortly = (sample: Sample): Sample =>
  Object.assign(sample, { [fc.toStringMethod]: () => (sample.text.length > 300 ? `${sample.text.slice(0, 300)}... (${sample.text.length} characters)` : sample.text) });

const annotationValue: fc.Arbitrary<Sample> = fc.oneof(
  { weight: 20, arbitrary: list(fc.array(entry, { maxLength: 4 })) },
  // not an array: junk, or a well-formed entry (or list) wrapped in an object
  {
    weight: 2,
    arbitrary: fc
      .oneof(json.filter((value) => !Array.isArray(value)), objectEntry.map((sample) => JSON.parse(sample.text) as unknown), fc.constant({ mounts: [GOOD] }))
      .map((value): Sample => ({ text: JSON.stringify(value), features: ['not an array'] })),
  },
  // nested junk: any JSON inside the list, lists of lists
  { weight: 2, arbitrary: fc.array(fc.jsonValue({ maxDepth: 4 }), { minLength: 1, maxLength: 3 }).map((values): Sample => ({ text: JSON.stringify(values), features: ['nested junk'] })) },
  // around the limit on entries, with or without one near miss among them
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: MAX_ANNOTATION_ENTRIES - 1, max: MAX_ANNOTATION_ENTRIES + 1 }), fc.option(entry, { nil: undefined }))
      .map(([count, odd]): Sample => {
        const good = JSON.stringify(GOOD);
        const items = Array.from({ length: count }, () => good);
        if (odd !== undefined) items[count - 1] = odd.text;
        return { text: `[${items.join(',')}]`, features: ['near the entry limit', ...(odd?.features ?? [])] };
      }),
  },
).map(shortly);

const CORPUS_SIZE = 6000;

describe('schema/annotation.schema.json', () => {
  it('is a valid draft 2020-12 schema that ajv compiles in strict mode', () => {
    expect(schemaDocument).to.have.property('$schema', 'https://json-schema.org/draft/2020-12/schema');
    expect(validateSchema).to.be.a('function');
  });

  it("names the yup schema's fields and mountgate's entry limit", () => {
    const mount = (schemaDocument as { $defs: { mount: { properties: Record<string, unknown> } } }).$defs.mount;
    expect(Object.keys(mount.properties)).to.have.members(Object.keys(annotationEntrySchema.describe().fields));
    expect(schemaDocument).to.have.property('maxItems', MAX_ANNOTATION_ENTRIES);
  });

  for (const [name, text, wellFormed] of rows) {
    it(`${wellFormed ? 'accepts' : 'refuses'} ${name}, as mountgate does`, () => {
      expect(verdicts(text)).to.deep.equal({ mountgate: wellFormed, schema: wellFormed });
    });
  }

  it(`agrees with mountgate's parser on ${CORPUS_SIZE} generated values, well-formed and near misses`, () => {
    const seen = new Map<Feature, { accepted: number; refused: number }>();
    let accepted = 0;
    fc.assert(
      fc.property(annotationValue, (sample) => {
        const answer = verdicts(sample.text);
        expect(answer.schema, 'the schema and mountgate disagree').to.equal(answer.mountgate);
        if (answer.mountgate) accepted++;
        for (const feature of sample.features) {
          const count = seen.get(feature) ?? { accepted: 0, refused: 0 };
          if (answer.mountgate) count.accepted++;
          else count.refused++;
          seen.set(feature, count);
        }
      }),
      { numRuns: CORPUS_SIZE },
    );
    // The corpus is worth something only if both answers are common and every near miss came up.
    expect(accepted, 'well-formed values in the corpus').to.be.within(CORPUS_SIZE * 0.25, CORPUS_SIZE * 0.75);
    const nearMisses: Feature[] = ['field missing', 'both spellings', 'wrong type', 'extra key', 'entry not an object', 'not an array', 'nested junk'];
    for (const feature of nearMisses) expect(seen.get(feature)?.refused ?? 0, feature).to.be.at.least(100);
    expect(seen.get('well-formed entry')?.accepted ?? 0).to.be.at.least(1500);
    expect(seen.get('near the entry limit')?.accepted ?? 0).to.be.at.least(40);
    expect(seen.get('near the entry limit')?.refused ?? 0).to.be.at.least(40);
  });
});

/** The file paths in `npm pack --json` output: [{ files: [{ path }] }]. */
function packedPaths(packed: unknown): string[] {
  const paths: string[] = [];
  for (const pack of Array.isArray(packed) ? (packed as unknown[]) : []) {
    const files: unknown = typeof pack === 'object' && pack !== null && 'files' in pack ? pack.files : [];
    for (const file of Array.isArray(files) ? (files as unknown[]) : []) {
      if (typeof file === 'object' && file !== null && 'path' in file && typeof file.path === 'string') paths.push(file.path);
    }
  }
  return paths;
}

describe('the npm package', () => {
  it(`ships ${SCHEMA_FILE}`, async function () {
    this.timeout(60_000);
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT });
    expect(packedPaths(JSON.parse(stdout))).to.include(SCHEMA_FILE);
  });
});
