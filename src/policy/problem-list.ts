/**
 * Lists of problems as they reach answers, log lines and status conditions:
 * a value can hold as many faults as its size allows (one per list entry),
 * and every one of them costs a line, so only the first few are named.
 */
export const MAX_LISTED_PROBLEMS = 10;

/** The first MAX_LISTED_PROBLEMS problems, then how many more there are. */
export function firstProblems(problems: readonly string[]): readonly string[] {
  if (problems.length <= MAX_LISTED_PROBLEMS) return problems;
  const more = problems.length - MAX_LISTED_PROBLEMS;
  return [...problems.slice(0, MAX_LISTED_PROBLEMS), `and ${more} more problem${more === 1 ? '' : 's'}`];
}

/** How many of an object's unknown keys one message names. */
export const MAX_LISTED_KEYS = 5;

/** Keys as one message lists them: a few all, more as the first MAX_LISTED_KEYS and how many others there are. */
export function listedKeys(keys: readonly string[]): string {
  if (keys.length <= MAX_LISTED_KEYS) return keys.join(', ');
  return `${keys.slice(0, MAX_LISTED_KEYS).join(', ')} and ${(keys.length - MAX_LISTED_KEYS).toLocaleString('en-US')} more`;
}
