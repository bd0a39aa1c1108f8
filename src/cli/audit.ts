/**
 * `mountgate audit`: list the existing Pods that the policy would refuse
 * today, reading the cluster through the usual kubeconfig rules.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { auditPolicy, judgeExistingPod, policiesByNamespace, type Finding, type Unjudged } from '../audit/judge.js';
import { listMountPolicies } from '../audit/list-mount-policies.js';
import { podPages } from '../audit/list-pods.js';
import { formatReport } from '../audit/report.js';
import { loadFromFileOrDefault } from '../cluster/kubeconfig.js';
import { loadPolicyFile } from '../policy/load.js';
import type { Io } from './check.js';
import type { AuditSettings } from './audit-options.js';
import { escapeControl, EXIT_DENIED, EXIT_OK, EXIT_USAGE, firstLine, UsageError } from './usage.js';

/** `settings` come from parseAuditArgs, which does not load this module's Kubernetes client. */
export async function audit(settings: AuditSettings, io: Io): Promise<number> {
  const policy = auditPolicy((await loadPolicyFile(settings.configPath)).policy);
  const config = new KubeConfig();
  try {
    loadFromFileOrDefault(config, settings.kubeconfigPath);
  } catch (error) {
    throw new UsageError(`audit: cannot load the kubeconfig: ${firstLine(error)}`);
  }

  const scope = settings.scope ?? { namespace: contextNamespace(config) ?? 'default' };

  let mountPolicies: Awaited<ReturnType<typeof listMountPolicies>>;
  try {
    mountPolicies = await listMountPolicies(config, scope);
  } catch (error) {
    // Judging without them could miss a Pod a MountPolicy refuses: no report rather than a partial one.
    io.stderr(`mountgate: audit: cannot list MountPolicies: ${escapeControl(describeApiError(error))}\n`);
    return EXIT_USAGE;
  }
  const policyOf = policiesByNamespace(policy, mountPolicies === 'not-installed' ? [] : mountPolicies);

  const findings: Finding[] = [];
  const cannotJudgeOffline: Unjudged[] = [];
  let podsScanned = 0;
  try {
    for await (const page of podPages(config, scope, settings.pageSize)) {
      for (const pod of page) {
        podsScanned++;
        const judgement = judgeExistingPod(pod, policyOf(pod.metadata?.namespace ?? ''));
        if (judgement.outcome === 'breaks') findings.push(judgement.finding);
        if (judgement.outcome === 'cannot-judge-offline') cannotJudgeOffline.push(judgement.unjudged);
      }
    }
  } catch (error) {
    io.stderr(`mountgate: audit: cannot list Pods: ${escapeControl(describeApiError(error))}\n`);
    return EXIT_USAGE;
  }
  io.stdout(formatReport({ podsScanned, findings, cannotJudgeOffline }, settings.format));
  // A Pod that cannot be judged offline is listed, but is no finding: it may well be compliant.
  return findings.length > 0 ? EXIT_DENIED : EXIT_OK;
}

function contextNamespace(config: KubeConfig): string | undefined {
  const context = config.getContextObject(config.getCurrentContext());
  return context?.namespace || undefined;
}

/**
 * `HTTP 403: pods is forbidden: ...`: the code and the message of the API server's Status. The client's own
 * message starts "HTTP-Code: 403" and puts the Status on later lines, which one line would drop.
 */
function describeApiError(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'number') {
    const status = 'body' in error ? statusMessage(error.body) : undefined;
    return `HTTP ${error.code}: ${status ?? firstLine(error)}`;
  }
  return firstLine(error);
}

/** The message of a Status body, as the client hands it over (parsed, or the response text). */
function statusMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null || !('message' in parsed)) return undefined;
  return typeof parsed.message === 'string' && parsed.message !== '' ? parsed.message : undefined;
}
