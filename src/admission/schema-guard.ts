/**
 * A fast "would yup accept this?" for the AdmissionReview envelope, derived
 * from the schema's own description so the two cannot drift apart.
 *
 * yup spends tens of microseconds on every envelope; this guard spends well
 * under one. It is one-sided: when it says yes, strict yup validation accepts
 * the value and returns it unchanged; when it says no, the caller asks yup,
 * which then gives the answer and every error message. So the guard only ever
 * decides how fast the answer comes, never what it is.
 *
 * It understands a small subset of yup, and returns undefined for any schema
 * that uses more (then callers must always use yup):
 * - object: a plain object (what yup's isObject accepts), each described field
 *   checked; other keys allowed, or refused when the schema says noUnknown (no
 *   other object tests);
 * - string: typeof "string"; the "required" test means non-empty;
 * - boolean: typeof "boolean";
 * - array: Array.isArray, every element checked against the inner type;
 * - mixed without tests: anything;
 * - optional / nullable flags, and oneOf lists of primitives on string and boolean.
 * Each check is at least as strict as yup's (String and Boolean wrapper
 * objects, which yup unwraps, are left to yup).
 */
import { ValidationError } from 'yup';
import type {
  AnyObject,
  ObjectSchema,
  SchemaDescription,
  SchemaFieldDescription,
  SchemaInnerTypeDescription,
  SchemaObjectDescription,
} from 'yup';

type Check = (value: unknown) => boolean;

export type StrictResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ValidationError };

/**
 * Strict yup validation with the guard in front: the guard's yes is yup's yes,
 * and anything else is yup's to answer, with every error message.
 */
export function strictValidator<S extends ObjectSchema<AnyObject>>(schema: S): (value: unknown) => StrictResult<Validated<S>> {
  const guard = strictSchemaGuard(schema);
  return (value) => {
    if (guard?.(value)) return { ok: true, value };
    try {
      return { ok: true, value: schema.validateSync(value, { strict: true, abortEarly: false }) };
    } catch (error) {
      if (error instanceof ValidationError) return { ok: false, error };
      throw error;
    }
  };
}

/** What strict validation by `schema` returns. */
export type Validated<S extends ObjectSchema<AnyObject>> = S['__outputType'];

export function strictSchemaGuard<S extends ObjectSchema<AnyObject>>(schema: S): ((value: unknown) => value is Validated<S>) | undefined {
  const check = compile(schema.describe());
  return check === undefined ? undefined : (value: unknown): value is Validated<S> => check(value);
}

function compile(field: SchemaFieldDescription): Check | undefined {
  // Lazy schemas and references describe themselves without a type we can check.
  if (!('type' in field) || !('tests' in field)) return undefined;
  const description: SchemaDescription = field;
  if (description.notOneOf.length > 0) return undefined;
  const present = presentCheck(description);
  if (present === undefined) return undefined;
  const { optional, nullable } = description;
  return (value) => {
    if (value === undefined) return optional;
    if (value === null) return nullable;
    return present(value);
  };
}

/** The check for a value that is neither undefined nor null. */
function presentCheck(description: SchemaDescription): Check | undefined {
  const testNames = description.tests.map((test) => test.name);
  switch (description.type) {
    case 'string': {
      if (testNames.some((name) => name !== 'required')) return undefined;
      const allowed = allowedValues(description);
      if (allowed === null) return undefined;
      const nonEmpty = testNames.includes('required');
      return (value) => typeof value === 'string' && (!nonEmpty || value.length > 0) && (allowed === undefined || allowed.has(value));
    }
    case 'boolean': {
      if (testNames.length > 0) return undefined;
      const allowed = allowedValues(description);
      if (allowed === null) return undefined;
      return (value) => typeof value === 'boolean' && (allowed === undefined || allowed.has(value));
    }
    case 'mixed':
      return testNames.length === 0 && description.oneOf.length === 0 ? () => true : undefined;
    case 'array':
      return arrayCheck(description);
    case 'object':
      return 'fields' in description ? objectCheck(description as SchemaObjectDescription) : undefined;
    default:
      return undefined;
  }
}

/** undefined when any value will do; null when the list holds something other than primitives. */
function allowedValues(description: SchemaDescription): ReadonlySet<unknown> | undefined | null {
  if (description.oneOf.length === 0) return undefined;
  const primitive = (value: unknown): boolean => ['string', 'boolean', 'number'].includes(typeof value);
  return description.oneOf.every(primitive) ? new Set(description.oneOf) : null;
}

function arrayCheck(description: SchemaInnerTypeDescription): Check | undefined {
  if (description.tests.length > 0 || description.oneOf.length > 0) return undefined;
  const inner = description.innerType;
  // A list of inner types is a tuple's, which this guard does not know.
  if (Array.isArray(inner)) return undefined;
  const element = inner === undefined ? () => true : compile(inner);
  if (element === undefined) return undefined;
  return (value) => {
    if (!Array.isArray(value)) return false;
    for (let index = 0; index < value.length; index++) {
      if (!element(value[index])) return false;
    }
    return true;
  };
}

function objectCheck(description: SchemaObjectDescription): Check | undefined {
  const testNames = description.tests.map((test) => test.name);
  if (testNames.some((name) => name !== 'noUnknown') || description.oneOf.length > 0) return undefined;
  const onlyKnownKeys = testNames.includes('noUnknown');
  const fields = description.fields;
  const known: ReadonlySet<string> = new Set(Object.keys(fields));
  const checks: Array<readonly [string, Check]> = [];
  for (const [key, field] of Object.entries(fields)) {
    const check = compile(field);
    if (check === undefined) return undefined;
    checks.push([key, check]);
  }
  return (value) => {
    // yup's own object test, exactly: Object.prototype.toString says "[object Object]".
    if (Object.prototype.toString.call(value) !== '[object Object]') return false;
    const record = value as Record<string, unknown>;
    if (onlyKnownKeys) {
      for (const key of Object.keys(record)) if (!known.has(key)) return false;
    }
    for (const [key, check] of checks) {
      if (!check(record[key])) return false;
    }
    return true;
  };
}
