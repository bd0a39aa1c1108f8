/**
 * The annotation a client writes to ask for mounts: a JSON array of objects.
 * Both the mountgate spelling (hostPath, mountPath, readOnly) and the
 * deer-flow spelling (host_path, container_path, read_only) are accepted,
 * but never both for one field and never any other key.
 */
import { boolean, object, string, type InferType } from 'yup';
import { isRecord } from '../policy/json-object.js';
import { listedKeys, shownKey } from '../policy/problem-list.js';
import { violation, type Violation } from './violation.js';
import { strictValidator } from './schema-guard.js';

/** Beyond this many entries the annotation is refused before any entry is read. */
export const MAX_ANNOTATION_ENTRIES = 1000;
/**
 * After this many malformed entries the rest are not read: the Pod is denied
 * either way, and explaining each bad entry through yup costs a fraction of a
 * millisecond, enough for a 60 KiB annotation to block the server for a second.
 */
export const MAX_MALFORMED_ENTRIES = 10;

const text = () => string().strict().typeError('${path} must be a string');
const flag = () => boolean().strict().typeError('${path} must be a boolean (true or false)');

const FIELDS = [
  ['hostPath', 'host_path'],
  ['mountPath', 'container_path'],
  ['readOnly', 'read_only'],
] as const;

/** Each key an entry may give, in both spellings. */
const ENTRY_KEYS: readonly string[] = FIELDS.flat();

/** A client's key in a message: cut, and escaped as JSON, so that no quote or line break in it can pass for the message's own. */
const quotedKey = (key: string): string => JSON.stringify(shownKey(key));

/** An entry as the client wrote it, in either spelling. */
export const annotationEntrySchema = object({
  hostPath: text(),
  host_path: text(),
  mountPath: text(),
  container_path: text(),
  readOnly: flag(),
  read_only: flag(),
})
  .noUnknown(true, ({ value }: { value: object }) => {
    const unknown = Object.keys(value).filter((key) => !ENTRY_KEYS.includes(key));
    return `unknown key ${listedKeys(unknown, quotedKey)} (allowed: hostPath or host_path, mountPath or container_path, readOnly or read_only)`;
  })
  .typeError('must be an object with hostPath and mountPath')
  .strict();

/** An entry in the one spelling the rest of mountgate speaks. */
export const mountRequestSchema = object({
  hostPath: string().required(),
  mountPath: string().required(),
  readOnly: boolean().optional(),
});

export type AnnotationEntry = InferType<typeof annotationEntrySchema>;
const validateEntry = strictValidator(annotationEntrySchema);
export type MountRequest = InferType<typeof mountRequestSchema>;

/** A request with where it came from, so later rules can name the entry and field as written. */
export interface LocatedRequest {
  readonly index: number;
  readonly request: MountRequest;
  /** The key the client used for each field, e.g. "container_path". */
  readonly keys: { readonly hostPath: string; readonly mountPath: string; readonly readOnly: string };
}

export interface ParsedAnnotation {
  readonly requests: readonly LocatedRequest[];
  readonly violations: readonly Violation[];
}

/** `field` is where the annotation lives, e.g. `metadata.annotations[mountgate.io/mounts]`. */
export function parseAnnotation(value: string, field: string): ParsedAnnotation {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { requests: [], violations: [violation('malformed-annotation', field, `is not valid JSON (${reason})`)] };
  }
  if (!Array.isArray(raw)) {
    return { requests: [], violations: [violation('malformed-annotation', field, 'must be a JSON array of mounts')] };
  }
  if (raw.length > MAX_ANNOTATION_ENTRIES) {
    return {
      requests: [],
      violations: [violation('malformed-annotation', field, `has ${raw.length} entries, more than the ${MAX_ANNOTATION_ENTRIES} mountgate reads`)],
    };
  }

  const repeated = mayRepeatKeys(value, raw) ? repeatedKeys(value) : NO_REPEATED_KEYS;
  const requests: LocatedRequest[] = [];
  const violations: Violation[] = [];
  let malformed = 0;
  for (let index = 0; index < raw.length; index++) {
    if (malformed === MAX_MALFORMED_ENTRIES) {
      violations.push(violation('malformed-annotation', field, `entries [${index}] to [${raw.length - 1}] were not read (mountgate stops after ${MAX_MALFORMED_ENTRIES} malformed entries)`));
      break;
    }
    const item: unknown = raw[index];
    const result = readEntry(item, `${field}[${index}]`, repeated.get(index));
    if ('violations' in result) {
      violations.push(...result.violations);
      malformed++;
    } else {
      // Spelled out rather than spread: V8 takes a slow path for spreads mixed with other keys.
      requests.push({ index, request: result.request, keys: result.keys });
    }
  }
  return { requests, violations };
}

