/** Mocha hooks that serve a policy with some keys changed for the tests of one describe, then the original again. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { MountgateProcess } from './mountgate-process.js';

/** Registers before/after hooks in the enclosing describe: `mountgate()`'s policy with `overrides`, then restored. */
export function servedWith(mountgate: () => MountgateProcess, overrides: Record<string, unknown>): void {
  let original: string | undefined;
  before(async () => {
    const process = mountgate();
    original = await readFile(process.options.policy, 'utf8');
    const policy: unknown = parseYaml(original);
    if (typeof policy !== 'object' || policy === null) throw new Error('the served policy is not a mapping');
    await process.replacePolicy(stringifyYaml({ ...policy, ...overrides }));
  });
  after(async () => {
    if (original !== undefined) await mountgate().replacePolicy(original);
  });
}
