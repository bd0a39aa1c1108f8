/**
 * `mountgate audit` flags. Apart from the command itself, which loads the
 * Kubernetes client: the usage must not cost every other command that load.
 */
import type { Scope } from '../audit/list-pods.js';
import type { OutputFormat } from '../audit/report.js';
import { flagAsWritten, parseOptions, type OptionSpecs } from './options.js';
import { isNamespaceName } from './names.js';
import { ArgumentError } from './usage.js';

/** Pods asked for per list request. */
const PAGE_SIZE = 250;
const MAX_PAGE_SIZE = 5000;

export const AUDIT_OPTIONS = {
  config: { type: 'string', value: 'FILE', description: 'the policy file, YAML or JSON; required' },
  namespace: { type: 'string', short: 'n', value: 'NS', description: 'audit this namespace (default: the current context\'s namespace, else "default")' },
  'all-namespaces': { type: 'boolean', short: 'A', description: 'audit every namespace' },
  output: { type: 'string', short: 'o', value: 'FORMAT', fallback: 'table', description: 'table or json' },
  kubeconfig: { type: 'string', value: 'FILE', description: 'the kubeconfig to use (else KUBECONFIG, ~/.kube/config or in-cluster)' },
  'page-size': { type: 'string', value: 'N', fallback: String(PAGE_SIZE), description: `Pods per list request, 1 to ${MAX_PAGE_SIZE}` },
} as const satisfies OptionSpecs;

export interface AuditSettings {
  readonly configPath: string;
  /** Undefined: the namespace of the kubeconfig's current context, else "default", as kubectl does. */
  readonly scope: Scope | undefined;
  readonly format: OutputFormat;
  readonly kubeconfigPath: string | undefined;
  readonly pageSize: number;
}

export function parseAuditArgs(argv: readonly string[]): AuditSettings {
  const values = parseOptions('audit', argv, AUDIT_OPTIONS);
  if (values.config === undefined) throw new ArgumentError('audit', '--config FILE is required');
  if (values.namespace !== undefined && values['all-namespaces'] === true) {
    throw new ArgumentError('audit', 'give --namespace NS or --all-namespaces, not both');
  }
  if (values.namespace !== undefined && !isNamespaceName(values.namespace)) {
    throw new ArgumentError('audit', `--namespace ${JSON.stringify(values.namespace)} is not a namespace name (lower-case letters, digits and "-", at most 63)`);
  }
  const format = values.output ?? AUDIT_OPTIONS.output.fallback;
  if (format !== 'table' && format !== 'json') {
    throw new ArgumentError('audit', `${flagAsWritten(argv, AUDIT_OPTIONS, 'output')} must be table or json, not "${format}"`);
  }
  const pageSizeText = values['page-size'] ?? AUDIT_OPTIONS['page-size'].fallback;
  const pageSize = Number(pageSizeText);
  if (!/^\d+$/.test(pageSizeText) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new ArgumentError('audit', `--page-size must be a whole number from 1 to ${MAX_PAGE_SIZE}, not "${values['page-size'] ?? ''}"`);
  }
  return {
    configPath: values.config,
    pageSize,
    scope: values['all-namespaces'] === true ? 'all-namespaces' : values.namespace === undefined ? undefined : { namespace: values.namespace },
    format,
    kubeconfigPath: values.kubeconfig,
  };
}
