import { cutMiddle } from '../admission/bounded-text.js';

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

/** The longest key a message shows whole (UTF-16 code units); a longer one is cut in the middle. */
export const MAX_SHOWN_KEY_LENGTH = 64;

/** A key as a message shows it: at most MAX_SHOWN_KEY_LENGTH long. */
export function shownKey(key: string): string {
  return cutMiddle(key, MAX_SHOWN_KEY_LENGTH);
}

/**
 * Keys as one message lists them: a few all, more as the first MAX_LISTED_KEYS and how many others there are;
 * each as `show` writes it (cut to MAX_SHOWN_KEY_LENGTH unless told otherwise).
 */
export function listedKeys(keys: readonly string[], show: (key: string) => string = shownKey): string {
  const named = keys.slice(0, MAX_LISTED_KEYS).map(show).join(', ');
  return keys.length <= MAX_LISTED_KEYS ? named : `${named} and ${(keys.length - MAX_LISTED_KEYS).toLocaleString('en-US')} more`;
}
