// Loaded into `mountgate serve` by the API-server section (node --import): adds up the time spent
// inside res.end() for the answers to POST /mutate and /validate, the synchronous socket write that
// mountgate_admission_duration_seconds includes, so the section can say how much of that metric it
// is. It changes nothing else (two clock reads per answer). On SIGUSR2 it writes
// {"/mutate": {"sumNs": "...", "count": N}, "/validate": {...}} to a file named by its pid
// (read by bench/apiserver-write-times.ts).
// Plain JavaScript: mountgate runs under plain node, without a TypeScript loader.
import { writeFileSync } from 'node:fs';
import { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const totals = new Map([
  ['/mutate', { sumNs: 0n, count: 0 }],
  ['/validate', { sumNs: 0n, count: 0 }],
]);
const file = path.join(tmpdir(), `mountgate-bench-write-times-${process.pid}.json`);
const end = ServerResponse.prototype.end;
ServerResponse.prototype.end = function (...args) {
  const { method, url } = this.req ?? {};
  const total = method === 'POST' && typeof url === 'string' ? totals.get(url.split('?')[0]) : undefined;
  if (total === undefined) return end.apply(this, args);
  const started = process.hrtime.bigint();
  try {
    return end.apply(this, args);
  } finally {
    total.sumNs += process.hrtime.bigint() - started;
    total.count += 1;
  }
};
process.on('SIGUSR2', () => {
  const out = Object.fromEntries([...totals].map(([key, { sumNs, count }]) => [key, { sumNs: sumNs.toString(), count }]));
  writeFileSync(file, JSON.stringify(out));
});
