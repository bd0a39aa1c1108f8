/**
 * `mountgate audit`: list the existing Pods that the policy would refuse
 * today, reading the cluster through the usual kubeconfig rules.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { auditPolicy, judgeExistingPod, type Finding } from '../audit/judge.js';
import { podPages } from '../audit/list-pods.js';
import { formatReport } from '../audit/report.js';
import { loadPolicyFile } from '../policy/load.js';
import type { Io } from './check.js';
import type { AuditSettings } from './audit-options.js';
import { EXIT_DENIED, EXIT_OK, EXIT_USAGE, firstLine, UsageError } from './usage.js';

/** `settings` come from parseAuditArgs, which does not load this module's Kubernetes client. */
export async function audit(settings: AuditSettings, io: Io): Promise<number> {
  const policy = auditPolicy((await loadPolicyFile(settings.configPath)).policy);
  const config = new KubeConfig();
  try {
    if (settings.kubeconfigPath === undefined) config.loadFromDefault();
    else config.loadFromFile(settings.kubeconfigPath);
  } catch (error) {
    throw new UsageError(`audit: cannot load the kubeconfig: ${firstLine(error)}`);
  }

  const scope = settings.scope ?? { namespace: contextNamespace(config) ?? 'default' };

  const findings: Finding[] = [];
  let podsScanned = 0;
  try {
    for await (const page of podPages(config, scope, settings.pageSize)) {
      for (const pod of page) {
        podsScanned++;
        const finding = judgeExistingPod(pod, policy);
        if (finding !== undefined) findings.push(finding);
      }
    }
  } catch (error) {
    io.stderr(`mountgate: audit: cannot list Pods: ${describeApiError(error)}\n`);
    return EXIT_USAGE;
  }
  io.stdout(formatReport({ podsScanned, findings }, settings.format));
  return findings.length > 0 ? EXIT_DENIED : EXIT_OK;
}

function contextNamespace(config: KubeConfig): string | undefined {
  const context = config.getContextObject(config.getCurrentContext());
  return context?.namespace || undefined;
}

function describeApiError(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'number') {
    return `HTTP ${error.code}: ${firstLine(error)}`;
  }
  return firstLine(error);
}
