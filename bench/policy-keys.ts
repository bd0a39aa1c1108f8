/**
 * How long the policy loader takes to refuse a policy file with many keys in one map: N unknown top-level keys,
 * and N keys with the first given again at the end, beside the yaml package's parse alone, which takes most of it.
 * Keys given twice are found in one pass; the parser's own check (uniqueKeys) compared each key with every one
 * before it, 2.8 s for 20,000 keys. Prints a Markdown table.
 *
 *   node --import tsx bench/policy-keys.ts [KEYS...]     (default 20000 200000)
 */
import { parseDocument } from 'yaml';
import { parsePolicy } from '../src/policy/load.js';

const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [20_000, 200_000];

/** The fastest of three runs, in milliseconds, and the message of the last. */
function fastest(run: () => void): { ms: number; message: string } {
  let ms = Infinity;
  let message = '';
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    try {
      run();
      message = '(accepted)';
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    ms = Math.min(ms, performance.now() - started);
  }
  return { ms, message };
}

console.log('| keys | policy | refused in | message length | parse alone |');
console.log('|---:|---|---:|---:|---:|');
for (const size of sizes) {
  const keys = Array.from({ length: size }, (_, index) => `k${index}: 1\n`).join('');
  const parse = fastest(() => parseDocument(keys, { uniqueKeys: false, logLevel: 'error' }));
  for (const [name, text] of [
    ['unknown keys', keys],
    ['the first key given again last', `${keys}k0: 2\n`],
  ] as const) {
    const { ms, message } = fastest(() => parsePolicy(text, 'policy.yaml'));
    console.log(`| ${size.toLocaleString('en-US')} | ${name} | ${ms.toFixed(0)} ms | ${message.length} | ${parse.ms.toFixed(0)} ms |`);
  }
}
