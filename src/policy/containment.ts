/**
 * Patterns compared with patterns: whether one entry covers everything
 * another can match, and the entry both match. Used when a MountPolicy is
 * written (it must stay inside the cluster policy) and for its status.
 */
import { parsePattern, type PatternSegment } from './patterns.js';

/**
 * The work comparisons did, for callers that bound it: one step per pair of
 * segments compared. A step is short when literals are interned (see
 * effective.ts); otherwise comparing two literals may read all their characters.
 */
export interface ComparisonCost {
  steps: number;
}

/** Whether `outer` matches every path `inner` matches, whatever the placeholders are filled with. */
function segmentCovers(outer: PatternSegment, inner: PatternSegment, cost?: ComparisonCost): boolean {
  if (cost !== undefined) cost.steps++;
  if (outer.kind === 'any') return true;
  if (outer.kind === 'literal') return inner.kind === 'literal' && inner.text === outer.text;
  return inner.kind === 'placeholder' && inner.name === outer.name;
}

/** True when every path under `inner` is under `outer` too (both canonical prefixes, with or without patterns). */
export function prefixCovers(outer: string, inner: string): boolean {
  return segmentsCover(parsePattern(outer), parsePattern(inner));
}

/** prefixCovers on parsed prefixes. */
export function segmentsCover(outer: readonly PatternSegment[], inner: readonly PatternSegment[], cost?: ComparisonCost): boolean {
  if (outer.length > inner.length) return false;
  for (let i = 0; i < outer.length; i++) {
    const segment = outer[i];
    const other = inner[i];
    if (segment === undefined || other === undefined || !segmentCovers(segment, other, cost)) return false;
  }
  return true;
}

function segmentText(segment: PatternSegment): string {
  if (segment.kind === 'literal') return segment.text;
  return segment.kind === 'any' ? '*' : `{${segment.name}}`;
}

/** A parsed prefix written out again. */
export function patternText(segments: readonly PatternSegment[]): string {
  return `/${segments.map(segmentText).join('/')}`;
}

/**
 * The prefix that matches exactly the paths both prefixes match, or undefined
 * when there is none, or when it cannot be written as one prefix (a placeholder
 * against a literal or another placeholder holds only for some requests).
 */
export function prefixMeet(a: string, b: string): string | undefined {
  const meet = segmentsMeet(parsePattern(a), parsePattern(b));
  return meet === undefined ? undefined : patternText(meet);
}

/** prefixMeet on parsed prefixes. */
export function segmentsMeet(left: readonly PatternSegment[], right: readonly PatternSegment[], cost?: ComparisonCost): PatternSegment[] | undefined {
  const meet: PatternSegment[] = [];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i];
    const y = right[i];
    if (x === undefined || y === undefined) {
      const only = x ?? y;
      if (only !== undefined) meet.push(only);
      continue;
    }
    if (segmentCovers(x, y, cost)) meet.push(y);
    else if (segmentCovers(y, x, cost)) meet.push(x);
    else return undefined;
  }
  return meet;
}
