/**
 * Pod Security Admission's baseline and restricted levels forbid hostPath
 * volumes, and PSA runs after mutation: a sandbox Pod mutated in such a
 * namespace would fail with a message that never mentions mountgate. Knowing
 * the namespace's enforce level, mountgate denies up front and says which
 * label to change.
 */
import { violation, type Violation } from './violation.js';

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
export const POD_SECURITY_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** What the edge knows about the cluster; a fact that is absent never blocks. */
export interface ClusterFacts {
  /** The enforce level of the request's namespace, when the namespace cache is synced. */
  readonly namespacePodSecurity?: PodSecurityLevel | undefined;
}

/** The enforce level a namespace's labels ask for; undefined when unlabelled or unrecognised (PSA judges those itself). */
export function enforceLevel(labels: Readonly<Record<string, string>> | undefined): PodSecurityLevel | undefined {
  const value = labels?.[ENFORCE_LABEL];
  return POD_SECURITY_LEVELS.find((level) => level === value);
}

export function podSecurityViolation(namespace: string | undefined, facts: ClusterFacts): Violation | undefined {
  const level = facts.namespacePodSecurity;
  if (level === undefined || level === 'privileged') return undefined;
  const name = namespace ?? '';
  return violation(
    'pod-security-level',
    'request.namespace',
    `namespace "${name}" enforces Pod Security level "${level}", which forbids hostPath volumes; ` +
      `label it ${ENFORCE_LABEL}=privileged (kubectl label namespace ${name} ${ENFORCE_LABEL}=privileged --overwrite) or exempt it to use host mounts`,
  );
}