function readEntry(
  item: unknown,
  entryField: string,
  repeated: ReadonlySet<string> | undefined,
): Omit<LocatedRequest, 'index'> | { violations: Violation[] } {
  // yup's object type lets arrays through, and null needs its own words.
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { violations: [violation('malformed-annotation', entryField, 'must be an object with hostPath and mountPath')] };
  }
  const violations: Violation[] = [];
  const keys: Record<(typeof FIELDS)[number][0], string> = { hostPath: 'hostPath', mountPath: 'mountPath', readOnly: 'readOnly' };
  for (const [canonical, alias] of FIELDS) {
    const hasCanonical = Object.hasOwn(item, canonical);
    const hasAlias = Object.hasOwn(item, alias);
    if (hasCanonical && hasAlias) violations.push(violation('malformed-annotation', entryField, `gives both ${canonical} and ${alias}; use one`));
    else if (hasAlias) keys[canonical] = alias;
  }
  if (repeated !== undefined) {
    for (const key of ENTRY_KEYS) {
      if (repeated.has(key)) violations.push(violation('malformed-annotation', entryField, `gives ${key} more than once; use one`));
    }
  }

  const entry = validEntry(item, entryField, violations);
  if (entry === undefined) return { violations };
  const hostPath = entry.hostPath ?? entry.host_path;
  const mountPath = entry.mountPath ?? entry.container_path;
  if (hostPath === undefined) violations.push(violation('malformed-annotation', `${entryField}.${keys.hostPath}`, 'is required'));
  if (mountPath === undefined) violations.push(violation('malformed-annotation', `${entryField}.${keys.mountPath}`, 'is required'));
  if (violations.length > 0 || hostPath === undefined || mountPath === undefined) return { violations };

  const readOnly = entry.readOnly ?? entry.read_only;
  const request: MountRequest = readOnly === undefined ? { hostPath, mountPath } : { hostPath, mountPath, readOnly };
  return { request, keys };
}

/** The entry if yup accepts it; otherwise its complaints are added to `violations`. */
function validEntry(item: object, entryField: string, violations: Violation[]): AnnotationEntry | undefined {
  const checked = validateEntry(item);
  if (checked.ok) return checked.value;
  for (const inner of checked.error.inner) {
    violations.push(inner.path ? violation('malformed-annotation', `${entryField}.${inner.path}`, stripPath(inner.message, inner.path)) : violation('malformed-annotation', entryField, inner.message));
  }
  return undefined;
}

/** yup prefixes messages with the path; the violation carries the path already. */
function stripPath(message: string, path: string): string {
  return message.startsWith(`${path} `) ? message.slice(path.length + 1) : message;
}

const NO_REPEATED_KEYS: ReadonlyMap<number, ReadonlySet<string>> = new Map();

/**
 * False only when no object in `parsed`, the parse of `text`, had a key given twice. Each string of the text
 * is a key or a string value in the parse, but for the key and strings of an entry given again (JSON.parse
 * keeps only the last); each is written between two quotes, and an escaped quote only adds one more. So the
 * text holds exactly twice as many quotes as the parse holds strings only if no key was given twice; any other
 * count is left to repeatedKeys, which reads the text through. This spares the common annotation that read.
 */
export function mayRepeatKeys(text: string, parsed: unknown): boolean {
  let quotes = 0;
  for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', at + 1)) quotes++;
  return quotes !== 2 * stringsIn(parsed);
}

/** The keys and string values in `root`, at any depth (without recursion: an annotation may nest deeply). */
function stringsIn(root: unknown): number {
  let count = 0;
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') count++;
    else if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else if (isRecord(value)) {
      // for...in, not Object.values: a parse's own keys, without an array made for each object.
      for (const key in value) {
        count++;
        pending.push(value[key]);
      }
    }
  }
  return count;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The keys that an entry of the array `text` (valid JSON) gives more than once, by entry index. JSON.parse
 * keeps the last of them, while other readers keep the first or refuse: the value would ask different readers
 * for different mounts, so it is refused rather than read one way. Keys are compared as JSON reads them
 * (`"read\u005fonly"` is `read_only`).
 */
export function repeatedKeys(text: string): Map<number, Set<string>> {
  const repeated = new Map<number, Set<string>>();
  let depth = 0;
  let entry = 0;
  // The keys read so far of the entry being read, when it is an object.
  let keys: Set<string> | undefined;
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && escapedAt(text, end)) end = text.indexOf('"', end + 1);
      // Not JSON after all: nothing more to find, and no way on.
      if (end === -1) break;
      if (depth === 2 && keyNext && keys !== undefined) {
        const raw = text.slice(i, end + 1);
        const decoded: unknown = raw.includes('\\') ? JSON.parse(raw) : raw.slice(1, -1);
        const key = String(decoded);
        if (!keys.has(key)) keys.add(key);
        else {
          const entryKeys = repeated.get(entry);
          if (entryKeys === undefined) repeated.set(entry, new Set([key]));
          else entryKeys.add(key);
        }
        keyNext = false;
      }
      i = end;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth++;
      if (depth === 2) {
        keys = code === OPEN_OBJECT ? new Set() : undefined;
        keyNext = true;
      }
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth--;
    } else if (code === COMMA) {
      if (depth === 1) entry++;
      else if (depth === 2) keyNext = true;
    }
  }
  return repeated;
}

/** Whether the character at `at` is escaped: an odd number of backslashes comes before it. */
function escapedAt(text: string, at: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}
