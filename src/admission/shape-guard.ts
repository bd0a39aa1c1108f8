/**
 * A fast type guard derived from a yup object schema whose fields carry only
 * a primitive type. yup takes microseconds per object, which dominates a
 * decision; this guard answers "would yup accept it?" in nanoseconds for the
 * common, valid case, and yup still produces every error message.
 */
import type { AnyObject, ObjectSchema } from 'yup';

type Primitive = 'string' | 'boolean' | 'number';
const PRIMITIVES: ReadonlySet<string> = new Set<Primitive>(['string', 'boolean', 'number']);

/**
 * Returns a guard equivalent to strict validation by `schema`, or undefined
 * when the schema does more than check primitive types and unknown keys (then
 * only yup itself can answer, and callers must use it).
 */
export function typeOnlyGuard<T extends AnyObject>(
  schema: ObjectSchema<T>,
): ((value: unknown) => value is T) | undefined {
  const description = schema.describe();
  const objectTests = description.tests.map((test) => test.name);
  if (objectTests.length !== 1 || objectTests[0] !== 'noUnknown') return undefined;

  const types = new Map<string, Primitive>();
  for (const [key, field] of Object.entries(description.fields)) {
    if (!('tests' in field) || field.tests.length > 0 || !field.optional || field.nullable) return undefined;
    if (!PRIMITIVES.has(field.type) || field.oneOf.length > 0 || field.notOneOf.length > 0) return undefined;
    types.set(key, field.type as Primitive);
  }

  return (value: unknown): value is T => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return false;
    for (const key of Object.keys(value)) {
      const expected = types.get(key);
      const actual = typeof (value as Record<string, unknown>)[key];
      if (expected === undefined || (actual !== expected && actual !== 'undefined')) return false;
    }
    return true;
  };
}
