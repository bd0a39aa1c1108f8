/** Manifests read from a file or stdin for the offline commands: YAML or JSON, one or more documents, of one kind. */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments, type Tags } from 'yaml';
import { describeIoError } from '../policy/load.js';
import { firstYamlProblem } from '../policy/yaml-problems.js';
import type { Io } from './check.js';
import { firstLine, UsageError } from './usage.js';

/** YAML 1.1's types less those go-yaml v2 does not have: timestamps and base-60 numbers (`10:30`) stay text. */
function asGoYamlReads(tags: Tags): Tags {
  return tags.filter((tag) => typeof tag === 'string' || (tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME'));
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

/** Every document of `path` ("-" for stdin), each of `kind`, or a UsageError naming the file. */
export async function readManifests(path: string, io: Pick<Io, 'readStdin'>, kind: string, count: 'one' | 'any'): Promise<unknown[]> {
  let text: string;
  try {
    text = path === '-' ? await io.readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${path}: cannot read the file: ${describeIoError(error)}`);
  }
  const name = path === '-' ? '<stdin>' : path;
  // As kubectl reads a manifest: JSON when it starts with "{", else YAML 1.1 as go-yaml v2 reads it
  // (sigs.k8s.io/yaml), where `readOnly: yes` is true but a date or `10:30` stays text. A warning (an unknown
  // tag) refuses the file, rather than reaching stderr as the parser's own lines.
  const json = text.trimStart().startsWith('{');
  // kubectl decodes such a text as JSON alone: flow-style YAML in braces (`{kind: Pod}`) is refused there, so here too.
  if (json) strictJson(text, name);
  const documents = parseAllDocuments(text, { uniqueKeys: true, logLevel: 'error', ...(json ? {} : { version: '1.1', customTags: asGoYamlReads }) });
  const parsed = (Array.isArray(documents) ? documents : []).map((document, index) => {
    const where = documents.length > 1 ? `${name} (document ${index + 1})` : name;
    const problem = firstYamlProblem(document);
    if (problem !== undefined) throw new UsageError(`${where}: not valid YAML or JSON: ${problem}`);
    try {
      const manifest: unknown = document.toJS({ maxAliasCount: 100 });
      return { where, manifest };
    } catch (error) {
      // The alias limit (a YAML bomb) is reported here, not as a parse error.
      throw new UsageError(`${where}: not valid YAML or JSON: ${firstLine(error)}`);
    }
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
    return manifest;
  });
}
