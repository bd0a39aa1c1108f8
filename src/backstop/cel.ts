/**
 * The CEL of the backstop: fixed expressions that read the policy from eight
 * literals (variables policyEntries, positions, trustedProvisioners,
 * sandboxUserAnnotation, injectedMayCreate, baseline, handWrittenBuiltin and
 * builtinKeys), so that the Helm chart can render the same policy by filling
 * in only those eight lines.
 *
 * Each policy entry is a list of strings (a CEL literal must be of one type):
 * [rank, prefix, under, segments...]. `prefix` as written; `under`, what a path
 * below it starts with (for a pattern: its leading literal segments and "/",
 * a cheap test first); for a pattern, its segments follow, `*` and the
 * placeholders as written; variable positions lists the indexes 0 to the
 * longest pattern's segment count less one. `rank` orders entries as
 * mountgate's deciding order does (see backstopEntries): the covering entry
 * of least rank decides, and a rank ending in '0' is read-only. The
 * placeholders are filled once per request, exactly as mountgate fills them:
 * namespace and username from the request, the sandbox-user annotation only
 * when the requester is a trusted provisioner, each only when it is 1 to 64
 * letters, digits, "_" or "-"; an entry whose placeholder has no value does
 * not apply.
 *
 * Written for the CEL environment of Kubernetes 1.29 (what every 1.30+ API
 * server accepts): optional field selection (`?.`, orValue, 1.28), the
 * Kubernetes regex and list libraries (find, findAll, indexOf), strings
 * extension version 2 (substring, strings.quote). Nothing newer: no two-variable
 * comprehensions, no sets or lists extension, no format library.
 *
 * Every field of the object is read through has(), `?.` or orValue: a missing
 * field yields an empty list or an empty (hence non-canonical, hence denied)
 * path, never a "no such key" error.
 *
 * Cost: the API server stops an expression at 1,000,000 cost units and a
 * binding at 10,000,000 for all expressions and messages together. Each
 * volume's path is scanned a fixed number of times per literal entry, and
 * split at "/" once; a pattern compares its few segments with the path's by
 * position (no regex, whose cost would grow with the path times the pattern);
 * the placeholders are filled once per request; each
 * volume mount is compared only with the names of volumes under read-only
 * entries. Message expressions are evaluated on every request (also when the
 * rule holds), so each starts with a cheap test and returns '' when it holds.
 */
import { MAX_PATH_LENGTH } from '../policy/paths.js';
import { NON_CREATING_TYPES } from '../admission/host-paths.js';
import { VOLUME_PREFIX } from '../admission/injection.js';
import { CONTAINER_LISTS } from '../admission/pod.js';
import {
  APPARMOR_ANNOTATION_PREFIX,
  BASELINE_CAPABILITIES,
  BASELINE_SYSCTLS,
  LIFECYCLE_KEYS,
  PROBE_ACTIONS,
  PROBE_KEYS,
  PROFILE_TYPES,
  SELINUX_TYPES,
} from '../admission/pod-security-baseline.js';

/**
 * A CEL string literal for any string: JSON's escapes are a subset of CEL's.
 * <, >, &, U+2028 and U+2029 are escaped too, as Helm's toJson (Go's
 * encoding/json) does, so the chart and the CLI write the same literal.
 */
