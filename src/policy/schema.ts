/**
 * The policy file's schema. The types of the policy are inferred from it, so
 * the file format and the code cannot drift apart.
 */
import { array, boolean, number, object, string, type AnyObjectSchema, type InferType } from 'yup';
import { canonicalPath } from './paths.js';
import { isPattern, patternProblem } from './patterns.js';
import { listedKeys } from './problem-list.js';

export const DEFAULT_ANNOTATION = 'mountgate.io/mounts';
export const DEFAULT_SANDBOX_USER_ANNOTATION = 'mountgate.io/sandbox-user';
export const HOST_PATH_TYPES = ['auto', 'Directory', 'DirectoryOrCreate'] as const;
/** What a hostPath volume written into a Pod by hand may lie under: both lists, or builtinHostPaths alone. */
export const HAND_WRITTEN_HOST_PATHS = ['allowed', 'builtin'] as const;
/** baseline: a Pod with hostPath volumes keeps Pod Security baseline in all but those; privileged: nothing beyond host paths is judged. */
export const POD_SECURITY_MODES = ['baseline', 'privileged'] as const;
/**
 * Where mountgate roots the hostPath volume of a request: at the requested path, or at the shortest directory above
 * it that a read-write request could name, the rest of the path becoming the mount's subPath.
 */
export const VOLUME_ROOTS = ['requested', 'writableAncestor'] as const;

