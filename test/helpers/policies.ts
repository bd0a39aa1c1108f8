/** Policies for tests, built through the real parser so they are exactly what a file would give. */
import { parsePolicy, PolicyError } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';

export const BASE_POLICY = {
  allowedHostPaths: [
    { pathPrefix: '/srv/sandbox' },
    { pathPrefix: '/srv/models', readOnly: true },
    // A read-write directory inside a read-only one: the longest prefix decides.
    { pathPrefix: '/srv/models/scratch' },
  ],
  builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/.deer-flow/threads' }],
  reservedMountPaths: ['/mnt/skills', '/mnt/user-data'],
  maxMounts: 3,
};

export function policyOf(overrides: Record<string, unknown> = {}): CompiledPolicy {
  return parsePolicy(JSON.stringify({ ...BASE_POLICY, ...overrides }), 'test-policy.json');
}

/** The problems a policy text is refused for; fails when it is accepted. */
export function problemsOf(text: string): readonly string[] {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (error) {
    if (error instanceof PolicyError) return error.problems;
    throw error;
  }
  throw new Error('the policy was accepted');
}

/** A MountPolicy object as the API server would hand it over (generation 2, uid u-1). */
export function mountPolicy(spec: unknown, name = 'tenant', namespace = 'team-a'): Record<string, unknown> {
  return { apiVersion: 'mountgate.io/v1alpha1', kind: 'MountPolicy', metadata: { name, namespace, generation: 2, uid: 'u-1' }, spec };
}

/**
 * A valid MountPolicy spec whose JSON takes exactly `bytes` bytes (UTF-8): allowedHostPaths of long paths under
 * `prefix` written with `filler`, then ASCII ones to land on the size; every path under 4096 characters.
 */
export function specOfBytes(bytes: number, prefix: string, filler = 'x'): { allowedHostPaths: Array<{ pathPrefix: string }> } {
  const spec = { allowedHostPaths: [] as Array<{ pathPrefix: string }> };
  const size = (): number => Buffer.byteLength(JSON.stringify(spec));
  const add = (text: string): void => void spec.allowedHostPaths.push({ pathPrefix: `${prefix}/${spec.allowedHostPaths.length}/${text}` });
  const chunk = filler.repeat(3500);
  while (size() + Buffer.byteLength(chunk) + 4000 < bytes) add(chunk);
  while (size() + 3000 + 200 < bytes) add('a'.repeat(3000));
  add('');
  const missing = bytes - size();
  const last = spec.allowedHostPaths.at(-1);
  if (last === undefined || missing < 0 || missing > 3500) throw new Error(`specOfBytes(${bytes}) cannot land on the size (${missing} bytes to pad)`);
  last.pathPrefix += 'a'.repeat(missing);
  return spec;
}

/**
 * The line `check` prints first of a policy that keeps volumeRoot: requested where a path below `entry` (and
 * `others` more entries) may be requested read-write, without its "warning (policy): " and newline
 * (test/policy/requested-root.test.ts pins the wording row by row).
 */
export function requestedRootLine(entry: string, others = 0): string {
  const more = others === 0 ? '' : ` (and below ${others} more such ${others === 1 ? 'entry' : 'entries'})`;
  return (
    `volumeRoot: requested (the default) and a path below ${entry} may be requested read-write${more}: each mount is the path its request names, ` +
    'so a symbolic link one request plants under such an entry leads a later request through it anywhere on the node; ' +
    'volumeRoot: writableAncestor mounts each request from a root that a link planted below it cannot lead out of'
  );
}
