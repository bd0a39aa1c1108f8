/**
 * Reads a JSON array of annotation values on stdin and prints, as one JSON array, the problems mountgate's
 * parser names for each, worded as the Python kit words them (kitWordedProblems). The kit's tests run it once
 * for a whole batch (clients/python/tests/test_agrees_with_mountgate.py): one Node.js start, not one per value.
 */
import { kitWordedProblems } from './annotation-problems.js';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
const values: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
if (!Array.isArray(values) || !values.every((value): value is string => typeof value === 'string')) {
  process.stderr.write('expected a JSON array of strings on stdin\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(values.map(kitWordedProblems))}\n`);