// An annotation key: an optional DNS-subdomain prefix and a name of at most 63 characters.
const ANNOTATION_KEY =
  /^(?:(?=[a-z0-9.-]{1,253}\/)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\/)?(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * yup's noUnknown, its message `problem` followed by the unknown keys: a few all, more as the first few and how many
 * others there are (yup's own ${unknown} names every one, some 150 KB for a policy of 20,000 keys).
 */
export function refusingUnknownKeys<S extends AnyObjectSchema>(schema: S, problem: (path: string) => string): S {
  const known = new Set(Object.keys(schema.fields));
  return schema.noUnknown(true, ({ path, value }: { path: string; value: object }) => `${problem(path)}: ${listedKeys(Object.keys(value).filter((key) => !known.has(key)))}`);
}

/** A canonical absolute path; one trailing "/" is accepted and trimmed, as for requests. */
const absolutePath = () =>
  string()
    .strict()
    .typeError('${path} must be a string')
    .test('canonical', function check(value) {
      if (value === undefined) return true;
      const result = canonicalPath(value);
      return result.ok || this.createError({ message: `\${path} ${result.problem}` });
    })
    .transform((value: string) => {
      const result = canonicalPath(value);
      return result.ok ? result.path : value;
    });

/** An allowedHostPaths or builtinHostPaths entry (a MountPolicy's allowedHostPaths entries too). */
export const pathPrefixEntry = refusingUnknownKeys(
  object({
    pathPrefix: absolutePath()
      .required('${path} is required')
      .test('not-root', '${path} must not be "/" (that would allow the whole node)', (value) => value !== '/' && value !== undefined)
      .test('pattern', function check(value) {
        const canonical = value === undefined ? undefined : canonicalPath(value);
        const problem = canonical?.ok === true ? patternProblem(canonical.path) : undefined;
        return problem === undefined || this.createError({ message: `\${path} ${problem}` });
      }),
    readOnly: boolean().strict().typeError('${path} must be true or false').default(false),
  }),
  (path) => `${path} has an unknown key`,
)
  .typeError('${path} must be a mapping with pathPrefix and readOnly')
  .strict();

/** A list of mount targets no request may use (reservedMountPaths, here and in a MountPolicy). */
export const reservedMountPaths = () =>
  array(
    absolutePath()
      .required('${path} must not be empty')
      // An admin writing /var/* would believe all of /var reserved; a reserved path already covers everything under it.
      .test('no-pattern', '${path} takes no "*" or placeholders (a reserved path covers everything under it)', (value) => value === undefined || !isPattern(value)),
  )
    .strict()
    .typeError('${path} must be a list');

export const maxMounts = () =>
  number().strict().typeError('${path} must be a number').integer('${path} must be a whole number').min(0, '${path} must not be negative');

const nonEmptyName = () => string().strict().typeError('${path} must be a string').required('${path} must not be empty');

const annotationKey = (example: string) =>
  string()
    .strict()
    .typeError('${path} must be a string')
    .matches(ANNOTATION_KEY, `\${path} must be a valid annotation key such as ${example}`);

export const policySchema = refusingUnknownKeys(
  object({
    annotation: annotationKey(DEFAULT_ANNOTATION).default(DEFAULT_ANNOTATION),
    allowedHostPaths: array(pathPrefixEntry).strict().typeError('${path} must be a list').default([]),
    builtinHostPaths: array(pathPrefixEntry).strict().typeError('${path} must be a list').default([]),
    reservedMountPaths: reservedMountPaths().default([]),
    maxMounts: maxMounts().default(10),
    hostPathType: string()
      .strict()
      .typeError('${path} must be a string')
      .oneOf(HOST_PATH_TYPES, `\${path} must be one of ${HOST_PATH_TYPES.join(', ')}`)
      .default('auto'),
    containers: array(nonEmptyName()).strict().typeError('${path} must be a list').default([]),
    requesters: array(nonEmptyName()).strict().typeError('${path} must be a list').default([]),
    // No defaults for the five keys below, so a policy that does not use them is read without them (compilePolicy supplies the defaults).
    /** Who may name the sandbox user of a Pod (fills {sandboxUser}): usernames, or "group:NAME". Default []. */
    trustedProvisioners: array(nonEmptyName()).strict().typeError('${path} must be a list').optional(),
    /** The Pod annotation that names the sandbox user. Default mountgate.io/sandbox-user. */
    sandboxUserAnnotation: annotationKey(DEFAULT_SANDBOX_USER_ANNOTATION).optional(),
    /** builtin: a hostPath volume not named mountgate-... must lie under builtinHostPaths. Default allowed (either list). */
    handWrittenHostPaths: string()
      .strict()
      .typeError('${path} must be a string')
      .oneOf(HAND_WRITTEN_HOST_PATHS, `\${path} must be one of ${HAND_WRITTEN_HOST_PATHS.join(', ')}`)
      .optional(),
    /** baseline: the rest of Pod Security baseline is required of a Pod with hostPath volumes. Default baseline. */
    podSecurity: string()
      .strict()
      .typeError('${path} must be a string')
      .oneOf(POD_SECURITY_MODES, `\${path} must be one of ${POD_SECURITY_MODES.join(', ')}`)
      .optional(),
    /** writableAncestor: a request's volume is rooted where a link planted below cannot lead the mount out of it. Default requested. */
    volumeRoot: string()
      .strict()
      .typeError('${path} must be a string')
      .oneOf(VOLUME_ROOTS, `\${path} must be one of ${VOLUME_ROOTS.join(', ')}`)
      .optional(),
  })
    .test('distinct-annotations', function distinct(value) {
      // The two keys hold different things (a JSON list, a user name); one key for both would make every
      // sandbox-user value an unreadable mounts annotation.
      if (value === undefined || value === null || typeof value !== 'object') return true;
      const annotation = value.annotation ?? DEFAULT_ANNOTATION;
      if ((value.sandboxUserAnnotation ?? DEFAULT_SANDBOX_USER_ANNOTATION) !== annotation) return true;
      return this.createError({ path: 'sandboxUserAnnotation', message: `sandboxUserAnnotation must differ from annotation (both are ${annotation})` });
    }),
  () => 'unknown key',
)
  .typeError('the policy must be a mapping of keys such as allowedHostPaths')
  .strict();

export type Policy = InferType<typeof policySchema>;
export type PathPrefixEntry = Policy['allowedHostPaths'][number];
export type HostPathType = Policy['hostPathType'];
