/**
 * A Kyverno ClusterPolicy that comes as close as a ClusterPolicy can to a
 * mountgate policy (docs/reference.md, sections 4-8), generated from the same
 * policy object, so the benchmark's Kyverno and mountgate enforce one profile.
 * Prefix rules become RE2 patterns matched by whole path segment; the
 * annotation becomes a mutate `foreach` over `parse_json()` of it. What it
 * cannot say is listed in KYVERNO_GAPS (BENCHMARKS.md quotes it).
 */
export interface PrefixEntry {
  readonly pathPrefix: string;
  readonly readOnly?: boolean;
}

export interface MountgatePolicySpec {
  readonly annotation?: string;
  readonly allowedHostPaths: readonly PrefixEntry[];
  readonly builtinHostPaths?: readonly PrefixEntry[];
  readonly reservedMountPaths?: readonly string[];
  readonly maxMounts?: number;
  readonly containers?: readonly string[];
  readonly requesters?: readonly string[];
}

export const POLICY_NAME = 'mountgate-equivalent';

/** What the generated policy does not do that mountgate does (quoted in the report). */
export const KYVERNO_GAPS: readonly string[] = [
  'two entries for one mountPath are not refused: the strategic-merge patch keeps the last one (mountgate refuses conflicting entries)',
  'identical entries are not merged, and maxMounts counts them before merging (mountgate merges them, with a warning, then counts)',
  'a target equal to or under a mount the container already has is not refused (the API server itself refuses only an exact duplicate mountPath)',
  '`containers: []` (every container) cannot be said: the mounts go to the named containers only (the corpus runs with `sandbox`)',
  'hostPath type `auto` is decided per entry, not per distinct path',
  'a Pod already carrying a `mountgate-` volume that differs from what the annotation asks for is not refused',
];

const ANNOTATION_KEYS = ['hostPath', 'host_path', 'mountPath', 'container_path', 'readOnly', 'read_only'] as const;
const SYSTEM_TARGETS = ['/proc', '/sys', '/dev'];
/** Absolute, segments without "/" or control characters, at most one trailing "/" (RE2). */
const CANONICAL = '^(/[^/[:cntrl:]]+)+/?$';
const DOT_SEGMENT = '(^|/)[.][.]?(/|$)';

/** A JMESPath condition true for a path mountgate refuses as not canonical (the length aside); a backslash as a JSON literal, which a raw string cannot hold. */
function notCanonical(path: string): string {
  return `!regex_match(${rawString(CANONICAL)}, ${path}) || regex_match(${rawString(DOT_SEGMENT)}, ${path}) || contains(${path}, ${jsonLiteral('\\')})`;
}
const SAFE_SEGMENT = /^(?!\.\.?$)[A-Za-z0-9._~-]+$/;

/** An RE2 pattern for one prefix, by whole segment; "*" is any one segment. Brackets instead of backslashes, so JMESPath raw strings carry it unchanged. */
export function prefixPattern(prefix: string): string {
  const segments = prefix.replace(/\/$/, '').split('/').slice(1);
  const parts = segments.map((segment) => {
    if (segment === '*') return '[^/]+';
    if (!SAFE_SEGMENT.test(segment)) throw new Error(`prefix ${prefix}: segment ${JSON.stringify(segment)} is not supported here`);
    return segment.replace(/\./g, '[.]');
  });
  return `/${parts.join('/')}(/|$)`;
}

function anyOf(prefixes: readonly string[]): string {
  // "^$." matches nothing: an empty list covers no path.
  return prefixes.length === 0 ? '^$.' : `^(${prefixes.map(prefixPattern).join('|')})`;
}

/** At most this many segments take part in the literal-beats-"*" ordering; deeper ones still count for depth. */
const RANKED_SEGMENTS = 20;

/**
 * mountgate's order of deciding entries as one number: more segments first, then a literal segment beats "*"
 * at the first position where they differ (docs/reference.md, section 9).
 */
export function rank(prefix: string): number {
  const segments = prefix.replace(/\/$/, '').split('/').slice(1);
  const literals = segments.slice(0, RANKED_SEGMENTS).reduce((sum, segment, index) => sum + (segment === '*' ? 0 : 2 ** (RANKED_SEGMENTS - 1 - index)), 0);
  return segments.length * 2 ** RANKED_SEGMENTS + literals;
}

