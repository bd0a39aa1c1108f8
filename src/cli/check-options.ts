/** `mountgate check` flags. */
import { parseOptions, type OptionSpecs } from './options.js';
import { ArgumentError } from './usage.js';

export const CHECK_OPTIONS = {
  config: { type: 'string', value: 'FILE', description: 'the policy file, YAML or JSON; required' },
  file: { type: 'string', short: 'f', value: 'POD', description: 'the Pod manifest, YAML or JSON, one document; - reads it from stdin; required' },
  user: { type: 'string', value: 'NAME', description: 'the username of the requester, as the API server would send it (for requesters)' },
  group: { type: 'string', value: 'NAME', multiple: true, description: 'a group of the requester (for requesters)' },
} as const satisfies OptionSpecs;

export interface CheckSettings {
  readonly configPath: string;
  readonly podPath: string;
  readonly user: string | undefined;
  readonly groups: readonly string[];
}

export function parseCheckArgs(argv: readonly string[]): CheckSettings {
  const values = parseOptions('check', argv, CHECK_OPTIONS);
  if (values.config === undefined) throw new ArgumentError('check', '--config FILE is required');
  if (values.file === undefined) throw new ArgumentError('check', '-f POD.yaml (or -f - for stdin) is required');
  return { configPath: values.config, podPath: values.file, user: values.user, groups: values.group ?? [] };
}
