/** What makes a YAML document unfit to read, beyond the parser's errors. */
import { isCollection, visit, type Document } from 'yaml';

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
