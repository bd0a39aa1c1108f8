/**
 * `mountgate backstop`: prints the ValidatingAdmissionPolicy and its binding
 * that enforce the policy's hostPath rule inside the API server (a YAML
 * stream, for `kubectl apply -f -`).
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import {
  BackstopError,
  DEFAULT_BACKSTOP_OPTIONS,
  VALIDATION_ACTIONS,
  backstop,
  type BackstopOptions,
  type ValidationAction,
} from '../backstop/policy.js';
import { loadPolicyFile, PolicyError } from '../policy/load.js';
import { EXIT_OK, firstLine, UsageError } from './usage.js';

export interface BackstopSettings {
  readonly configPath: string;
  readonly options: BackstopOptions;
}

// RFC 1123 names and Kubernetes label keys and values.
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  if (slash === -1) return LABEL_NAME.test(key);
  return DNS_SUBDOMAIN.test(key.slice(0, slash)) && LABEL_NAME.test(key.slice(slash + 1));
}

function parseLabel(text: string): [string, string] {
  const equals = text.indexOf('=');
  const key = equals === -1 ? text : text.slice(0, equals);
  const value = equals === -1 ? undefined : text.slice(equals + 1);
  if (value === undefined || !isLabelKey(key) || !LABEL_VALUE.test(value)) {
    throw new UsageError(`backstop: --namespace-label ${JSON.stringify(text)} must be KEY=VALUE with a valid label key and value`);
  }
  return [key, value];
}

function isValidationAction(value: string): value is ValidationAction {
  return (VALIDATION_ACTIONS as readonly string[]).includes(value);
}

function parseActions(values: readonly string[]): ValidationAction[] {
  const actions: ValidationAction[] = [];
  for (const value of values) {
    if (!isValidationAction(value)) throw new UsageError(`backstop: --action ${JSON.stringify(value)} must be one of ${VALIDATION_ACTIONS.join(', ')}`);
    if (actions.includes(value)) throw new UsageError(`backstop: --action ${value} is given twice`);
    actions.push(value);
  }
  // The API server refuses a binding with both: Warn would only repeat what Deny already says.
  if (actions.includes('Deny') && actions.includes('Warn')) throw new UsageError('backstop: --action Deny and --action Warn cannot be combined');
  return actions;
}

export function parseBackstopArgs(argv: readonly string[]): BackstopSettings {
  let values: {
    config?: string;
    name?: string;
    'namespace-label'?: string[];
    'all-namespaces'?: boolean;
    'exclude-namespace'?: string[];
    action?: string[];
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        name: { type: 'string' },
        'namespace-label': { type: 'string', multiple: true },
        'all-namespaces': { type: 'boolean' },
        'exclude-namespace': { type: 'string', multiple: true },
        action: { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`backstop: ${firstLine(error)}`);
  }
  if (values.config === undefined) throw new UsageError('backstop: --config FILE is required');
  const name = values.name ?? DEFAULT_BACKSTOP_OPTIONS.name;
  if (!DNS_SUBDOMAIN.test(name)) throw new UsageError(`backstop: --name ${JSON.stringify(name)} must be a DNS subdomain (lower case letters, digits, "-" and ".")`);

  const labels = values['namespace-label'] ?? [];
  if (values['all-namespaces'] === true && labels.length > 0) {
    throw new UsageError('backstop: --all-namespaces and --namespace-label cannot be combined');
  }
  const namespaceSelector =
    values['all-namespaces'] === true
      ? {}
      : labels.length > 0
        ? { matchLabels: Object.fromEntries(labels.map(parseLabel)) }
        : DEFAULT_BACKSTOP_OPTIONS.namespaceSelector;

  const excluded = values['exclude-namespace'] ?? [];
  for (const namespace of excluded) {
    if (!DNS_LABEL.test(namespace)) throw new UsageError(`backstop: --exclude-namespace ${JSON.stringify(namespace)} is not a namespace name`);
  }
  const actions = values.action === undefined ? DEFAULT_BACKSTOP_OPTIONS.validationActions : parseActions(values.action);

  return {
    configPath: values.config,
    options: {
      ...DEFAULT_BACKSTOP_OPTIONS,
      name,
      namespaceSelector,
      excludedNamespaces: [...DEFAULT_BACKSTOP_OPTIONS.excludedNamespaces, ...excluded],
      validationActions: actions,
    },
  };
}

/** The objects as a YAML stream. */
export function backstopYaml(objects: readonly unknown[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
}

export async function backstopCommand(argv: readonly string[], io: { readonly stdout: (text: string) => void }): Promise<number> {
  const settings = parseBackstopArgs(argv);
  const { policy } = await loadPolicyFile(settings.configPath);
  let objects;
  try {
    objects = backstop(policy, settings.options);
  } catch (error) {
    if (error instanceof BackstopError) throw new PolicyError(settings.configPath, [error.message]);
    throw error;
  }
  io.stdout(backstopYaml([objects.policy, objects.binding]));
  return EXIT_OK;
}
