/** Checks a reference text against facts: which facts it fails to state. */
import type { Fact } from './reference-facts.js';

/** The lines of the section whose heading starts with `heading`, up to the next heading of its level or above; undefined when there is none. */
export function sectionOf(text: string, heading: string): string[] | undefined {
  const lines = text.split('\n');
  if (heading === '') return lines;
  const start = lines.findIndex((line) => line.startsWith(heading));
  if (start === -1) return undefined;
  const level = headingLevel(heading);
  let fenced = false;
  for (let index = start + 1; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (line.startsWith('```')) fenced = !fenced;
    else if (!fenced && headingLevel(line) > 0 && headingLevel(line) <= level) return lines.slice(start, index);
  }
  return lines.slice(start);
}

/** The number of #s of a Markdown heading; 0 for any other line. */
function headingLevel(line: string): number {
  return /^(#+) /.exec(line)?.[1]?.length ?? 0;
}

export interface Missing {
  readonly what: string;
  readonly problem: string;
}

/** The facts the text does not state, each with what is missing where. */
export function missingFacts(text: string, facts: readonly Fact[]): Missing[] {
  const problems: Missing[] = [];
  for (const fact of facts) {
    const lines = sectionOf(text, fact.section);
    if (lines === undefined) {
      problems.push({ what: fact.what, problem: `no section "${fact.section}"` });
      continue;
    }
    const holds = fact.row
      ? lines.some((line) => line.startsWith('|') && fact.snippets.every((snippet) => line.includes(snippet)))
      : fact.snippets.every((snippet) => lines.some((line) => line.includes(snippet)));
    if (!holds) problems.push({ what: fact.what, problem: `"${fact.section}" lacks ${fact.snippets.join(' ')}${fact.row ? ' on one table row' : ''}` });
  }
  return problems;
}
