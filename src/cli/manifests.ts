/** Manifests read from a file or stdin for the offline commands: YAML or JSON, one or more documents, of one kind. */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseAllDocuments } from 'yaml';
import { describeIoError } from '../policy/load.js';
import { firstYamlProblem, repeatedKey } from '../policy/yaml-problems.js';
import type { Io } from './check.js';
import { EncodingError } from '../policy/strict-text.js';
import { asGoYamlReads, decodeManifest, kubectlKeys, mergeOverride, nonFinite, refusedCharacter } from './kubectl-yaml.js';
import { firstLine, UsageError } from './usage.js';

/**
 * How deep a manifest may nest. A Pod nests some 25 levels at most, managedFields included; printing the Pod
 * (yamlFor11) overflows the stack near 800, past which check would fail with an unexpected error.
 */
const MAX_DEPTH = 100;

/** Where `value` nests past MAX_DEPTH, as a field path (its first segments), or undefined. */
function tooDeep(value: unknown): string | undefined {
  // Iterative: the check must not itself need the stack it guards.
  const pending: Array<{ value: unknown; path: readonly string[] }> = [{ value, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.path.length >= MAX_DEPTH) {
      const shown = next.path.slice(0, 6).join('').replace(/^\./, '');
      return `${shown}${next.path.length > 6 ? '...' : ''}`;
    }
    const entries = Array.isArray(next.value) ? next.value.map((item, index) => [`[${index}]`, item] as const) : Object.entries(next.value).map(([key, item]) => [`.${key}`, item] as const);
    for (const [segment, item] of entries) pending.push({ value: item, path: [...next.path, segment] });
  }
  return undefined;
}

function kindOf(manifest: unknown): unknown {
  return typeof manifest === 'object' && manifest !== null && 'kind' in manifest ? manifest.kind : undefined;
}

function strictJson(text: string, name: string): void {
  try {
    // A byte order mark (which some editors write) is no part of the JSON: the YAML reader skips it too, and kubectl reads such a file.
    JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UsageError(`${name}: not valid JSON (it begins with "{"): ${firstLine(error)}`);
  }
}

/**
 * Every document of `path` ("-" for stdin), each of `kind`, or a UsageError naming the file (and the document): also
 * for a manifest `problemOf` finds fault with (it says why, undefined for none).
 */
export async function readManifests(
  path: string,
  io: Pick<Io, 'readStdin'>,
  kind: string,
  count: 'one' | 'any',
  problemOf: (manifest: unknown) => string | undefined = () => undefined,
): Promise<unknown[]> {
  const name = path === '-' ? '<stdin>' : path;
  let text: string;
  try {
    text = path === '-' ? await io.readStdin() : decodeManifest(await readFile(path));
  } catch (error) {
    if (error instanceof EncodingError) throw new UsageError(`${name}: ${error.message}`);
    throw new UsageError(`${path}: cannot read the file: ${describeIoError(error)}`);
  }
  // As kubectl reads a manifest: JSON when it starts with "{", else YAML 1.1 as go-yaml v2 reads it
  // (sigs.k8s.io/yaml), where `readOnly: yes` is true but a date or `10:30` stays text. A warning (an unknown
  // tag) refuses the file, rather than reaching stderr as the parser's own lines.
  const json = text.trimStart().startsWith('{');
  // kubectl decodes such a text as JSON alone: flow-style YAML in braces (`{kind: Pod}`) is refused there, so here too.
  if (json) strictJson(text, name);
  const refused = json ? undefined : refusedCharacter(text);
  if (refused !== undefined) throw new UsageError(`${name}: not valid YAML: ${refused}`);
  const lines = new LineCounter();
  // Keys given twice are found by repeatedKey, in one pass: the parser's own check takes minutes for a large map.
  const documents = parseAllDocuments(text, { uniqueKeys: false, logLevel: 'error', lineCounter: lines, ...(json ? {} : { version: '1.1', customTags: asGoYamlReads }) });
  const parsed = (Array.isArray(documents) ? documents : []).map((document, index) => {
    const where = documents.length > 1 ? `${name} (document ${index + 1})` : name;
    const problem = firstYamlProblem(document) ?? repeatedKey(document, lines, kubectlKeys(document));
    if (problem !== undefined) throw new UsageError(`${where}: not valid YAML or JSON: ${problem}`);
    let manifest: unknown;
    try {
      manifest = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // The alias limit (a YAML bomb) is reported here, not as a parse error.
      throw new UsageError(`${where}: not valid YAML or JSON: ${firstLine(error)}`);
    }
    const deep = tooDeep(manifest);
    if (deep !== undefined) throw new UsageError(`${where}: nested more than ${MAX_DEPTH} levels deep, under ${deep}`);
    const infinite = nonFinite(document, lines);
    if (infinite !== undefined) throw new UsageError(`${where}: not valid YAML or JSON: ${infinite}`);
    // After toJS, which has refused an alias bomb: the merged maps are read again here.
    const override = json ? undefined : mergeOverride(document, lines);
    if (override !== undefined) throw new UsageError(`${where}: ${override}`);
    return { where, manifest };
  });
  // An empty document (a trailing "---", a comment alone) is no manifest: kubectl skips it too.
  const manifests = parsed.filter(({ manifest }) => manifest !== null);
  if (manifests.length === 0 || (count === 'one' && manifests.length !== 1)) {
    const found = count === 'one' && manifests.length > 1 ? `, found ${manifests.length}` : '';
    throw new UsageError(`${name}: expected ${count === 'one' ? 'exactly one' : `one or more`} ${kind} manifest${count === 'one' ? '' : 's'} (YAML or JSON)${found}`);
  }
  return manifests.map(({ where, manifest }) => {
    const found = kindOf(manifest);
    if (found !== kind) throw new UsageError(`${where}: expected a ${kind} manifest, found kind ${JSON.stringify(found ?? null)}`);
    const problem = problemOf(manifest);
    if (problem !== undefined) throw new UsageError(`${where}: ${problem}`);
    return manifest;
  });
}
