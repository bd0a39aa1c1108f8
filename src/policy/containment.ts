/**
 * Patterns compared with patterns: whether one entry covers everything
 * another can match, and the entry both match. Used when a MountPolicy is
 * written (it must stay inside the cluster policy) and for its status.
 */
import { parsePattern, type PatternSegment } from './patterns.js';

/** Whether `outer` matches every path `inner` matches, whatever the placeholders are filled with. */
function segmentCovers(outer: PatternSegment, inner: PatternSegment): boolean {
  if (outer.kind === 'any') return true;
  if (outer.kind === 'literal') return inner.kind === 'literal' && inner.text === outer.text;
  return inner.kind === 'placeholder' && inner.name === outer.name;
}

/** True when every path under `inner` is under `outer` too (both canonical prefixes, with or without patterns). */
export function prefixCovers(outer: string, inner: string): boolean {
  const outerSegments = parsePattern(outer);
  const innerSegments = parsePattern(inner);
  return outerSegments.length <= innerSegments.length && outerSegments.every((segment, i) => {
    const other = innerSegments[i];
    return other !== undefined && segmentCovers(segment, other);
  });
}

function segmentText(segment: PatternSegment): string {
  if (segment.kind === 'literal') return segment.text;
  return segment.kind === 'any' ? '*' : `{${segment.name}}`;
}

/**
 * The prefix that matches exactly the paths both prefixes match, or undefined
 * when there is none, or when it cannot be written as one prefix (a placeholder
 * against a literal or another placeholder holds only for some requests).
 */
export function prefixMeet(a: string, b: string): string | undefined {
  const left = parsePattern(a);
  const right = parsePattern(b);
  const meet: string[] = [];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i];
    const y = right[i];
    if (x === undefined || y === undefined) {
      const only = x ?? y;
      if (only !== undefined) meet.push(segmentText(only));
      continue;
    }
    if (segmentCovers(x, y)) meet.push(segmentText(y));
    else if (segmentCovers(y, x)) meet.push(segmentText(x));
    else return undefined;
  }
  return `/${meet.join('/')}`;
}
