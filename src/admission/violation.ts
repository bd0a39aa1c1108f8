/**
 * How many violations of one kind a check names before it only counts the
 * rest, and how many a denial message spells out: enough to fix a Pod, and a
 * bound on the work and the size of the answer (and of the log line) for a
 * hostile Pod that breaks a rule tens of thousands of times.
 */
export const MAX_NAMED_VIOLATIONS = 20;

/** One broken rule, located by the field that breaks it. */
export interface Violation {
  readonly field: string;
  readonly message: string;
}

export function violation(field: string, message: string): Violation {
  return { field, message };
}

export function describeViolation(v: Violation): string {
  return v.field === '' ? v.message : `${v.field}: ${v.message}`;
}
