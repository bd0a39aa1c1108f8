/** `mountgate check` flags. */
import { parseOptions, type OptionSpecs } from './options.js';
import { isNamespaceName } from './names.js';
import { ArgumentError } from './usage.js';

export const CHECK_OPTIONS = {
  config: { type: 'string', value: 'FILE', description: 'the policy file, YAML or JSON; required' },
  file: { type: 'string', short: 'f', value: 'POD', description: 'the Pod manifest, YAML or JSON, one document; - reads it from stdin; required' },
  old: { type: 'string', value: 'OLD-POD', description: 'judge an UPDATE from this Pod manifest to the one of -f, as /validate does; - reads it from stdin' },
  user: { type: 'string', value: 'NAME', description: 'the username of the requester, as the API server would send it (for requesters and trustedProvisioners; fills {user})' },
  group: { type: 'string', value: 'NAME', multiple: true, description: 'a group of the requester (for requesters and trustedProvisioners)' },
  namespace: { type: 'string', value: 'NS', description: "the namespace the Pod is judged in, filling {namespace} (else the manifest's, else default)" },
  'mount-policy': {
    type: 'string',
    value: 'FILE',
    multiple: true,
    description: "MountPolicy manifests (YAML or JSON, several documents allowed) of the Pod's namespace, layered over the policy as the server does",
  },
} as const satisfies OptionSpecs;

export interface CheckSettings {
  readonly configPath: string;
  readonly podPath: string;
  /** With --old, the Pod is judged as an UPDATE from this one (only /validate answers updates). */
  readonly oldPodPath: string | undefined;
  readonly user: string | undefined;
  readonly groups: readonly string[];
  /** The namespace the Pod is judged in, when given; else the manifest's, else "default". */
  readonly namespace: string | undefined;
  /** Files of MountPolicy manifests; those of other namespaces are left out. */
  readonly mountPolicyPaths: readonly string[];
}

export function parseCheckArgs(argv: readonly string[]): CheckSettings {
  const values = parseOptions('check', argv, CHECK_OPTIONS);
  if (values.config === undefined) throw new ArgumentError('check', '--config FILE is required');
  if (values.file === undefined) throw new ArgumentError('check', '-f POD.yaml (or -f - for stdin) is required');
  if (values.namespace !== undefined && !isNamespaceName(values.namespace)) {
    throw new ArgumentError('check', `--namespace ${JSON.stringify(values.namespace)} is not a namespace name (lower-case letters, digits and "-", at most 63)`);
  }
  if (values.old === '-' && values.file === '-') throw new ArgumentError('check', '-f and --old cannot both read stdin');
  // Stdin is read once: a second reader would find it empty and blame its own flag's manifests.
  const fromStdin = [values.file, values.old, ...(values['mount-policy'] ?? [])].filter((path) => path === '-').length;
  if (fromStdin > 1) throw new ArgumentError('check', 'only one of -f, --old and --mount-policy can read stdin (-)');
  return {
    configPath: values.config,
    podPath: values.file,
    oldPodPath: values.old,
    user: values.user,
    groups: values.group ?? [],
    namespace: values.namespace,
    mountPolicyPaths: values['mount-policy'] ?? [],
  };
}
