/**
 * With volumeRoot: writableAncestor, where a request's hostPath volume is rooted.
 *
 * The kubelet follows symbolic links in a hostPath when it mounts it, so a link planted at any
 * directory of the requested path leads the mount wherever it points, the node's root included.
 * Whoever may write a directory can plant links below it; within the policy that is whoever may
 * mount it read-write. So the volume is rooted at the shortest directory above the requested path
 * that a read-write request could name, and the rest of the path becomes the mount's subPath: the
 * kubelet opens a subPath one component at a time and refuses one that leaves the volume. A link
 * below the root can then lead the mount only to another place inside it, which the same request
 * could have mounted read-write itself. Where no directory above the path could be mounted
 * read-write, nothing above it can be planted from a sandbox, and the volume is the path itself.
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { hostPathAllowance } from '../policy/allowance.js';
import type { Fillings } from '../policy/match.js';

/**
 * The volume's path for a request of canonical `hostPath`: its shortest proper ancestor that the
 * annotation could request read-write (allowed, read-write, no read-only entry below it), or
 * `hostPath` itself. Such a root passes /validate as a read-write volume, so a subPath below it is
 * not a path the kubelet may not create.
 */
export function writableRoot(hostPath: string, policy: CompiledPolicy, fillings: Fillings): string {
  for (let end = hostPath.indexOf('/', 1); end !== -1; end = hostPath.indexOf('/', end + 1)) {
    const ancestor = hostPath.slice(0, end);
    const allowance = hostPathAllowance(policy, 'requestable', ancestor, fillings);
    if (allowance.allowed && allowance.readOnly === undefined) return ancestor;
  }
  return hostPath;
}
