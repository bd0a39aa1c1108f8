/**
 * How a hostPath volume of a Pod is judged: mountgate's own (`mountgate-` names) by the allowed and built-in
 * lists; one written by hand, under handWrittenHostPaths: builtin, only inside a built-in entry and read-only
 * where that entry is too.
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { handWrittenAllowance, hostPathAllowance, type Allowance } from '../policy/allowance.js';
import type { Fillings } from '../policy/match.js';
import { isInjectedName } from './injection.js';

/**
 * The allowance of the hostPath volume `volumeName` at `path` (canonical). /validate's volume rules, the host
 * paths the runtime makes inside a volume and /mutate's look-ahead all judge with it, so that they cannot drift apart.
 */
export function hostPathVolumeAllowance(policy: CompiledPolicy, volumeName: string, path: string, fillings: Fillings): Allowance {
  const handWritten = isInjectedName(volumeName) ? undefined : policy.handWritten;
  return handWritten === undefined ? hostPathAllowance(policy, 'carriable', path, fillings) : handWrittenAllowance(policy, handWritten, path, fillings);
}
