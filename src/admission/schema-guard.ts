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
 *
 * yup with abortEarly: false builds one error per bad array element (and walks
 * every element even with abortEarly: true), so a refused value whose arrays
 * hold more than MAX_EXPLAINED_ENTRIES entries is explained by its first
 * problem only: the guard finds where it is, and yup words it.
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
/** The yup path of the first field `value` fails at ("" for the value itself), or undefined when it passes. */
type Locate = (value: unknown, path: string) => string | undefined;
/** How many array entries yup would walk in `value`. */
type Count = (value: unknown) => number;

interface Node {
  readonly check: Check;
  readonly locate: Locate;
  readonly entries: Count;
}

/** Above this many array entries, a refused value is explained by its first problem only (see above). */
export const MAX_EXPLAINED_ENTRIES = 100;

export type StrictResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ValidationError };

/**
 * Strict yup validation with the guard in front: the guard's yes is yup's yes,
 * and anything else is yup's to answer, with every error message, or only the
 * first where the value's arrays are too long to explain entry by entry.
 */
export function strictValidator<S extends ObjectSchema<AnyObject>>(schema: S): (value: unknown) => StrictResult<Validated<S>> {
  const node = compile(schema.describe());
  const guard = node === undefined ? undefined : (value: unknown): value is Validated<S> => node.check(value);
  return (value) => {
    if (guard?.(value)) return { ok: true, value };
    try {
      const explainAll = node === undefined || node.entries(value) <= MAX_EXPLAINED_ENTRIES;
      return { ok: true, value: explainAll ? schema.validateSync(value, { strict: true, abortEarly: false }) : validateFirst(schema, node, value) };
    } catch (error) {
      if (error instanceof ValidationError) return { ok: false, error };
      throw error;
    }
  };
}

/** yup's error for the first field the guard refuses, or yup's value when yup accepts it after all. */
function validateFirst<S extends ObjectSchema<AnyObject>>(schema: S, node: Node, value: unknown): Validated<S> {
  const at = node.locate(value, '');
  // The guard refuses wrapper objects yup unwraps (never JSON); for those, and a root that is not an object (no
  // array to walk), yup itself stops at the first error.
  if (at !== undefined && at !== '') schema.validateSyncAt(at, value, { strict: true, abortEarly: true });
  return schema.validateSync(value, { strict: true, abortEarly: true });
}

/** What strict validation by `schema` returns. */
export type Validated<S extends ObjectSchema<AnyObject>> = S['__outputType'];

export function strictSchemaGuard<S extends ObjectSchema<AnyObject>>(schema: S): ((value: unknown) => value is Validated<S>) | undefined {
  const node = compile(schema.describe());
  return node === undefined ? undefined : (value: unknown): value is Validated<S> => node.check(value);
}

const noEntries: Count = () => 0;

function compile(field: SchemaFieldDescription): Node | undefined {
  // Lazy schemas and references describe themselves without a type we can check.
  if (!('type' in field) || !('tests' in field)) return undefined;
  const description: SchemaDescription = field;
  if (description.notOneOf.length > 0) return undefined;
  const present = presentNode(description);
  if (present === undefined) return undefined;
  const { optional, nullable } = description;
  const check: Check = (value) => {
    if (value === undefined) return optional;
    if (value === null) return nullable;
    return present.check(value);
  };
  return {
    check,
    locate: (value, path) => {
      if (value === undefined || value === null) return check(value) ? undefined : path;
      return present.locate(value, path);
    },
    entries: (value) => (value === undefined || value === null ? 0 : present.entries(value)),
  };
}

/** A node whose failure is its own: no inner field to point at, no entries. */
function leaf(check: Check): Node {
  return { check, locate: (value, path) => (check(value) ? undefined : path), entries: noEntries };
}

/** The node for a value that is neither undefined nor null. */
function presentNode(description: SchemaDescription): Node | undefined {
  const testNames = description.tests.map((test) => test.name);
  switch (description.type) {
    case 'string': {
      if (testNames.some((name) => name !== 'required')) return undefined;
      const allowed = allowedValues(description);
      if (allowed === null) return undefined;
      const nonEmpty = testNames.includes('required');
      return leaf((value) => typeof value === 'string' && (!nonEmpty || value.length > 0) && (allowed === undefined || allowed.has(value)));
    }
    case 'boolean': {
      if (testNames.length > 0) return undefined;
      const allowed = allowedValues(description);
      if (allowed === null) return undefined;
      return leaf((value) => typeof value === 'boolean' && (allowed === undefined || allowed.has(value)));
    }
    case 'mixed':
      return testNames.length === 0 && description.oneOf.length === 0 ? leaf(() => true) : undefined;
    case 'array':
      return arrayNode(description);
    case 'object':
      return 'fields' in description ? objectNode(description as SchemaObjectDescription) : undefined;
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

function arrayNode(description: SchemaInnerTypeDescription): Node | undefined {
  if (description.tests.length > 0 || description.oneOf.length > 0) return undefined;
  const inner = description.innerType;
  // A list of inner types is a tuple's, which this guard does not know.
  if (Array.isArray(inner)) return undefined;
  const element = inner === undefined ? leaf(() => true) : compile(inner);
  if (element === undefined) return undefined;
  return {
    check: (value) => {
      if (!Array.isArray(value)) return false;
      for (let index = 0; index < value.length; index++) {
        if (!element.check(value[index])) return false;
      }
      return true;
    },
    locate: (value, path) => {
      if (!Array.isArray(value)) return path;
      for (let index = 0; index < value.length; index++) {
        const at = element.locate(value[index], `${path}[${index}]`);
        if (at !== undefined) return at;
      }
      return undefined;
    },
    entries: (value) => {
      if (!Array.isArray(value)) return 0;
      let count = value.length;
      for (let index = 0; index < value.length; index++) count += element.entries(value[index]);
      return count;
    },
  };
}

function objectNode(description: SchemaObjectDescription): Node | undefined {
  const testNames = description.tests.map((test) => test.name);
  if (testNames.some((name) => name !== 'noUnknown') || description.oneOf.length > 0) return undefined;
  const onlyKnownKeys = testNames.includes('noUnknown');
  const fields = description.fields;
  const known: ReadonlySet<string> = new Set(Object.keys(fields));
  const nodes: Array<readonly [string, Node]> = [];
  for (const [key, field] of Object.entries(fields)) {
    const node = compile(field);
    if (node === undefined) return undefined;
    nodes.push([key, node]);
  }
  // yup's own object test, exactly: Object.prototype.toString says "[object Object]".
  const isObject = (value: unknown): value is Record<string, unknown> => Object.prototype.toString.call(value) === '[object Object]';
  const unknownKey = (record: Record<string, unknown>): boolean => onlyKnownKeys && Object.keys(record).some((key) => !known.has(key));
  return {
    check: (value) => {
      if (!isObject(value)) return false;
      if (onlyKnownKeys) {
        for (const key of Object.keys(value)) if (!known.has(key)) return false;
      }
      for (const [key, node] of nodes) {
        if (!node.check(value[key])) return false;
      }
      return true;
    },
    locate: (value, path) => {
      // yup reports an unknown key at the object itself.
      if (!isObject(value) || unknownKey(value)) return path;
      for (const [key, node] of nodes) {
        const at = node.locate(value[key], path === '' ? key : `${path}.${key}`);
        if (at !== undefined) return at;
      }
      return undefined;
    },
    entries: (value) => {
      if (!isObject(value)) return 0;
      let count = 0;
      for (const [key, node] of nodes) count += node.entries(value[key]);
      return count;
    },
  };
}
