/**
 * The fast envelope guard (src/admission/schema-guard.ts) may only ever say yes
 * where strict yup validation says yes, and on JSON (all the server ever
 * parses) it must say exactly what yup says. Checked over well-formed reviews
 * with one field broken at a time, and over arbitrary values.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { array, boolean, mixed, number, object, string, ValidationError, type AnyObject, type ObjectSchema } from 'yup';
import { admissionReviewSchema, readAdmissionReview } from '../../src/admission/review.js';
import { annotationEntrySchema } from '../../src/admission/annotation.js';
import { strictSchemaGuard } from '../../src/admission/schema-guard.js';
import { review, sandboxPod } from '../helpers/pods.js';

const RUNS = Number(process.env.MOUNTGATE_PROPERTY_RUNS ?? 300);

function yupAccepts(schema: ObjectSchema<AnyObject>, value: unknown): boolean {
  try {
    schema.validateSync(value, { strict: true, abortEarly: false });
    return true;
  } catch (error) {
    if (error instanceof ValidationError) return false;
    throw error;
  }
}

const guard = strictSchemaGuard(admissionReviewSchema);

/** Every path to a field the envelope schema knows, and a few it does not. */
const PATHS: readonly (readonly string[])[] = [
  [], ['apiVersion'], ['kind'], ['request'], ['request', 'uid'], ['request', 'kind'], ['request', 'kind', 'group'], ['request', 'kind', 'version'],
  ['request', 'kind', 'kind'], ['request', 'resource'], ['request', 'resource', 'group'], ['request', 'resource', 'version'],
  ['request', 'resource', 'resource'], ['request', 'subResource'], ['request', 'operation'], ['request', 'name'], ['request', 'namespace'],
  ['request', 'userInfo'], ['request', 'userInfo', 'username'], ['request', 'userInfo', 'uid'], ['request', 'userInfo', 'groups'],
  ['request', 'userInfo', 'groups', '0'], ['request', 'object'], ['request', 'oldObject'], ['request', 'dryRun'], ['request', 'options'], ['extra'],
];

/** Values that sit on yup's edges: absent, null, empty, wrong type, wrong constant. */
const edgeValue = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, '', 'x', 'admission.k8s.io/v1', 'AdmissionReview', 'admission.k8s.io/v1beta1', true, false, 0, 1, [], [''], [1], {}, { group: '' }),
  fc.jsonValue(),
);

/** A review as the server parses it (JSON), with one field replaced or deleted. */
const brokenReview = fc
  .tuple(fc.constantFrom(...PATHS), edgeValue, fc.boolean(), fc.boolean())
  .map(([path, value, remove, withGroups]) => {
    const body = review(sandboxPod({ mounts: [] }), { dryRun: withGroups }) as Record<string, unknown>;
    if (path.length === 0) return value;
    let parent: Record<string, unknown> = body;
    for (const key of path.slice(0, -1)) {
      const next = parent[key];
      if (typeof next !== 'object' || next === null) return body;
      parent = next as Record<string, unknown>;
    }
    const last = path[path.length - 1] ?? '';
    if (remove) delete parent[last];
    else parent[last] = value;
    // Through JSON, as the server sees it: undefined values vanish.
    return JSON.parse(JSON.stringify(body) ?? 'null') as unknown;
  });

