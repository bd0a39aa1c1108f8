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
import { isPattern, parsePattern, segmentsOf, type PatternSegment } from '../policy/patterns.js';
import {
  BASELINE_BREAKS,
  BASELINE_CONTAINERS,
  BASELINE_EXPRESSION,
  BASELINE_MESSAGE,
  BASELINE_POD_BREAKS,
  APPLICABLE,
  CONTAINERS,
  CREATORS,
  CREATORS_EXPRESSION,
  CREATORS_MESSAGE,
  HOLDS_READ_ONLY,
  HOST_PATH_VOLUMES,
  NAMESPACE,
  OUTSIDE,
  OUTSIDE_EXPRESSION,
  OUTSIDE_MESSAGE,
  READ_ONLY_BELOW,
  READ_ONLY_VOLUMES,
  SANDBOX_USER,
  SANDBOX_USER_TRUST_EXPRESSION,
  SANDBOX_USER_TRUST_MESSAGE,
  SUB_PATH_EXPRESSION,
  SUB_PATH_MESSAGE,
  SUB_PATH_MOUNTERS,
  ROOT_MOUNTERS,
  ROOT_MOUNTERS_EXPRESSION,
  ROOT_MOUNTERS_MESSAGE,
  TRUSTED,
  UNTRUSTED_SANDBOX_USER,
  USER,
  WRITERS,
  WRITERS_EXPRESSION,
  WRITERS_MESSAGE,
  celString,
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

/**
 * A policy entry as the CEL reads it (see cel.ts): the prefix as written, what a path below it
 * starts with, a pattern's segments as written ([] for a literal prefix), its rank.
 */
export interface BackstopEntry {
  readonly prefix: string;
  readonly under: string;
  readonly segments: readonly string[];
  readonly rank: string;
}

// A UTF-16 surrogate without its partner: JSON and YAML can carry one, CEL string literals cannot.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Ranks hold 9999 minus the number of segments in four digits: a path has at most 2048. */
const RANK_SEGMENTS = 9999;

/**
 * mountgate's deciding order (compilePolicy's decidingOrder, a literal prefix being all literal
 * segments) as a string the CEL compares with `<`: 9999 less the number of segments (more
 * segments first), then one character per segment, '0' literal before '1' `*` or placeholder, then
 * '0' read-only before '1'. Entries of one rank decide alike, whichever comes first.
 */
export function rankOf(segments: readonly PatternSegment[], readOnly: boolean): string {
  const count = String(RANK_SEGMENTS - segments.length).padStart(4, '0');
  return `${count}${segments.map((s) => (s.kind === 'literal' ? '0' : '1')).join('')}${readOnly ? '0' : '1'}`;
}

function entryOf(pathPrefix: string, readOnly: boolean): BackstopEntry {
  const segments = parsePattern(pathPrefix);
  const rank = rankOf(segments, readOnly);
  // The policy schema refuses "/" as a prefix: every prefix has a segment.
  if (!isPattern(pathPrefix)) return { prefix: pathPrefix, under: `${pathPrefix}/`, segments: [], rank };
  // A pattern starts with a literal segment (the policy schema sees to it): a path must start with those.
  const written = segmentsOf(pathPrefix);
  const head = segments.findIndex((s) => s.kind !== 'literal');
  return { prefix: pathPrefix, under: `/${written.slice(0, head).join('/')}/`, segments: written, rank };
}

/** 0 to the number of segments of the longest pattern less one: the positions the CEL compares. */
export function celPositions(entries: readonly BackstopEntry[]): string {
  const longest = Math.max(0, ...entries.map((e) => e.segments.length));
  return `[${Array.from({ length: longest }, (_, i) => String(i)).join(', ')}]`;
}

/** What tells entries apart: one of each key is kept, and the CEL finds the built-in ones by it. */
export function entryKey(entry: BackstopEntry): string {
  return `${entry.rank} ${entry.prefix}`;
}

/** allowedHostPaths then builtinHostPaths, each prefix and read-only-ness once, in the order of the policy. */
export function backstopEntries(policy: CompiledPolicy): BackstopEntry[] {
  const lists = { allowedHostPaths: policy.spec.allowedHostPaths, builtinHostPaths: policy.spec.builtinHostPaths };
  const entries = Object.entries(lists).flatMap(([list, items]) => items.map((entry, i) => ({ ...entry, field: `${list}[${i}].pathPrefix` })));
  const seen = new Set<string>();
  const result: BackstopEntry[] = [];
  for (const entry of entries) {
    if (LONE_SURROGATE.test(entry.pathPrefix)) throw new BackstopError(entry.field, 'contains a lone UTF-16 surrogate, which a CEL string cannot hold');
    const made = entryOf(entry.pathPrefix, entry.readOnly);
    const key = entryKey(made);
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(made);
  }
  return result;
}

/**
 * Under handWrittenHostPaths: builtin, the keys of the builtinHostPaths entries, each once in the order of the
 * policy: a volume written by hand must lie under one of them. None under `allowed`.
 */
export function builtinKeys(policy: CompiledPolicy): string[] {
  if (policy.handWritten === undefined) return [];
  return unique(policy.spec.builtinHostPaths.map((entry) => entryKey(entryOf(entry.pathPrefix, entry.readOnly))));
}

/** The entries as a CEL list literal of lists: [rank, prefix, under, segments...] (see cel.ts). */
export function celEntries(entries: readonly BackstopEntry[]): string {
  return `[${entries.map((e) => celStringList([e.rank, e.prefix, e.under, ...e.segments])).join(', ')}]`;
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

/**
 * The API server compiles no CEL expression longer than this, in code points: it refuses to store a policy
 * with one (422 `expression code point size exceeds limit`), so `kubectl apply` and `helm install` fail.
 */
export const MAX_CEL_EXPRESSION_LENGTH = 100_000;

/** The variables that hold the policy's own lists, whose length grows with them, and the policy keys they come from. */
const GROWING_VARIABLES: Readonly<Record<string, string>> = {
  policyEntries: 'allowedHostPaths and builtinHostPaths',
  builtinKeys: 'builtinHostPaths',
  trustedProvisioners: 'trustedProvisioners',
};

/** Refuses a policy whose lists make a variable longer than the API server compiles, naming the policy keys. */
function checkExpressionLengths(variables: ReadonlyArray<{ readonly name: string; readonly expression: string }>): void {
  for (const { name, expression } of variables) {
    const field = GROWING_VARIABLES[name];
    if (field === undefined) continue;
    let length = 0;
    for (const _ of expression) length++;
    if (length > MAX_CEL_EXPRESSION_LENGTH) {
      throw new BackstopError(
        field,
        `make the backstop's CEL variable ${name} ${length} characters long, over the ${MAX_CEL_EXPRESSION_LENGTH} the API server compiles in one expression: it would refuse the ValidatingAdmissionPolicy; use fewer or shorter entries, or run without the backstop`,
      );
    }
  }
}

export function backstop(policy: CompiledPolicy, options: BackstopOptions = DEFAULT_BACKSTOP_OPTIONS): Backstop {
  const entries = backstopEntries(policy);
  const literals = [
    { name: 'policyEntries', expression: celEntries(entries) },
    { name: 'positions', expression: celPositions(entries) },
    { name: 'trustedProvisioners', expression: celStringList([...policy.trustedProvisioners]) },
    { name: 'sandboxUserAnnotation', expression: celString(policy.sandboxUserAnnotation) },
    { name: 'injectedMayCreate', expression: policy.hostPathType === 'DirectoryOrCreate' ? 'true' : 'false' },
    { name: 'baseline', expression: policy.baseline ? 'true' : 'false' },
    { name: 'handWrittenBuiltin', expression: policy.handWritten === undefined ? 'false' : 'true' },
    { name: 'builtinKeys', expression: celStringList(builtinKeys(policy)) },
  ];
  checkExpressionLengths(literals);
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
          ...literals,
          { name: 'namespaceName', expression: NAMESPACE },
          { name: 'username', expression: USER },
          { name: 'trusted', expression: TRUSTED },
          { name: 'sandboxUser', expression: SANDBOX_USER },
          { name: 'applicable', expression: APPLICABLE },
          { name: 'hostPathVolumes', expression: HOST_PATH_VOLUMES },
          { name: 'outside', expression: OUTSIDE },
          { name: 'readOnlyBelow', expression: READ_ONLY_BELOW },
          { name: 'holdsReadOnly', expression: HOLDS_READ_ONLY },
          { name: 'readOnlyVolumes', expression: READ_ONLY_VOLUMES },
          { name: 'containers', expression: CONTAINERS },
          { name: 'writers', expression: WRITERS },
          { name: 'creators', expression: CREATORS },
          { name: 'subPathMounters', expression: SUB_PATH_MOUNTERS },
          { name: 'rootMounters', expression: ROOT_MOUNTERS },
          { name: 'untrustedSandboxUser', expression: UNTRUSTED_SANDBOX_USER },
          { name: 'baselinePodBreaks', expression: BASELINE_POD_BREAKS },
          { name: 'baselineContainers', expression: BASELINE_CONTAINERS },
          { name: 'baselineBreaks', expression: BASELINE_BREAKS },
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
          {
            expression: CREATORS_EXPRESSION,
            messageExpression: CREATORS_MESSAGE,
            message: 'a hostPath volume would have the kubelet create its path in a host path the mountgate policy makes read-only',
            reason: 'Forbidden',
          },
          {
            expression: SUB_PATH_EXPRESSION,
            messageExpression: SUB_PATH_MESSAGE,
            message: 'a container mounts a host path the mountgate policy makes read-only with a subPath, which the kubelet creates when it is missing',
            reason: 'Forbidden',
          },
          {
            expression: ROOT_MOUNTERS_EXPRESSION,
            messageExpression: ROOT_MOUNTERS_MESSAGE,
            message: "a debug container mounts whole a mountgate volume that the Pod's containers mount only below its root",
            reason: 'Forbidden',
          },
          {
            expression: SANDBOX_USER_TRUST_EXPRESSION,
            messageExpression: SANDBOX_USER_TRUST_MESSAGE,
            message: 'only a trusted provisioner may create a Pod with hostPath volumes that names its sandbox user',
            reason: 'Forbidden',
          },
          {
            expression: BASELINE_EXPRESSION,
            messageExpression: BASELINE_MESSAGE,
            message: 'a Pod with hostPath volumes breaks Pod Security baseline, which the mountgate policy keeps for such Pods (podSecurity: baseline)',
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
