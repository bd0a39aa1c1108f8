/**
 * What `check` says of a policy that keeps volumeRoot: requested while a
 * request may be read-write. Each mount is then the very path a request names,
 * and the kubelet follows a symbolic link in any of its components: one sandbox
 * that may write under the entry plants a link, and a later request below it
 * is led anywhere on the node. The link-hazard search (link-hazards.ts) is for
 * what remains with writableAncestor; this is the one line for what it leaves.
 */
import type { CompiledPolicy } from './compile.js';
import { requestableReadWrite } from './link-hazards.js';

export function requestedRootWarning(policy: CompiledPolicy): string | undefined {
  if (policy.rootAtWritableAncestor) return undefined;
  const writable = requestableReadWrite(policy);
  const [first] = writable;
  if (first === undefined) return undefined;
  const others = writable.length - 1;
  const more = others === 0 ? '' : ` (and below ${others} more such ${others === 1 ? 'entry' : 'entries'})`;
  return (
    `volumeRoot: requested (the default) and a path below ${first} may be requested read-write${more}: each mount is the path its request names, ` +
    'so a symbolic link one request plants under such an entry leads a later request through it anywhere on the node; ' +
    'volumeRoot: writableAncestor mounts each request from a root that a link planted below it cannot lead out of'
  );
}
