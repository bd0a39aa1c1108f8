/**
 * The backstop: section 8's hostPath rule as a ValidatingAdmissionPolicy and
 * its binding, enforced inside the API server. Pure: a compiled policy and
 * options in, API objects out. `mountgate backstop` prints them; the chart
 * renders the same objects (test/chart checks that they stay the same).
 */
import type {
  V1LabelSelector,
  V1LabelSelectorRequirement,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import type { CompiledPolicy } from '../policy/compile.js';
import { isPattern } from '../policy/patterns.js';
import {
  CONTAINERS,
  HOST_PATH_VOLUMES,
  OUTSIDE,
  OUTSIDE_EXPRESSION,
  OUTSIDE_MESSAGE,
  READ_ONLY_VOLUMES,
  WRITERS,
  WRITERS_EXPRESSION,
  WRITERS_MESSAGE,
  celStringList,
} from './cel.js';

export const VALIDATION_ACTIONS = ['Deny', 'Warn', 'Audit'] as const;
export type ValidationAction = (typeof VALIDATION_ACTIONS)[number];

export const DEFAULT_BACKSTOP_NAME = 'mountgate-backstop';
export const ENABLED_LABEL = 'mountgate.io/enabled';
/** What the chart's webhooks select by default. */
export const DEFAULT_NAMESPACE_SELECTOR: V1LabelSelector = { matchLabels: { [ENABLED_LABEL]: 'true' } };
export const ALWAYS_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system'];

export interface BackstopOptions {
  /** Name of both objects. */
  readonly name: string;
  /** Namespaces the binding selects, before the exclusions. */
  readonly namespaceSelector: V1LabelSelector;
  /** Namespaces never judged, by name (kube-system is always among them). */
  readonly excludedNamespaces: readonly string[];
  readonly validationActions: readonly ValidationAction[];
  /** Labels on both objects. */
  readonly labels: Readonly<Record<string, string>>;
}

export const DEFAULT_BACKSTOP_OPTIONS: BackstopOptions = {
  name: DEFAULT_BACKSTOP_NAME,
  namespaceSelector: DEFAULT_NAMESPACE_SELECTOR,
  excludedNamespaces: ALWAYS_EXCLUDED_NAMESPACES,
  validationActions: ['Deny'],
  labels: { 'app.kubernetes.io/name': 'mountgate', 'app.kubernetes.io/component': 'backstop' },
};

/** A policy the backstop cannot express; `field` names the offending policy key. */
export class BackstopError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
    this.name = 'BackstopError';
  }
}

/** The policy's prefixes, as the CEL reads them: read-only ones, and read-write ones no read-only entry repeats. */
export interface BackstopPrefixes {
  readonly readOnly: readonly string[];
  readonly writable: readonly string[];
}

// A UTF-16 surrogate without its partner: JSON and YAML can carry one, CEL string literals cannot.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * allowedHostPaths then builtinHostPaths, each prefix once. Where two entries
 * name the same prefix the read-only one decides, as in sortLongestFirst.
 */
export function backstopPrefixes(policy: CompiledPolicy): BackstopPrefixes {
  const lists = { allowedHostPaths: policy.spec.allowedHostPaths, builtinHostPaths: policy.spec.builtinHostPaths };
  const entries = Object.entries(lists).flatMap(([list, items]) => items.map((entry, i) => ({ ...entry, field: `${list}[${i}].pathPrefix` })));
  for (const entry of entries) {
    if (LONE_SURROGATE.test(entry.pathPrefix)) throw new BackstopError(entry.field, 'contains a lone UTF-16 surrogate, which a CEL string cannot hold');
    // The CEL compares literal prefixes: a pattern read as one would refuse what it admits, and miss its read-only entries.
    if (isPattern(entry.pathPrefix)) throw new BackstopError(entry.field, `"${entry.pathPrefix}" has "*" or a placeholder, which the backstop cannot enforce yet`);
  }
  const readOnly = unique(entries.filter((e) => e.readOnly).map((e) => e.pathPrefix));
  const readOnlySet = new Set(readOnly);
  const writable = unique(entries.filter((e) => !e.readOnly && !readOnlySet.has(e.pathPrefix)).map((e) => e.pathPrefix));
  return { readOnly, writable };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The binding's selector: the given one, with the excluded namespaces added as a NotIn expression. */
export function bindingNamespaceSelector(selector: V1LabelSelector, excluded: readonly string[]): V1LabelSelector {
  const names = unique([...ALWAYS_EXCLUDED_NAMESPACES, ...excluded]);
  const exclusion: V1LabelSelectorRequirement = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: names };
  return {
    ...(selector.matchLabels === undefined ? {} : { matchLabels: { ...selector.matchLabels } }),
    matchExpressions: [...(selector.matchExpressions ?? []), exclusion],
  };
}

export interface Backstop {
  readonly policy: V1ValidatingAdmissionPolicy;
  readonly binding: V1ValidatingAdmissionPolicyBinding;
}

export function backstop(policy: CompiledPolicy, options: BackstopOptions = DEFAULT_BACKSTOP_OPTIONS): Backstop {
  const prefixes = backstopPrefixes(policy);
  // One copy each: a shared object would come out of the YAML printer as an anchor and an alias.
  const metadata = () => ({ name: options.name, labels: { ...options.labels } });
  return {
    policy: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: metadata(),
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          matchPolicy: 'Equivalent',
          // Pod CREATE and the ephemeral-containers UPDATE (kubectl debug); no other UPDATE.
          resourceRules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
            { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'] },
          ],
        },
        variables: [
          { name: 'readOnlyPrefixes', expression: celStringList(prefixes.readOnly) },
          { name: 'writablePrefixes', expression: celStringList(prefixes.writable) },
          { name: 'hostPathVolumes', expression: HOST_PATH_VOLUMES },
          { name: 'outside', expression: OUTSIDE },
          { name: 'readOnlyVolumes', expression: READ_ONLY_VOLUMES },
          { name: 'containers', expression: CONTAINERS },
          { name: 'writers', expression: WRITERS },
        ],
        validations: [
          {
            expression: OUTSIDE_EXPRESSION,
            messageExpression: OUTSIDE_MESSAGE,
            message: 'a hostPath volume is not canonical, or is not under any allowed or built-in host path of the mountgate policy',
            reason: 'Forbidden',
          },
          {
            expression: WRITERS_EXPRESSION,
            messageExpression: WRITERS_MESSAGE,
            message: 'a container mounts a host path read-write that the mountgate policy makes read-only',
            reason: 'Forbidden',
          },
        ],
      },
    },
    binding: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: metadata(),
      spec: {
        policyName: options.name,
        validationActions: [...options.validationActions],
        matchResources: { namespaceSelector: bindingNamespaceSelector(options.namespaceSelector, options.excludedNamespaces) },
      },
    },
  };
}
