/** What a loaded policy's shape lets happen that none of its entries says, logged once per load. */
import type { Logger } from 'pino';
import type { CompiledPolicy } from '../policy/compile.js';
import { linkPlanterWarnings } from '../policy/link-planters.js';

export function logPolicyWarnings(logger: Logger, file: string, policy: CompiledPolicy): void {
  for (const warning of linkPlanterWarnings(policy.spec)) logger.warn({ file, warning }, 'policy warning');
}