describe('admission/schema-guard: the fast envelope check', () => {
  it('derives a guard for the AdmissionReview schema', () => {
    expect(guard).to.be.a('function');
  });

  it('accepts the reviews the API server sends', () => {
    const body = review(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/data' }] }), { subResource: 'status', dryRun: false });
    expect(guard?.(body)).to.equal(true);
    expect(guard?.({ ...body, request: { ...(body.request as object), object: null, oldObject: { any: 'thing' } } })).to.equal(true);
  });

  it('answers exactly as yup does on JSON reviews with one field broken', () => {
    fc.assert(
      fc.property(brokenReview, (body) => {
        expect(guard?.(body)).to.equal(yupAccepts(admissionReviewSchema, body));
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('never accepts what yup refuses, whatever the value', () => {
    // Any value at all, also in place of one field of a well-formed review: arbitrary values alone are never
    // reviews, and the guard would say no to every one of them.
    const anything = fc.anything({ withBoxedValues: true, withNullPrototype: true, withMap: true, withSet: true });
    const anywhere = fc.oneof(
      anything,
      fc.tuple(fc.constantFrom(...PATHS.filter((path) => path.length > 0)), anything).map(([path, value]) => {
        const body = review(sandboxPod({ mounts: [] })) as Record<string, unknown>;
        let parent: Record<string, unknown> = body;
        for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
        parent[path[path.length - 1] ?? ''] = value;
        return body as unknown;
      }),
    );
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(anywhere, (value) => {
        if (guard?.(value)) {
          accepted++;
          expect(yupAccepts(admissionReviewSchema, value)).to.equal(true);
        } else refused++;
      }),
      { numRuns: RUNS * 5 },
    );
    // Not vacuous: the guard says yes, and no, often.
    expect(accepted, 'values the guard accepts').to.be.above(RUNS / 6);
    expect(refused, 'values the guard refuses').to.be.above(RUNS);
  });

  it('leaves wrapper objects to yup, which unwraps them', () => {
    // eslint-disable-next-line no-new-wrappers
    const body = { ...review(sandboxPod()), apiVersion: new String('admission.k8s.io/v1') };
    expect(guard?.(body)).to.equal(false);
    expect(readAdmissionReview(body).ok).to.equal(yupAccepts(admissionReviewSchema, body));
  });

  it('returns the same request object yup would', () => {
    const body = review(sandboxPod());
    const read = readAdmissionReview(body);
    expect(read.ok && read.request).to.equal(body.request);
    expect(admissionReviewSchema.validateSync(body, { strict: true }).request).to.equal(body.request);
  });

  it('gives up (no guard) on schemas that check more than it knows', () => {
    const unsupported: ObjectSchema<AnyObject>[] = [
      object({ a: string() }).test('custom', 'no', () => true),
      object({ a: string().matches(/x/) }),
      object({ a: string().test('custom', 'no', () => true) }),
      object({ a: number() }),
      object({ a: string().notOneOf(['x']) }),
      object({ a: mixed().oneOf([1]) }),
      object({ a: array(string().min(1)) }),
      object({ a: boolean().isTrue() }),
    ];
    for (const schema of unsupported) expect(strictSchemaGuard(schema), JSON.stringify(schema.describe())).to.equal(undefined);
  });

  describe('the annotation entry (noUnknown)', () => {
    const entryGuard = strictSchemaGuard(annotationEntrySchema);
    const KEYS = ['hostPath', 'host_path', 'mountPath', 'container_path', 'readOnly', 'read_only', '__proto__', 'constructor', 'subPath'];
    const entry = fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(fc.string({ maxLength: 3 }), fc.boolean(), fc.integer(), fc.constant(null)), { maxKeys: 4 });

    it('derives a guard for the annotation entry schema', () => {
      expect(entryGuard).to.be.a('function');
    });

    it('answers exactly as yup does on JSON entries, unknown keys included', () => {
      if (entryGuard === undefined) throw new Error('no guard');
      fc.assert(
        fc.property(entry.map((value) => JSON.parse(JSON.stringify(value)) as unknown), (value) => {
          expect(entryGuard(value)).to.equal(yupAccepts(annotationEntrySchema, value));
        }),
        { numRuns: RUNS },
      );
      expect(entryGuard(JSON.parse('{"hostPath":"/a","mountPath":"/b","__proto__":{}}'))).to.equal(false);
      expect(entryGuard({ hostPath: '/a', mountPath: '/b', readOnly: true })).to.equal(true);
    });
  });
});
