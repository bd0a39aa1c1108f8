/**
 * Texts cut to a length in UTF-16 code units (what JavaScript counts, never
 * fewer than the characters an API server counts), with an ellipsis where the
 * cut is, and never inside a surrogate pair.
 */
const ELLIPSIS = '…';

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/** The start of `text`, then `marker` (the ellipsis unless given). */
export function cutEnd(text: string, max: number, marker = ELLIPSIS): string {
  if (text.length <= max) return text;
  let end = max - marker.length;
  if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
  return `${text.slice(0, end)}${marker}`;
}

/**
 * The start and the end of `text` with the ellipsis between: a violation names
 * its field first and its rule last, and a long path quoted between them is
 * what gets cut.
 */
export function cutMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = max - ELLIPSIS.length;
  let headEnd = Math.ceil((room * 3) / 4);
  let tailStart = text.length - (room - headEnd);
  if (isHighSurrogate(text.charCodeAt(headEnd - 1))) headEnd--;
  if (isLowSurrogate(text.charCodeAt(tailStart))) tailStart++;
  return `${text.slice(0, headEnd)}${ELLIPSIS}${text.slice(tailStart)}`;
}