/** A JMESPath expression: the highest rank among the entries covering `path`, 0 when none does. */
function bestRank(entries: readonly PrefixEntry[], path: string): string {
  if (entries.length === 0) return '`0`';
  return `max([${entries.map((entry) => `(regex_match(${rawString(anyOf([entry.pathPrefix]))}, ${path}) && \`${rank(entry.pathPrefix)}\`) || \`0\``).join(', ')}])`;
}

/** A JMESPath expression, true when the entry deciding `path` is read-only (the best-ranked one; read-only wins a tie). */
function decidedReadOnly(entries: readonly PrefixEntry[], path: string): string {
  const readOnly = entries.filter((entry) => entry.readOnly === true);
  const writable = entries.filter((entry) => entry.readOnly !== true);
  if (readOnly.length === 0) return '`false`';
  return `(${bestRank(readOnly, path)} > \`0\` && ${bestRank(readOnly, path)} >= ${bestRank(writable, path)})`;
}

/** A JMESPath expression as a Kyverno condition key that must be true for a denial. */
function when(expression: string, message: string): Record<string, unknown> {
  return { key: `{{ ${expression} }}`, operator: 'Equals', value: true, message };
}

function rawString(value: string): string {
  if (value.includes("'") || value.includes('\\')) throw new Error(`cannot put ${value} in a JMESPath raw string`);
  return `'${value}'`;
}

function jsonLiteral(value: unknown): string {
  return `\`${JSON.stringify(value)}\``;
}

