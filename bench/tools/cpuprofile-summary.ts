/**
 * Summarises a .cpuprofile written by `node --cpu-prof`: the functions with
 * the most self time and the most inclusive time (themselves plus callees),
 * each as a share of all samples. Recursion is counted once per stack.
 *
 *   node --import tsx bench/tools/cpuprofile-summary.ts FILE.cpuprofile [TOP=25] [FILTER]
 * FILTER keeps only functions whose file path contains it (e.g. "src/" or "node_modules/yup").
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
}

const [file, topArg, filter] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: cpuprofile-summary.ts FILE.cpuprofile [TOP] [FILTER]\n');
  process.exit(2);
}
const top = Number(topArg ?? '25');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

const label = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/(src|dist|bench)\//, '$1/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (hits === 0) continue;
  total += hits;
  self.set(label(node), (self.get(label(node)) ?? 0) + hits);
  // Walk to the root once, crediting each distinct function on the stack.
  const seen = new Set<string>();
  for (let id: number | undefined = node.id, depth = 0; id !== undefined && depth < 10_000; id = parentOf.get(id), depth++) {
    const current = byId.get(id);
    if (current === undefined) break;
    const name = label(current);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + hits);
  }
}

const print = (title: string, counts: Map<string, number>): void => {
  process.stdout.write(`\n${title} (of ${total} samples)\n`);
  [...counts]
    .filter(([name]) => filter === undefined || name.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([name, hits]) => process.stdout.write(`${((hits / total) * 100).toFixed(1).padStart(6)}%  ${name}\n`));
};
print('self time', self);
print('inclusive time', inclusive);
