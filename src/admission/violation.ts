/**
 * How many violations of one kind a check names before it only counts the
 * rest, and how many a denial message spells out: enough to fix a Pod, and a
 * bound on the work and the size of the answer (and of the log line) for a
 * hostile Pod that breaks a rule tens of thousands of times.
 */
export const MAX_NAMED_VIOLATIONS = 20;

/**
 * Every rule a Pod can break, by its stable identifier. Admins search audit
 * logs and alerts by these names, so a name never changes meaning once
 * published; docs/reference.md lists each one (a test keeps the two equal).
 */
export const RULES = [
  /** The object under review is not a Pod mountgate can read (answered with 400). */
  'unreadable-pod',
  /** The annotation is not a JSON array of well-formed entries. */
  'malformed-annotation',
  /** A hostPath or mountPath is not absolute and canonical (relative, `..`, `//`, control characters, too long). */
  'invalid-path',
  /** allowedHostPaths is empty, so no mount may be requested. */
  'host-mounts-disabled',
  /** A requested hostPath lies under no allowedHostPaths entry. */
  'host-path-not-allowed',
  /** A request asks for read-write under a read-only allowedHostPaths entry. */
  'read-only-required',
  /** A requested mountPath is `/` or lies in /proc, /sys or /dev. */
  'system-mount-path',
  /** A requested mountPath lies in a reservedMountPaths entry. */
  'reserved-mount-path',
  /** A requested mountPath lies in a mount the target container already has. */
  'mount-path-in-use',
  /** Two requests share a mountPath with a different hostPath or readOnly. */
  'mount-path-conflict',
  /** More requests than maxMounts remain after merging. */
  'max-mounts',
  /** Requests times target containers exceed the mounts mountgate adds to one Pod. */
  'too-many-injected-mounts',
  /** Two requested host paths (or the roots they are mounted from) would get one volume name. */
  'volume-name-collision',
  /** `requesters` is set and lists neither the requesting user nor any of its groups. */
  'requester-not-allowed',
  /** The Pod has no container the mounts could go into. */
  'no-target-container',
  /** The Pod carries a mountgate- volume or mount that differs from what the annotation asks for. */
  'injection-mismatch',
  /** A mount the annotation asks for is absent from the Pod (mutation skipped or altered). */
  'injection-missing',
  /** A hostPath volume of the Pod lies outside allowedHostPaths and builtinHostPaths. */
  'host-path-volume-not-allowed',
  /** A container mounts a hostPath volume read-write where the deciding entry is read-only. */
  'host-path-volume-read-write',
  /** The kubelet would create files or directories in a read-only host path: a `*OrCreate` type, or a mount with a subPath. */
  'host-path-volume-creates',
  /** The namespace's Pod Security level forbids hostPath volumes (the preflight of /mutate). */
  'pod-security-level',
  /** A Pod update adds, changes or removes the annotation, or a Binding sets it, though the Pod's mounts were fixed at its creation. */
  'annotation-fixed-at-creation',
  /** A Pod with hostPath volumes is created with the sandbox-user annotation by a requester not in trustedProvisioners. */
  'sandbox-user-not-trusted',
  /** With podSecurity: baseline, the Pod breaks a Pod Security baseline control other than hostPath volumes (privileged, host namespaces, capabilities, ...). */
  'pod-security-baseline',
  /** A MountPolicy being written is not valid (its fields, or a missing name or namespace). */
  'mount-policy-invalid',
  /** A MountPolicy being written would allow a host path or a maxMounts the cluster policy does not. */
  'mount-policy-widens',
] as const;

export type Rule = (typeof RULES)[number];

/** One broken rule, located by the field that breaks it. */
export interface Violation {
  readonly rule: Rule;
  readonly field: string;
  readonly message: string;
}

export function violation(rule: Rule, field: string, message: string): Violation {
  return { rule, field, message };
}

/** At least one violation: what every denial carries, so that it always has a first rule to name. */
export type Violations = readonly [Violation, ...Violation[]];

export function hasViolations(violations: readonly Violation[]): violations is Violations {
  return violations.length > 0;
}

/**
 * For violations a hostile Pod can repeat tens of thousands of times: each is
 * named while the list it adds to holds fewer than MAX_NAMED_VIOLATIONS (what
 * that list held before included), the rest are only counted, and `close` adds
 * one violation that says how many. A check that keeps kinds in lists of their
 * own, to name them in a fixed order, names up to that many of each.
 */
export class NamedThenCounted {
  private unnamed = 0;

  constructor(private readonly violations: Violation[]) {}

  /** `name` is called only while there is room for another named violation. */
  add(name: () => Violation): void {
    if (this.violations.length < MAX_NAMED_VIOLATIONS) this.violations.push(name());
    else this.unnamed++;
  }

  close(rest: (count: number) => Violation): void {
    if (this.unnamed > 0) this.violations.push(rest(this.unnamed));
  }
}

export function describeViolation(v: Violation): string {
  return v.field === '' ? v.message : `${v.field}: ${v.message}`;
}
