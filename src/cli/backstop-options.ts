/** `mountgate backstop` flags. */
import { DEFAULT_BACKSTOP_OPTIONS, ENABLED_LABEL, VALIDATION_ACTIONS, type BackstopOptions, type ValidationAction } from '../backstop/policy.js';
import { parseOptions, type OptionSpecs } from './options.js';
import { DNS_SUBDOMAIN, isNamespaceName } from './names.js';
import { ArgumentError } from './usage.js';

export const BACKSTOP_OPTIONS = {
  config: { type: 'string', value: 'FILE', description: 'the policy file, YAML or JSON; required' },
  name: { type: 'string', value: 'NAME', fallback: DEFAULT_BACKSTOP_OPTIONS.name, description: 'the name of the policy and of its binding' },
  action: {
    type: 'string',
    value: 'ACTION',
    multiple: true,
    fallback: 'Deny',
    description: `a validationAction of the binding: ${VALIDATION_ACTIONS.join(', ')} (Deny and Warn do not mix)`,
  },
  'namespace-label': {
    type: 'string',
    value: 'KEY=VALUE',
    multiple: true,
    fallback: `${ENABLED_LABEL}=true`,
    description: 'judge the namespaces with this label (all of them when given more than once)',
  },
  'all-namespaces': { type: 'boolean', description: 'judge every namespace (not with --namespace-label)' },
  'exclude-namespace': { type: 'string', value: 'NS', multiple: true, description: 'never judge this namespace (kube-system never is)' },
} as const satisfies OptionSpecs;

export interface BackstopSettings {
  readonly configPath: string;
  readonly options: BackstopOptions;
}

// Kubernetes label keys and values.
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
    throw new ArgumentError('backstop', `--namespace-label ${JSON.stringify(text)} must be KEY=VALUE with a valid label key and value`);
  }
  return [key, value];
}

/** Every label given; a key given twice is refused, as a namespace carries one value of it and the last would silently win. */
function matchLabels(texts: readonly string[]): Record<string, string> {
  const given = new Map<string, string>();
  for (const text of texts) {
    const [key, value] = parseLabel(text);
    const first = given.get(key);
    if (first !== undefined) {
      throw new ArgumentError('backstop', `--namespace-label ${key} is given twice (${JSON.stringify(`${key}=${first}`)}, ${JSON.stringify(text)}): a namespace carries one value of a label`);
    }
    given.set(key, value);
  }
  return Object.fromEntries(given);
}

function isValidationAction(value: string): value is ValidationAction {
  return (VALIDATION_ACTIONS as readonly string[]).includes(value);
}

function parseActions(values: readonly string[]): ValidationAction[] {
  const actions: ValidationAction[] = [];
  for (const value of values) {
    if (!isValidationAction(value)) throw new ArgumentError('backstop', `--action ${JSON.stringify(value)} must be one of ${VALIDATION_ACTIONS.join(', ')}`);
    if (actions.includes(value)) throw new ArgumentError('backstop', `--action ${value} is given twice`);
    actions.push(value);
  }
  // The API server refuses a binding with both: Warn would only repeat what Deny already says.
  if (actions.includes('Deny') && actions.includes('Warn')) throw new ArgumentError('backstop', '--action Deny and --action Warn cannot be combined');
  return actions;
}

export function parseBackstopArgs(argv: readonly string[]): BackstopSettings {
  const values = parseOptions('backstop', argv, BACKSTOP_OPTIONS);
  if (values.config === undefined) throw new ArgumentError('backstop', '--config FILE is required');
  const name = values.name ?? DEFAULT_BACKSTOP_OPTIONS.name;
  if (!DNS_SUBDOMAIN.test(name)) {
    throw new ArgumentError('backstop', `--name ${JSON.stringify(name)} must be a DNS subdomain (lower case letters, digits, "-" and ".")`);
  }
  const labels = values['namespace-label'] ?? [];
  if (values['all-namespaces'] === true && labels.length > 0) {
    throw new ArgumentError('backstop', '--all-namespaces and --namespace-label cannot be combined');
  }
  const namespaceSelector =
    values['all-namespaces'] === true
      ? {}
      : labels.length > 0
        ? { matchLabels: matchLabels(labels) }
        : DEFAULT_BACKSTOP_OPTIONS.namespaceSelector;
  const excluded = values['exclude-namespace'] ?? [];
  for (const namespace of excluded) {
    if (!isNamespaceName(namespace)) throw new ArgumentError('backstop', `--exclude-namespace ${JSON.stringify(namespace)} is not a namespace name`);
  }
  return {
    configPath: values.config,
    options: {
      ...DEFAULT_BACKSTOP_OPTIONS,
      name,
      namespaceSelector,
      excludedNamespaces: [...DEFAULT_BACKSTOP_OPTIONS.excludedNamespaces, ...excluded],
      validationActions: values.action === undefined ? DEFAULT_BACKSTOP_OPTIONS.validationActions : parseActions(values.action),
    },
  };
}
