/** What makes a YAML document unfit to read, beyond the parser's errors. */
import { isAlias, isCollection, isNode, isScalar, visit, type Document, type LineCounter, type Node, type Scalar } from 'yaml';

/**
 * The first thing wrong with a parsed document, as one line: a parse error, a warning (a tag the
 * reader does not know), or a key that is itself a list or a map, which JSON cannot hold and the
 * reader would turn into text (kubectl refuses it: "Unsupported map key"). Undefined when none.
 */
export function firstYamlProblem(document: Document.Parsed): string | undefined {
  const problem = document.errors[0] ?? document.warnings[0];
  // The parser's first line ends with ":" before a quote of the source, which is left out.
  if (problem !== undefined) return (problem.message.split('\n')[0] ?? '').replace(/:\s*$/, '');
  let collectionKey: string | undefined;
  visit(document, {
    Pair(_, pair) {
      if (!isCollection(pair.key)) return undefined;
      const at = pair.key.range === undefined || pair.key.range === null ? '' : ` at offset ${pair.key.range[0]}`;
      collectionKey = `a key that is a list or a map${at} (JSON keys are strings)`;
      return visit.BREAK;
    },
  });
  return collectionKey;
}

/** How a reader tells the keys of a map apart, and names one in a message. */
export interface KeyReading {
  /** Keys with the same identity (as a Map compares them) are one key; a key whose identity is undefined is like no other. */
  readonly identity: (key: Node) => unknown;
  readonly name: (key: Node) => string;
}

/**
 * Keys as the policy reads them: two scalars are one key when their values are === (so `1` and "1" are two, as are
 * `.nan` and `.nan`; `~`, `null` and an empty key are one), and an alias is the scalar it names, since the policy
 * read takes `*a` for the value of `&a` (the yaml package's uniqueKeys lets `&a maxMounts: 1` and `*a : 2` through,
 * and the second then replaces the first). Anything else is like no other key.
 */
export function yamlKeys(document: Document.Parsed): KeyReading {
  const scalarOf = (key: Node): Scalar | undefined => {
    const node = isAlias(key) ? key.resolve(document) : key;
    return isScalar(node) ? node : undefined;
  };
  return {
    identity: (key) => {
      const value = scalarOf(key)?.value;
      return Number.isNaN(value) ? undefined : value;
    },
    name: (key) => {
      const value = scalarOf(key)?.value;
      return typeof value === 'string' ? JSON.stringify(value) : String(value);
    },
  };
}

/**
 * The first key of a map that a key before it in the same map equals, as `reading` tells keys apart, naming it and
 * both places; undefined when no key is given twice. One Map per map, so each key is looked at once: the yaml
 * package's uniqueKeys compares each key with every one before it (3 seconds for a map of 20,000 keys, minutes
 * for 50,000).
 */
export function repeatedKey(document: Document.Parsed, lines: LineCounter, reading: KeyReading): string | undefined {
  const at = (node: Node): string => {
    const { line, col } = lines.linePos(node.range?.[0] ?? 0);
    return `line ${line}, column ${col}`;
  };
  let found: string | undefined;
  visit(document, {
    Map(_, map) {
      const seen = new Map<unknown, Node>();
      for (const pair of map.items) {
        if (!isNode(pair.key)) continue;
        const identity = reading.identity(pair.key);
        if (identity === undefined) continue;
        const first = seen.get(identity);
        if (first === undefined) {
          seen.set(identity, pair.key);
          continue;
        }
        found = `the key ${reading.name(pair.key)} at ${at(pair.key)} is given again (first at ${at(first)})`;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}
