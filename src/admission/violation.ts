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
