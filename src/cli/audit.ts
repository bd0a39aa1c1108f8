/**
 * `mountgate audit`: list the existing Pods that the policy would refuse
 * today, reading the cluster through the usual kubeconfig rules.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { auditPolicy, judgeExistingPod, type Finding } from '../audit/judge.js';
import { PAGE_SIZE, podPages, type Scope } from '../audit/list-pods.js';
import { formatReport, type OutputFormat } from '../audit/report.js';
import { loadPolicyFile } from '../policy/load.js';
import type { Io } from './check.js';
import { EXIT_DENIED, EXIT_OK, EXIT_USAGE, firstLine, UsageError } from './usage.js';

export interface AuditSettings {
  readonly configPath: string;
  /** Undefined: the namespace of the kubeconfig's current context, else "default", as kubectl does. */
  readonly scope: Scope | undefined;
  readonly format: OutputFormat;
  readonly kubeconfigPath: string | undefined;
  readonly pageSize: number;
}

export function parseAuditArgs(argv: readonly string[]): AuditSettings {
  let values: { config?: string; namespace?: string; 'all-namespaces'?: boolean; output?: string; kubeconfig?: string; 'page-size'?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        output: { type: 'string', short: 'o' },
        kubeconfig: { type: 'string' },
        'page-size': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`audit: ${firstLine(error)}`);
  }
  if (values.config === undefined) throw new UsageError('audit: --config FILE is required');
  if (values.namespace !== undefined && values['all-namespaces'] === true) {
    throw new UsageError('audit: give --namespace NS or --all-namespaces, not both');
  }
  const format = values.output ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`audit: -o must be table or json, not "${format}"`);
  const pageSize = Number(values['page-size'] ?? PAGE_SIZE);
  if (!/^\d+$/.test(values['page-size'] ?? String(PAGE_SIZE)) || pageSize < 1 || pageSize > 5000) {
    throw new UsageError(`audit: --page-size must be a whole number from 1 to 5000, not "${values['page-size'] ?? ''}"`);
  }
  return {
    configPath: values.config,
    pageSize,
    scope: values['all-namespaces'] === true ? 'all-namespaces' : values.namespace === undefined ? undefined : { namespace: values.namespace },
    format,
    kubeconfigPath: values.kubeconfig,
  };
}

export async function audit(argv: readonly string[], io: Io): Promise<number> {
  const settings = parseAuditArgs(argv);
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
