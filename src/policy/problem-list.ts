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