export function celString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A CEL list literal of strings. */
export function celStringList(values: readonly string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

/** More than half the limit in code points may still be within it in UTF-16 code units, which is what mountgate counts. */
const HALF_LIMIT = MAX_PATH_LENGTH / 2;
const ASTRAL = "'[\\\\x{10000}-\\\\x{10FFFF}]'";
// The regex holds the control characters themselves (CEL unescapes \u0000): a regex costs in proportion to its length.
const CONTROL = "'[\\u0000-\\u001f\\u007f]'";
/** One backslash, as a CEL string literal. */
const BACKSLASH = "'\\\\'";
/** An empty, "." or ".." segment of a path with "/" appended: the first one found names the problem. */
const BAD_SEGMENT = "'/(\\\\.\\\\.?)?/'";

/** A placeholder value as mountgate accepts it (src/policy/patterns.ts), else ''. */
const PLACEHOLDER_RE = "'^[A-Za-z0-9_-]{1,64}$'";
function validOrEmpty(value: string): string {
  return `${value}.matches(${PLACEHOLDER_RE}) ? ${value} : ''`;
}

/** {namespace}: the request's namespace. */
export const NAMESPACE = validOrEmpty("request.?namespace.orValue('')");
/** {user}: the requester's username. */
export const USER = validOrEmpty("request.?userInfo.?username.orValue('')");
/**
 * Whether the requester is a trusted provisioner: listed by username or as "group:NAME"; a username
 * spelled "group:NAME" is no member of the group (src/policy/match.ts listsRequester).
 */
export const TRUSTED =
  "(!request.?userInfo.?username.orValue('').startsWith('group:') && request.?userInfo.?username.orValue('') in variables.trustedProvisioners) || request.?userInfo.?groups.orValue([]).exists(g, 'group:' + g in variables.trustedProvisioners)";

/** {sandboxUser}: the Pod's annotation, only from a trusted provisioner. */
export const SANDBOX_USER = [
  "variables.trusted && object.?metadata.?annotations[?variables.sandboxUserAnnotation].orValue('').matches(" + PLACEHOLDER_RE + ')',
  " ? object.?metadata.?annotations[?variables.sandboxUserAnnotation].orValue('') : ''",
].join('');

/** Each placeholder and the variable holding its value ("namespace" is a reserved word in CEL). */
const FILLED_BY: ReadonlyArray<[placeholder: string, variable: string]> = [
  ['{namespace}', 'namespaceName'],
  ['{user}', 'username'],
  ['{sandboxUser}', 'sandboxUser'],
];

/** The entries that apply to this request (every placeholder they have is filled), placeholders filled in. */
export const APPLICABLE = [
  'variables.policyEntries.filter(e, ',
  FILLED_BY.map(([token, variable]) => `(!('${token}' in e) || variables.${variable} != '')`).join(' && '),
  ').map(e, e.map(s, ',
  FILLED_BY.map(([token, variable]) => `s == '${token}' ? variables.${variable} : `).join(''),
  's))',
].join('');

/**
 * Entry e covers the (trimmed) path of volume v, split at "/" into segs (segs[0] is ''): a literal
 * prefix by whole segments, a pattern segment by segment, `*` matching any one. A pattern's
 * segments are compared by position, so the cost does not grow with the length of a segment.
 */
const COVERS = [
  '(e.size() == 3 ? (v.path == e[1] || v.path.startsWith(e[2]))',
  " : (v.path.startsWith(e[2]) && segs.size() > e.size() - 3 && variables.positions.all(i, i >= e.size() - 3 || e[i + 3] == '*' || e[i + 3] == segs[i + 1])))",
].join('');

/** The least rank of `entries`, '' when there are none. */
function leastRank(entries: string): string {
  return `[${entries}.map(e, e[0])].map(r, r.size() == 0 ? '' : string(r.min()))[0]`;
}

/** An entry's key, as variables.builtinKeys holds those of builtinHostPaths (src/backstop/policy.ts entryKey). */
const BUILTIN_KEY = "(e[0] + ' ' + e[1])";

/**
 * The hostPath volumes: name, path as written (raw), path with one trailing
 * "/" trimmed (path), the rank of the entry that decides it ('' when none
 * covers it), and under handWrittenHostPaths: builtin, for a volume not named
 * `mountgate-`, the rank of the built-in entry that decides it ('' when none
 * covers it; '-' for every other volume, and for all under `allowed`).
 */
export const HOST_PATH_VOLUMES = [
  "object.?spec.?volumes.orValue([]).filter(v, has(v.hostPath))",
  ".map(v, {'name': string(v.?name.orValue('')), 'raw': string(v.hostPath.?path.orValue('')), 'type': string(v.hostPath.?type.orValue(''))})",
  ".map(v, {'name': v.name, 'raw': v.raw, 'type': v.type, 'path': v.raw.size() > 1 && v.raw.endsWith('/') ? v.raw.substring(0, v.raw.size() - 1) : v.raw})",
  // The covering entries are found once: a path thousands of characters long costs hundreds of units per entry compared.
  `.map(v, [v.path.split('/')].map(segs, [variables.applicable.filter(e, ${COVERS})].map(covering, {'name': v.name, 'raw': v.raw, 'type': v.type, 'path': v.path,`,
  ` 'decides': ${leastRank('covering')},`,
  ` 'builtin': !variables.handWrittenBuiltin || v.name.startsWith('${VOLUME_PREFIX}') ? '-' : ${leastRank(`covering.filter(e, ${BUILTIN_KEY} in variables.builtinKeys)`)}})[0])[0])`,
].join('');
/**
 * At most MAX_PATH_LENGTH UTF-16 code units, exactly: UTF-8 never has fewer bytes than UTF-16 has
 * code units, and half the limit in code points cannot exceed it; only a long path of many
 * non-ASCII characters pays for counting the characters beyond U+FFFF.
 */
const UTF16_LENGTH_OK = `(bytes(v.raw).size() <= ${MAX_PATH_LENGTH} || v.raw.size() <= ${HALF_LIMIT} || v.raw.size() + v.raw.findAll(${ASTRAL}).size() <= ${MAX_PATH_LENGTH})`;

/** Canonical (section 6): the checks of src/policy/paths.ts. */
const CANONICAL = `v.raw.startsWith('/') && ${UTF16_LENGTH_OK} && !v.raw.matches(${CONTROL}) && !v.raw.contains(${BACKSLASH}) && !(v.path + '/').matches(${BAD_SEGMENT})`;

/** Canonical and inside some entry (a hand-written one under handWrittenHostPaths: builtin, some built-in entry): what a volume must be. */
export const OUTSIDE = [
  'variables.hostPathVolumes.filter(v, !(',
  CANONICAL,
  " && v.decides != '' && v.builtin != ''",
  '))',
].join('');

/** A prefix as written with its placeholders filled ("{user}" and "{sandboxUser}" never overlap). */
function filled(prefix: string): string {
  return FILLED_BY.reduce((text, [token, variable]) => `${text}.replace('${token}', variables.${variable})`, prefix);
}

/**
 * The read-only entries that make a path above them read-only (src/policy/match.ts
 * readOnlyEntryBelow): every literal one; a pattern with `*`; a pattern without, only where it
 * decides at its own prefix (placeholders filled). Entries rank by shape, so one outranked there by
 * a read-write entry is outranked at every path below it: only entries of as many segments can
 * outrank it, a literal one equal to that prefix or a pattern covering it. Once per request.
 */
export const READ_ONLY_BELOW = [
  "variables.applicable.filter(e, e[0].endsWith('0') && (e.size() == 3 || e.exists(s, s == '*')",
  ` || [${filled('e[1]')}].map(own, variables.applicable.filter(f, f[0] <= e[0] && (f.size() == 3 ? f[1] == own`,
  " : f.size() == e.size() && own.startsWith(f[2]) && variables.positions.all(i, i >= e.size() - 3 || f[i + 3] == '*' || f[i + 3] == e[i + 3]))).map(f, f[0]).min().endsWith('0'))[0]))",
].join('');

/** Read-only entry e lies strictly below the (trimmed) path of volume v: a literal by whole segments. */
const LITERAL_BELOW = "e.size() == 3 && e[1].size() > v.path.size() && e[1].startsWith(v.path + '/')";
/**
 * Pattern e reaches strictly below the path of volume v, split at "/" into segs (src/policy/match.ts
 * reachesBelow): it has more segments, and the path's segments match its first ones. Its
 * placeholders are filled, or it would not be applicable.
 */
const PATTERN_BELOW =
  "e.size() > 3 && segs.size() < e.size() - 2 && variables.positions.all(i, i >= segs.size() - 1 || e[i + 3] == '*' || e[i + 3] == segs[i + 1])";

/**
 * The volumes whose deciding entry is read-write but whose path holds a read-only entry below it:
 * a read-write mount (or one with a subPath) would write into it. Only a volume under a pattern
 * that could lie below is split at "/", once. readOnlyBelow, whose cost grows with the policy, is
 * worked out only for a Pod with a read-write host path (variables are evaluated when first used).
 */
export const HOLDS_READ_ONLY = [
  "!variables.hostPathVolumes.exists(v, v.decides.endsWith('1')) || variables.readOnlyBelow.size() == 0 ? [] : variables.hostPathVolumes.filter(v, v.decides.endsWith('1')",
  ` && (variables.readOnlyBelow.exists(e, ${LITERAL_BELOW})`,
  ` || variables.readOnlyBelow.exists(e, e.size() > 3) && [v.path.split('/')].map(segs, variables.readOnlyBelow.exists(e, ${PATTERN_BELOW}))[0])`,
  ').map(v, v.name)',
].join('');

/**
 * The deciding entry is read-only (its rank ends in '0'), the path holds a read-only entry below it, or, for a
 * volume written by hand under handWrittenHostPaths: builtin, the deciding built-in entry is read-only.
 */
export const READ_ONLY_VOLUMES =
  "variables.hostPathVolumes.filter(v, v.decides.endsWith('0') || v.builtin.endsWith('0')).map(v, v.name) + variables.holdsReadOnly";

export const CONTAINERS =
  'object.?spec.?containers.orValue([]) + object.?spec.?initContainers.orValue([]) + object.?spec.?ephemeralContainers.orValue([])';

const WRITES_READ_ONLY = "!m.?readOnly.orValue(false) && string(m.?name.orValue('')) in variables.readOnlyVolumes";

export const WRITERS = `variables.readOnlyVolumes.size() == 0 ? [] : variables.containers.filter(c, c.?volumeMounts.orValue([]).exists(m, ${WRITES_READ_ONLY}))`;

/**
 * At a Pod's creation, volumes whose deciding entry (or deciding built-in entry, see READ_ONLY_VOLUMES) is read-only and whose type has the path created when
 * missing (src/admission/host-paths.ts, rule host-path-volume-creates): by the kubelet (the *OrCreate types)
 * or by the container runtime (no type). A mountgate- volume of type DirectoryOrCreate is let through only
 * where the policy's hostPathType is DirectoryOrCreate (variables.injectedMayCreate), the one setting under
 * which mountgate itself adds such a volume in a read-only path.
 */
export const CREATORS = [
  "request.?operation.orValue('CREATE') != 'CREATE' ? [] : variables.hostPathVolumes.filter(v, (v.decides.endsWith('0') || v.builtin.endsWith('0'))",
  ` && !(v.type in [${NON_CREATING_TYPES.map((type) => `'${type}'`).join(', ')}])`,
  ` && !(variables.injectedMayCreate && v.name.startsWith('${VOLUME_PREFIX}') && v.type == 'DirectoryOrCreate'))`,
].join('');

/** A mount with a subPath the kubelet creates when missing, of a read-only volume (or one holding a read-only entry). */
const SUB_PATH_IN_READ_ONLY =
  "(string(m.?subPath.orValue('')) != '' || string(m.?subPathExpr.orValue('')) != '') && string(m.?name.orValue('')) in variables.readOnlyVolumes";

/** At a Pod's creation; an ephemeral container cannot have a subPath. */
export const SUB_PATH_MOUNTERS = `request.?operation.orValue('CREATE') != 'CREATE' || variables.readOnlyVolumes.size() == 0 ? [] : variables.containers.filter(c, c.?volumeMounts.orValue([]).exists(m, ${SUB_PATH_IN_READ_ONLY}))`;

/** Paths in messages are cut short: the API server drops a message over 5 KiB. */
const MESSAGE_PATH = 1024;
function quotedShort(path: string): string {
  return `strings.quote(${path}.size() > ${MESSAGE_PATH} ? ${path}.substring(0, ${MESSAGE_PATH}) + '...' : ${path})`;
}

/** The problem with a path, in mountgate's words (src/policy/paths.ts), in the same order of checks. */
const PROBLEM = [
  "v.raw == '' ? 'is empty'",
  `: !${UTF16_LENGTH_OK} ? 'is longer than ${MAX_PATH_LENGTH} UTF-16 code units'`,
  `: v.raw.matches(${CONTROL}) ? 'contains a control character'`,
  `: v.raw.contains(${BACKSLASH}) ? 'contains a backslash, a path separator on Windows nodes'`,
  ": !v.raw.startsWith('/') ? 'is not absolute'",
  `: v.raw != '/' && (v.path + '/').matches(${BAD_SEGMENT}) ? ((v.path + '/').find(${BAD_SEGMENT}) == '//' ? 'has an empty segment (\"//\")' : 'has a \"' + (v.path + '/').find(${BAD_SEGMENT}).substring(1, (v.path + '/').find(${BAD_SEGMENT}).size() - 1) + '\" segment')`,
  ": v.builtin == '' ? 'is not under any built-in host path (with handWrittenHostPaths: builtin, allowed host paths come only through the annotation)'",
  ": 'is not under any allowed or built-in host path'",
].join(' ');

/** `spec.volumes[I].hostPath.path (volume "NAME"): "PATH" PROBLEM`, for the first volume outside. */
export const OUTSIDE_MESSAGE = [
  "variables.outside.size() == 0 ? '' : [variables.outside[0]].map(v,",
  " 'spec.volumes[' + string(object.?spec.?volumes.orValue([]).map(x, string(x.?name.orValue(''))).indexOf(v.name)) + '].hostPath.path (volume ' + strings.quote(v.name) + '): '",
  ` + (${CANONICAL} ? ${quotedShort('v.path')} : ${quotedShort('v.raw')})`,
  ` + ' ' + (${PROBLEM})`,
  ')[0]',
].join('');

/** The prefix of the entry that decides volume v: the first in the policy of those of its rank that cover it. */
const DECIDING_PREFIX = `[v.path.split('/')].map(segs, variables.applicable.filter(e, e[0] == v.decides && ${COVERS}))[0][0][1]`;
/**
 * The prefix of the built-in entry that decides volume v (v.builtin a rank): the first in builtinHostPaths of
 * those of its rank that cover it, cut from its key. Not the first in policyEntries, as DECIDING_PREFIX: mountgate
 * orders builtinHostPaths alone here, and an entry also listed in allowedHostPaths sits earlier in policyEntries.
 */
const BUILTIN_PREFIX = [
  `[v.path.split('/')].map(segs, [variables.applicable.filter(e, e[0] == v.builtin && ${COVERS}).map(e, ${BUILTIN_KEY})]`,
  '.map(keys, variables.builtinKeys.filter(k, k in keys)[0].substring(v.builtin.size() + 1))[0])[0]',
].join('');

/** A string's length in UTF-16 code units, as mountgate orders prefixes (sortLongestFirst). */
function utf16Length(value: string): string {
  return `(${value}.size() + ${value}.findAll(${ASTRAL}).size())`;
}

/**
 * The read-only entry below the path of volume v that mountgate names: the literal one with the
 * longest prefix (the first in the policy of those as long), else the pattern first in the deciding
 * order (least rank, then the first in the policy).
 */
const BELOW_PREFIX = [
  `[variables.readOnlyBelow.filter(e, ${LITERAL_BELOW})].map(l, l.size() > 0`,
  ` ? [l.map(e, ${utf16Length('e[1]')}).max()].map(n, l.filter(e, ${utf16Length('e[1]')} == n)[0][1])[0]`,
  ` : [v.path.split('/')].map(segs, [variables.readOnlyBelow.filter(e, ${PATTERN_BELOW})].map(p, [p.map(e, e[0]).min()].map(r, p.filter(e, e[0] == r)[0][1])[0])[0])[0]`,
  ')[0]',
].join('');

/**
 * Why volume v is read-only, as mountgate says it: the deciding entry, else the read-only entry below the path
 * ("inside it"), else the deciding built-in entry (handWrittenHostPaths: builtin).
 */
const READ_ONLY_REASON = [
  `(v.decides.endsWith('0') ? strings.quote(${DECIDING_PREFIX}) + ' is read-only'`,
  ` : v.name in variables.holdsReadOnly ? strings.quote(${BELOW_PREFIX}) + ' inside it is read-only'`,
  ` : strings.quote(${BUILTIN_PREFIX}) + ' is read-only')`,
].join('');

/**
 * `container "C" mounts "PATH" read-write (volume "NAME"), but "PREFIX" is read-only`, or
 * `..., but "PREFIX" inside it is read-only` for a read-only entry below the path, for the first such mount.
 */
export const WRITERS_MESSAGE = [
  "variables.writers.size() == 0 ? '' : [variables.writers[0]].map(c,",
  ` [c.?volumeMounts.orValue([]).filter(m, ${WRITES_READ_ONLY})[0]].map(m,`,
  " [variables.hostPathVolumes.filter(v, v.name == string(m.?name.orValue('')))[0]].map(v,",
  ` 'container ' + strings.quote(string(c.?name.orValue(''))) + ' mounts ' + ${quotedShort('v.path')} + ' read-write (volume ' + strings.quote(v.name) + '), but '`,
  ` + ${READ_ONLY_REASON}`,
  ')[0])[0])[0]',
].join('');

/** `spec.volumes[I].hostPath.type (volume "NAME"): "TYPE" has the kubelet create "PATH" ...` (or "is not set, ..."), for the first such volume. */
export const CREATORS_MESSAGE = [
  "variables.creators.size() == 0 ? '' : [variables.creators[0]].map(v,",
  " 'spec.volumes[' + string(object.?spec.?volumes.orValue([]).map(x, string(x.?name.orValue(''))).indexOf(v.name)) + '].hostPath.type (volume ' + strings.quote(v.name) + '): '",
  " + (v.type == '' ? 'is not set, so the container runtime creates ' : strings.quote(v.type) + ' has the kubelet create ')",
  ` + ${quotedShort('v.path')} + ' when it is missing, but ' + strings.quote(v.decides.endsWith('0') ? ${DECIDING_PREFIX} : ${BUILTIN_PREFIX}) + ' is read-only; use '`,
  " + (v.type == 'FileOrCreate' ? 'File' : 'Directory')",
  ')[0]',
].join('');

/** `container "C" mounts "PATH" with subPath "S" (volume "NAME"), which the kubelet creates ...`, for the first such mount. */
export const SUB_PATH_MESSAGE = [
  "variables.subPathMounters.size() == 0 ? '' : [variables.subPathMounters[0]].map(c,",
  ` [c.?volumeMounts.orValue([]).filter(m, ${SUB_PATH_IN_READ_ONLY})[0]].map(m,`,
  " [variables.hostPathVolumes.filter(v, v.name == string(m.?name.orValue('')))[0]].map(v,",
  ` 'container ' + strings.quote(string(c.?name.orValue(''))) + ' mounts ' + ${quotedShort('v.path')} + ' with '`,
  " + (string(m.?subPathExpr.orValue('')) != '' ? 'subPathExpr ' + strings.quote(string(m.?subPathExpr.orValue(''))) : 'subPath ' + strings.quote(string(m.?subPath.orValue(''))))",
  " + ' (volume ' + strings.quote(v.name) + '), which the kubelet creates when it is missing, but '",
  ` + ${READ_ONLY_REASON}`,
  " + '; mount the subdirectory as a hostPath volume of its own'",
  ')[0])[0])[0]',
].join('');

/**
 * A mount of a mountgate volume that no container of the Pod (ephemeral ones aside) mounts whole: its
 * volume is rooted above the requested paths (volumeRoot: writableAncestor), and the containers mount it
 * with subPaths (src/admission/volume-root.ts, ephemeralRootMounts).
 */
const ROOT_MOUNT = [
  `string(m.?name.orValue('')).startsWith('${VOLUME_PREFIX}')`,
  " && !(object.?spec.?containers.orValue([]) + object.?spec.?initContainers.orValue([])).exists(k, k.?volumeMounts.orValue([]).exists(n,",
  " string(n.?name.orValue('')) == string(m.?name.orValue('')) && string(n.?subPath.orValue('')) == '' && string(n.?subPathExpr.orValue('')) == ''))",
].join('');

/** On an ephemeral-containers update, the ephemeral containers it adds that mount such a volume (they cannot have a subPath). */
export const ROOT_MOUNTERS = [
  "request.?subResource.orValue('') != 'ephemeralcontainers' ? [] : object.?spec.?ephemeralContainers.orValue([]).filter(c,",
  // The mounts first: most ephemeral containers have none, and the list of earlier ones can be long.
  ` c.?volumeMounts.orValue([]).exists(m, ${ROOT_MOUNT})`,
  " && !(oldObject == null ? [] : oldObject.?spec.?ephemeralContainers.orValue([])).exists(o, string(o.?name.orValue('')) == string(c.?name.orValue(''))))",
].join('');

/** `ephemeral container "C" mounts volume "NAME" ("PATH") whole, but ...`, for the first such mount. */
export const ROOT_MOUNTERS_MESSAGE = [
  "variables.rootMounters.size() == 0 ? '' : [variables.rootMounters[0]].map(c,",
  ` [c.?volumeMounts.orValue([]).filter(m, ${ROOT_MOUNT})[0]].map(m,`,
  " 'ephemeral container ' + strings.quote(string(c.?name.orValue(''))) + ' mounts volume ' + strings.quote(string(m.?name.orValue('')))",
  " + [variables.hostPathVolumes.filter(v, v.name == string(m.?name.orValue('')))].map(l, l.size() == 0 ? '' : ' (' + " + quotedShort('l[0].raw') + " + ')')[0]",
  " + \" whole, but the Pod's containers mount only paths below it (its volume is rooted above the requested paths, and an ephemeral container cannot have a subPath)\"",
  ')[0])[0]',
].join('');

export const OUTSIDE_EXPRESSION = 'variables.outside.size() == 0';
export const WRITERS_EXPRESSION = 'variables.writers.size() == 0';
export const CREATORS_EXPRESSION = 'variables.creators.size() == 0';
export const SUB_PATH_EXPRESSION = 'variables.subPathMounters.size() == 0';
export const ROOT_MOUNTERS_EXPRESSION = 'variables.rootMounters.size() == 0';

/**
 * At a Pod's creation, the sandbox-user annotation beside hostPath volumes only from a trusted provisioner
 * (sandbox-user-not-trusted): the requester's username when it breaks that, else nothing.
 */
export const UNTRUSTED_SANDBOX_USER =
  "request.?operation.orValue('CREATE') != 'CREATE' || variables.trusted || variables.hostPathVolumes.size() == 0 || !object.?metadata.?annotations[?variables.sandboxUserAnnotation].hasValue() ? [] : [request.?userInfo.?username.orValue('')]";
export const SANDBOX_USER_TRUST_EXPRESSION = 'variables.untrustedSandboxUser.size() == 0';
export const SANDBOX_USER_TRUST_MESSAGE = [
  "variables.untrustedSandboxUser.size() == 0 ? '' : 'metadata.annotations[' + variables.sandboxUserAnnotation + ']: names the sandbox user of a Pod with hostPath volumes, which only trustedProvisioners may do, and '",
  " + (variables.trustedProvisioners.size() == 0 ? 'trustedProvisioners is empty' : (variables.untrustedSandboxUser[0] == '' ? 'an anonymous user' : 'user \"' + variables.untrustedSandboxUser[0] + '\"') + ' is not in trustedProvisioners')",
].join('');

/**
 * podSecurity: baseline (src/admission/pod-security-baseline.ts): the fields of a Pod with hostPath volumes
 * that break a control of Pod Security baseline, in mountgate's order. The Pod's own fields come as full
 * field paths; each container's as the part after `spec.LIST[I]`, so that a container's list is worked out
 * only for the first container that breaks something (variables.baselineContainers).
 */
const SELINUX_TYPES_CEL = celStringList([...SELINUX_TYPES]);
const PROFILE_TYPES_CEL = celStringList([...PROFILE_TYPES]);

/** The broken fields of a securityContext `sc` (an optional), each as `field` plus its path. */
function contextBreaks(sc: string, field: string): string {
  const at = (path: string): string => `[${field} + '${path}']`;
  return [
    `(${sc}.?windowsOptions.?hostProcess.orValue(false) ? ${at('.windowsOptions.hostProcess')} : [])`,
    `(${sc}.?seLinuxOptions.hasValue() && !(${sc}.?seLinuxOptions.?type.orValue('') in ${SELINUX_TYPES_CEL}) ? ${at('.seLinuxOptions.type')} : [])`,
    `(${sc}.?seLinuxOptions.?user.orValue('') != '' ? ${at('.seLinuxOptions.user')} : [])`,
    `(${sc}.?seLinuxOptions.?role.orValue('') != '' ? ${at('.seLinuxOptions.role')} : [])`,
    `(${sc}.?seccompProfile.hasValue() && !(${sc}.?seccompProfile.?type.orValue('') in ${PROFILE_TYPES_CEL}) ? ${at('.seccompProfile.type')} : [])`,
    `(${sc}.?appArmorProfile.hasValue() && !(${sc}.?appArmorProfile.?type.orValue('') in ${PROFILE_TYPES_CEL}) ? ${at('.appArmorProfile.type')} : [])`,
  ].join(' + ');
}

/** The Pod's own broken fields: host namespaces, its securityContext, sysctls, AppArmor annotations. */
export const BASELINE_POD_BREAKS = [
  "!variables.baseline || variables.hostPathVolumes.size() == 0 ? [] : ",
  ['hostNetwork', 'hostPID', 'hostIPC'].map((key) => `(object.?spec.?${key}.orValue(false) ? ['spec.${key}'] : [])`).join(' + '),
  ` + ${contextBreaks('object.?spec.?securityContext', "'spec.securityContext'")}`,
  ` + [object.?spec.?securityContext.?sysctls.orValue([])].map(s, s.filter(x, !(string(x.?name.orValue('')) in ${celStringList([...BASELINE_SYSCTLS])})).map(x, 'spec.securityContext.sysctls[' + string(s.indexOf(x)) + '].name'))[0]`,
  // Map keys come in no fixed order: the least bad key, which /validate names first (it sorts them).
  ` + [object.?metadata.?annotations.orValue({})].map(a, a.filter(k, k.startsWith('${APPARMOR_ANNOTATION_PREFIX}') && !(a[k] == '' || a[k] == 'runtime/default' || a[k].startsWith('localhost/')))).map(b, b.size() == 0 ? [] : ['metadata.annotations[' + b.min() + ']'])[0]`,
].join('');

const PROBES = PROBE_KEYS.flatMap((probe) =>
  PROBE_ACTIONS.map((action) => `(c.?${probe}.?${action}.?host.orValue('') != '' ? ['.${probe}.${action}.host'] : [])`),
);
const HANDLERS = LIFECYCLE_KEYS.flatMap((handler) =>
  PROBE_ACTIONS.map((action) => `(c.?lifecycle.?${handler}.?${action}.?host.orValue('') != '' ? ['.lifecycle.${handler}.${action}.host'] : [])`),
);

/** A container c's broken fields, each as the part after `spec.LIST[I]`. */
const CONTAINER_BREAKS = [
  "(c.?securityContext.?privileged.orValue(false) ? ['.securityContext.privileged'] : [])",
  ` + [c.?securityContext.?capabilities.?add.orValue([])].map(a, a.filter(x, !(x in ${celStringList([...BASELINE_CAPABILITIES])})).map(x, '.securityContext.capabilities.add[' + string(a.indexOf(x)) + ']'))[0]`,
  ` + ${contextBreaks('c.?securityContext', "'.securityContext'")}`,
  " + (c.?securityContext.?procMount.hasValue() && c.?securityContext.?procMount.orValue('') != 'Default' ? ['.securityContext.procMount'] : [])",
  " + [c.?ports.orValue([])].map(ps, ps.filter(p, p.?hostPort.orValue(0) != 0).map(p, '.ports[' + string(ps.indexOf(p)) + '].hostPort'))[0]",
  ` + ${[...PROBES, ...HANDLERS].join(' + ')}`,
].join('');

/** The containers, init and ephemeral ones after them, that break a control. */
export const BASELINE_CONTAINERS = `!variables.baseline || variables.hostPathVolumes.size() == 0 ? [] : variables.containers.filter(c, (${CONTAINER_BREAKS}).size() > 0)`;

/** `spec.LIST[I]` of container c, by its name (unique in a Pod across the three lists); each list's names read once. */
const CONTAINER_FIELD = `${CONTAINER_LISTS.map(
  (list) => `[object.?spec.?${list}.orValue([]).map(x, string(x.?name.orValue('')))].map(names, string(c.?name.orValue('')) in names ? 'spec.${list}[' + string(names.indexOf(string(c.?name.orValue('')))) + ']' : `,
).join('')}'spec'${')[0]'.repeat(CONTAINER_LISTS.length)}`;

/** Every broken field of the Pod itself, then those of the first container that breaks a control. */
export const BASELINE_BREAKS = `variables.baselinePodBreaks + (variables.baselineContainers.size() == 0 ? [] : [variables.baselineContainers[0]].map(c, [${CONTAINER_FIELD}].map(field, (${CONTAINER_BREAKS}).map(f, field + f))[0])[0])`;

export const BASELINE_EXPRESSION = 'variables.baselineBreaks.size() == 0';

/** `FIELD: breaks Pod Security baseline ... (podSecurity: baseline)`, for the first broken field. */
export const BASELINE_MESSAGE =
  "variables.baselineBreaks.size() == 0 ? '' : variables.baselineBreaks[0] + ': breaks Pod Security baseline, which the mountgate policy keeps for Pods with hostPath volumes (podSecurity: baseline)'";
