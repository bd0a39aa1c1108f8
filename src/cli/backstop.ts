/**
 * `mountgate backstop`: prints the ValidatingAdmissionPolicy and its binding
 * that enforce the policy's hostPath rule inside the API server (a YAML
 * stream, for `kubectl apply -f -`).
 */
import { BackstopError, backstop, type Backstop } from '../backstop/policy.js';
import { loadPolicyFile, PolicyError } from '../policy/load.js';
import { parseBackstopArgs } from './backstop-options.js';
import { EXIT_OK } from './usage.js';
import { yamlFor11 } from './yaml-output.js';

/** The objects as a YAML stream. */
export function backstopYaml(objects: readonly unknown[]): string {
  return objects.map((object) => yamlFor11(object, { lineWidth: 0 })).join('---\n');
}

export async function backstopCommand(argv: readonly string[], io: { readonly stdout: (text: string) => void }): Promise<number> {
  const settings = parseBackstopArgs(argv);
  const { policy } = await loadPolicyFile(settings.configPath);
  let objects: Backstop;
  try {
    objects = backstop(policy, settings.options);
  } catch (error) {
    if (error instanceof BackstopError) throw new PolicyError(settings.configPath, [error.message]);
    throw error;
  }
  io.stdout(backstopYaml([objects.policy, objects.binding]));
  return EXIT_OK;
}
