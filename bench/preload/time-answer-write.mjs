// Loaded into `mountgate serve` by the API-server section (node --import): adds up the time spent
// inside res.end() for the answers to POST /mutate and /validate, the synchronous socket write that
// mountgate_admission_duration_seconds includes, so the section can say how much of that metric it
// is. It changes nothing else (two clock reads per answer). On SIGUSR2 it writes
// {"sumNs": "...", "count": N} to answerWriteTimesFile(pid) (bench/apiserver-write-times.ts).
// Plain JavaScript: mountgate runs under plain node, without a TypeScript loader.
import { writeFileSync } from 'node:fs';
import { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PATHS = new Set(['/mutate', '/validate']);
const file = path.join(tmpdir(), `mountgate-bench-write-times-${process.pid}.json`);
const end = ServerResponse.prototype.end;
let sumNs = 0n;
let count = 0;
ServerResponse.prototype.end = function (...args) {
  const { method, url } = this.req ?? {};
  if (method !== 'POST' || typeof url !== 'string' || !PATHS.has(url.split('?')[0])) return end.apply(this, args);
  const started = process.hrtime.bigint();
  try {
    return end.apply(this, args);
  } finally {
    sumNs += process.hrtime.bigint() - started;
    count += 1;
  }
};
process.on('SIGUSR2', () => writeFileSync(file, JSON.stringify({ sumNs: sumNs.toString(), count })));
