/**
 * Parses policy text (YAML or JSON) into a compiled policy, or a PolicyError
 * whose one-line message names the file and every field that is wrong.
 */
import { LineCounter, parseDocument } from 'yaml';
import { ValidationError } from 'yup';
import { policySchema } from './schema.js';
import { compilePolicy, type CompiledPolicy } from './compile.js';
import { EncodingError, readUtf8File } from './strict-text.js';
import { firstYamlProblem, repeatedKey, yamlKeys } from './yaml-problems.js';

export class PolicyError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: invalid policy: ${problems.join('; ')}`);
    this.name = 'PolicyError';
  }
}

/** Pure: text in, compiled policy out. `source` only names the file in errors. */
export function parsePolicy(text: string, source: string): CompiledPolicy {
  let raw: unknown;
  let problem: string | undefined;
  try {
    // A warning (an unknown tag) or a key that is a collection refuses the policy too, rather than reaching
    // stderr as the parser's own lines beside the one that names the file. A key given twice in a map is found
    // by repeatedKey, keys equal as the parser's uniqueKeys has them, but in one pass: the parser's own check
    // compares each key with every one before it.
    const lines = new LineCounter();
    const document = parseDocument(text, { uniqueKeys: false, logLevel: 'error', lineCounter: lines });
    problem = firstYamlProblem(document) ?? repeatedKey(document, lines, yamlKeys(document));
    if (problem === undefined) raw = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // The alias limit (a YAML bomb) is reported by toJS.
    problem = (error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)).replace(/:\s*$/, '');
  }
  if (problem !== undefined) throw new PolicyError(source, [`not valid YAML or JSON: ${problem}`]);
  if (raw === null || raw === undefined) {
    throw new PolicyError(source, ['the file is empty (expected a mapping of keys such as allowedHostPaths)']);
  }
  try {
    policySchema.validateSync(raw, { strict: true, abortEarly: false });
  } catch (error) {
    if (error instanceof ValidationError) throw new PolicyError(source, error.errors);
    throw error;
  }
  return compilePolicy(policySchema.cast(raw));
}

/** Reads and parses a policy file; a missing or unreadable file is a PolicyError too. */
export async function loadPolicyFile(file: string): Promise<{ policy: CompiledPolicy; text: string }> {
  let text: string;
  try {
    text = await readUtf8File(file);
  } catch (error) {
    if (error instanceof EncodingError) throw new PolicyError(file, [error.message]);
    throw new PolicyError(file, [`cannot read the file: ${describeIoError(error)}`]);
  }
  return { policy: parsePolicy(text, file), text };
}

export function describeIoError(error: unknown): string {
  if (error instanceof EncodingError) return error.message;
  if (error instanceof Error && 'code' in error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'permission denied';
    if (code === 'EISDIR') return 'is a directory';
    return `${code ?? 'error'}: ${error.message}`;
  }
  return String(error);
}
