/**
 * YAML as kubectl reads it (go-yaml v2, through sigs.k8s.io/yaml): its numbers and tags, its merge keys, the
 * characters it refuses and the encodings it decodes, so that `mountgate check` judges the object kubectl would send.
 */
import { decodeStrictly } from '../policy/strict-text.js';
import type { KeyReading } from '../policy/yaml-problems.js';
import { isAlias, isMap, isNode, isScalar, isSeq, type Document, type LineCounter, type Node, type ScalarTag, type Tags, visit } from 'yaml';

const INT_TAG = 'tag:yaml.org,2002:int';
const UNREAD_TAGS: ReadonlySet<string> = new Set(['tag:yaml.org,2002:set', 'tag:yaml.org,2002:omap', 'tag:yaml.org,2002:binary']);
const FLOAT_TAG = 'tag:yaml.org,2002:float';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's strconv.ParseInt(text, 0, 64), then ParseUint for one without a sign: undefined where both fail. */
function goInteger(text: string): bigint | undefined {
  const match = /^([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (match === null) return undefined;
  const [, sign = '', digits = ''] = match;
  // A leading 0 alone makes an octal number in Go; BigInt reads its own prefixes, 0x, 0b and 0o.
  const magnitude = BigInt(/^0[0-7]/.test(digits) ? `0o${digits.slice(1)}` : digits);
  const value = sign === '-' ? -magnitude : magnitude;
  if (value >= INT64_MIN && value <= INT64_MAX) return value;
  return sign === '' && value <= UINT64_MAX ? value : undefined;
}

function finite(value: number): number | undefined {
  // Go's ParseFloat fails past the largest double (a value it then keeps as text), and rounds what is too small to 0.
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The number go-yaml v2 (resolve.go, as sigs.k8s.io/yaml v1.4.0 has it) reads a plain scalar as, or undefined
 * where it keeps the text. After a leading dot, Go's float syntax ("_" only between digits); after a sign or a
 * digit, every "_" dropped, then Go's integer literals (0x, 0X, 0b, 0o, a leading 0 for octal) within 64 bits,
 * then a YAML-style decimal float, then go-yaml's own "0b" with a sign after it.
 */
export function goYamlNumber(text: string): number | undefined {
  if (text.startsWith('.')) return /^\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?$/.test(text) ? finite(Number(text.replace(/_/g, ''))) : undefined;
  if (!/^[-+0-9]/.test(text)) return undefined;
  const plain = text.replace(/_/g, '');
  const integer = goInteger(plain);
  if (integer !== undefined) return Number(integer);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(plain)) {
    const float = finite(Number(plain));
    if (float !== undefined) return float;
  }
  const binary = /^0b([-+]?)([01]+)$/.exec(plain);
  if (binary === null) return undefined;
  const value = BigInt(`0b${binary[2] ?? ''}`) * (binary[1] === '-' ? -1n : 1n);
  return value >= INT64_MIN && value <= (binary[1] === '' ? UINT64_MAX : INT64_MAX) ? Number(value) : undefined;
}

/** Every plain scalar that could be a number to go-yaml v2; one it keeps as text stays text. */
const GO_NUMBER_TEST = /^[-+.0-9][-+.0-9A-Za-z_]*$/;
/** As int and as float, so that an explicit `!!int` or `!!float` finds it too. */
const GO_NUMBER_TAGS: readonly ScalarTag[] = [INT_TAG, FLOAT_TAG].map((tag) => ({ tag, default: true, test: GO_NUMBER_TEST, resolve: (text: string) => goYamlNumber(text) ?? text }));

/**
 * YAML 1.1's types as go-yaml v2 reads them: timestamps and base-60 numbers (`10:30`) stay text, and numbers are
 * Go's (`0o17` is 15, `-_1` is -1, `.` is text). `.inf` and `.nan` stay YAML 1.1's, as in go-yaml's own table.
 */
export function asGoYamlReads(tags: Tags): Tags {
  const kept = tags.filter((tag) => {
    if (typeof tag === 'string') return true;
    if (tag.tag === 'tag:yaml.org,2002:timestamp' || tag.format === 'TIME') return false;
    // The yaml package makes a Set, a Map or bytes of these, which no manifest holds (JSON has none of them: they
    // would be judged and printed empty); go-yaml v2 reads them otherwise. Left out, they refuse the file.
    if (UNREAD_TAGS.has(tag.tag)) return false;
    if (tag.tag === INT_TAG) return false;
    return tag.tag !== FLOAT_TAG || tag.test?.test('.inf') === true;
  });
  // After .inf and .nan, which the broad test would take for text.
  return [...kept, ...GO_NUMBER_TAGS];
}

/** A merge key (`<<` written plain), as the YAML 1.1 schema resolves it. */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<';
}

/** The keys a merge key brings, as the reader names them; none for what is no map (the reader refuses it). */
function mergedKeys(value: unknown, document: Document.Parsed): string[] {
  if (isSeq(value)) return value.items.flatMap((item) => mergedKeys(item, document));
  const source = isAlias(value) ? value.resolve(document) : value;
  if (!isMap(source)) return [];
  const merged: unknown = source.toJS(document, { maxAliasCount: 100 });
  return typeof merged === 'object' && merged !== null ? Object.keys(merged) : [];
}

/** A key as the reader names it in the manifest it returns (null as "", as the yaml package does). */
function keyName(key: unknown, document: Document.Parsed): string {
  const value: unknown = isNode(key) ? key.toJS(document, { maxAliasCount: 100 }) : key;
  return value === null || value === undefined ? '' : String(value);
}

/**
 * go-yaml v2 (kubectl) applies a merge key where it stands, over the keys before it; YAML 1.1, and this reader,
 * keep those. A key that a later merge key gives again would be read two ways: the first such one, or undefined.
 */
export function mergeOverride(document: Document.Parsed, lines: LineCounter): string | undefined {
  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0];
    if (offset === undefined) return '';
    const { line, col } = lines.linePos(offset);
    return ` at line ${line}, column ${col}`;
  };
  let found: string | undefined;
  visit(document, {
    Map(_, map) {
      // Each key so far, with where it was given: itself, or the merge key that brought it.
      const before = new Map<string, string>();
      for (const pair of map.items) {
        if (!isMergeKey(pair.key)) {
          if (isNode(pair.key)) before.set(keyName(pair.key, document), at(pair.key));
          continue;
        }
        const mergeKey = isNode(pair.key) ? pair.key : undefined;
        const keys = mergedKeys(pair.value, document);
        const given = keys.find((key) => before.has(key));
        if (given !== undefined) {
          found = `${JSON.stringify(given)}${before.get(given) ?? ''} is given again by the merge key "<<"${at(mergeKey)}, which kubectl lets override it and YAML does not: give it once, or after the merge key`;
          return visit.BREAK;
        }
        for (const key of keys) before.set(key, ` (from the merge key "<<"${at(mergeKey)})`);
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Keys as the reader names them in the manifest it returns (`1` and "1", `true` and "true", `~` and "", an alias and
 * its anchor are one name there): of two keys of a map named alike kubectl would keep one, which one depending on
 * its reader. Merge keys are left to mergeOverride.
 */
export function kubectlKeys(document: Document.Parsed): KeyReading {
  return {
    identity: (key) => (isMergeKey(key) ? undefined : keyName(key, document)),
    name: (key) => JSON.stringify(keyName(key, document)),
  };
}

/** A number JSON cannot hold (`.inf`, `.nan`, `1e400` in JSON), which kubectl refuses: the first, or undefined. */
export function nonFinite(document: Document.Parsed, lines: LineCounter): string | undefined {
  let found: string | undefined;
  visit(document, {
    Scalar(_, scalar) {
      if (typeof scalar.value !== 'number' || Number.isFinite(scalar.value)) return undefined;
      const offset = scalar.range?.[0] ?? 0;
      const { line, col } = lines.linePos(offset);
      found = `${scalar.source ?? String(scalar.value)} at line ${line}, column ${col} is a number JSON cannot hold (kubectl refuses it)`;
      return visit.BREAK;
    },
  });
  return found;
}

/**
 * A manifest's bytes as text, as go-yaml v2 (kubectl) decodes them: UTF-16 when they begin with its byte order
 * mark (Windows PowerShell 5 writes files so), else UTF-8, whose own mark the readers skip. Bytes that are no
 * character of that encoding (go-yaml refuses them) throw an EncodingError.
 */
export function decodeManifest(bytes: Uint8Array): string {
  return decodeStrictly(bytes, bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8');
}

/** What go-yaml v2's reader refuses anywhere in its input, quoted or not: the C0 controls but tab and line breaks, DEL, C1 but NEL, U+FFFE, U+FFFF. */
const REFUSED_CHARACTER = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f\ufffe\uffff]/;

/** The first character kubectl would refuse a YAML manifest for, with its place, or undefined. */
export function refusedCharacter(text: string): string | undefined {
  const found = REFUSED_CHARACTER.exec(text);
  if (found === null) return undefined;
  const before = text.slice(0, found.index);
  const line = before.split('\n').length;
  const column = found.index - before.lastIndexOf('\n');
  const code = `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  // UTF-16 without its byte order mark reads as UTF-8 with a NUL beside each ASCII character.
  const hint = found[0] === '\u0000' ? '; a UTF-16 file needs its byte order mark' : '';
  return `the control character ${code} at line ${line}, column ${column}, which kubectl refuses${hint}`;
}