export function clusterPolicy(spec: MountgatePolicySpec): Record<string, unknown> {
  const annotation = spec.annotation ?? 'mountgate.io/mounts';
  const annotationValue = `request.object.metadata.annotations.${JSON.stringify(annotation)}`;
  const entries = `parse_json(${annotationValue})`;
  const containers = spec.containers !== undefined && spec.containers.length > 0 ? spec.containers : ['sandbox'];
  const maxMounts = spec.maxMounts ?? 10;
  const carriable = [...spec.allowedHostPaths, ...(spec.builtinHostPaths ?? [])];
  const hostPath = '(element.hostPath || element.host_path)';
  const mountPath = '(element.mountPath || element.container_path)';
  const writable = '(element.readOnly == `false` || element.read_only == `false`)';
  const forbiddenTargets = [...SYSTEM_TARGETS, ...(spec.reservedMountPaths ?? [])];
  // Present at all, even empty: an empty value is not a JSON list and must be refused, not skipped.
  const hasAnnotation = { all: [{ key: `{{ contains(keys(request.object.metadata.annotations || \`{}\`), ${rawString(annotation)}) }}`, operator: 'Equals', value: true }] };
  const rule = (name: string, body: Record<string, unknown>): Record<string, unknown> => ({
    name,
    match: { any: [{ resources: { kinds: ['Pod'], operations: ['CREATE'] } }] },
    ...body,
  });
  const enforce = (body: Record<string, unknown>): Record<string, unknown> => ({ validate: { failureAction: 'Enforce', ...body } });

  const volumeName = `{{ join('', ['mountgate-', truncate(sha256(${hostPath}), \`12\`)]) }}`;
  const mutate = rule('mounts-from-annotation', {
    preconditions: hasAnnotation,
    mutate: {
      foreach: [
        {
          list: entries,
          patchStrategicMerge: {
            spec: {
              volumes: [{ name: volumeName, hostPath: { path: `{{ ${hostPath} }}`, type: `{{ ${writable} && 'DirectoryOrCreate' || 'Directory' }}` } }],
              containers: containers.map((name) => ({
                name,
                volumeMounts: [{ name: volumeName, mountPath: `{{ ${mountPath} }}`, readOnly: `{{ !${writable} }}` }],
              })),
            },
          },
        },
      ],
    },
  });

  const entryRules = [
    when(`type(element) != 'object'`, 'an annotation entry is not an object'),
    when(`type(element) == 'object' && length(keys(element)[?!contains(${jsonLiteral(ANNOTATION_KEYS)}, @)]) > \`0\``, 'an annotation entry has an unknown key'),
    when(
      `contains(keys(element), 'hostPath') && contains(keys(element), 'host_path') || contains(keys(element), 'mountPath') && contains(keys(element), 'container_path') || contains(keys(element), 'readOnly') && contains(keys(element), 'read_only')`,
      'an annotation entry spells a field twice',
    ),
    when(`type(${hostPath}) != 'string' || type(${mountPath}) != 'string'`, 'hostPath and mountPath must be strings'),
    when(
      `type(element) == 'object' && (contains(keys(element), 'readOnly') && type(element.readOnly) != 'boolean' || contains(keys(element), 'read_only') && type(element.read_only) != 'boolean')`,
      'readOnly must be a boolean',
    ),
    when(`length(${hostPath}) > \`4096\` || length(${mountPath}) > \`4096\``, 'a path is over 4096 characters'),
    when(notCanonical(hostPath), 'hostPath is not a canonical absolute path'),
    when(notCanonical(mountPath), 'mountPath is not a canonical absolute path'),
    when(`!regex_match(${rawString(anyOf(spec.allowedHostPaths.map((entry) => entry.pathPrefix)))}, ${hostPath})`, 'hostPath is not under allowedHostPaths'),
    when(
      `${writable} && ${decidedReadOnly(spec.allowedHostPaths, hostPath)}`,
      'hostPath must be mounted read-only',
    ),
    when(`${mountPath} == '/' || regex_match(${rawString(anyOf(forbiddenTargets))}, ${mountPath})`, 'mountPath is a forbidden or reserved target'),
    when(`!contains(request.object.spec.volumes[?hostPath].hostPath.path, ${hostPath})`, 'a requested mount is missing from the Pod'),
  ];
  const validateEntries = rule('annotation-entries', {
    preconditions: hasAnnotation,
    ...enforce({ message: 'mountgate.io/mounts breaks the mount policy', foreach: [{ list: entries, deny: { conditions: { any: entryRules } } }] }),
  });
  const validateCount = rule('annotation-count', {
    preconditions: hasAnnotation,
    ...enforce({
      message: `at most ${maxMounts} mounts`,
      deny: {
        conditions: {
          any: [
            when(`type(${entries}) != 'array' || length(${entries}) > \`${maxMounts}\``, 'too many mounts, or not a list'),
            // foreach passes over null entries without looking at them.
            when(`length(map(&type(@), ${entries})[?@ != 'object']) > \`0\``, 'every entry must be an object'),
          ],
        },
      },
    }),
  });
  const requesters = spec.requesters ?? [];
  const users = requesters.filter((name) => !name.startsWith('group:'));
  const groups = requesters.filter((name) => name.startsWith('group:')).map((name) => name.slice('group:'.length));
  const validateRequester = rule('annotation-requester', {
    preconditions: hasAnnotation,
    ...enforce({
      message: 'this user may not request host mounts',
      deny: {
        conditions: {
          any: [
            when(
              `!contains(${jsonLiteral(users)}, request.userInfo.username) && length((request.userInfo.groups || \`[]\`)[?contains(${jsonLiteral(groups)}, @)]) == \`0\``,
              'not a requester',
            ),
          ],
        },
      },
    }),
  });
  // Every mount of every container, init and ephemeral one; the pipes end the projections before the filter.
  const everyMount = ['containers', 'initContainers', 'ephemeralContainers'].map((list) => `request.object.spec.${list}[].volumeMounts[]`).join(', ');
  const validateVolumes = rule('hostpath-volumes', {
    ...enforce({
      message: 'a hostPath volume breaks the mount policy',
      foreach: [
        {
          list: 'request.object.spec.volumes[?hostPath]',
          deny: {
            conditions: {
              any: [
                when(
                  `${notCanonical('element.hostPath.path')} || length(element.hostPath.path) > \`4096\``,
                  'hostPath is not a canonical absolute path',
                ),
                when(`!regex_match(${rawString(anyOf(carriable.map((entry) => entry.pathPrefix)))}, element.hostPath.path)`, 'hostPath is outside the allowed and built-in paths'),
                // The volume name is a DNS label here (validating admission runs on the validated object), so it may go into the expression.
                when(
                  `${decidedReadOnly(carriable, 'element.hostPath.path')} && ([${everyMount}][] | [?name == '{{ element.name }}' && readOnly != \`true\`] | length(@)) > \`0\``,
                  'a read-only hostPath is mounted read-write',
                ),
              ],
            },
          },
        },
      ],
    }),
  });

  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: POLICY_NAME, annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } },
    spec: {
      background: false,
      failurePolicy: 'Fail',
      rules: [mutate, validateEntries, validateCount, ...(requesters.length > 0 ? [validateRequester] : []), validateVolumes],
    },
  };
}
