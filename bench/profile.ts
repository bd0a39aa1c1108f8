/**
 * `node --import tsx bench/profile.ts [SECONDS] [mutate|validate|both]`: where
 * mountgate's CPU goes. Runs `mountgate serve --cpu-prof` pinned like the
 * benchmark, loads it (10 keep-alive connections, SECONDS per endpoint), stops
 * it so node writes the profile, and prints the top of it
 * (bench/tools/cpuprofile-summary.ts), with µs per request for the top entries.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { prepareBodies } from './bodies.js';
import { startLoadGenerator, startMountgate } from './processes.js';
import { cpuSeconds } from './proc-stats.js';
import { createWorkspace, REPO_ROOT } from './workspace.js';

const execFileAsync = promisify(execFile);
const seconds = Number(process.argv[2] ?? '10');
const which = process.argv[3] ?? 'both';

const profileDir = await mkdtemp(path.join(tmpdir(), 'mountgate-profile-'));
const workspace = await createWorkspace();
const load = startLoadGenerator();
try {
  const server = await startMountgate(workspace, 'mountgate-profile', { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
  try {
    const bodies = await prepareBodies(server.port, workspace.caCert);
    const target = { origin: `https://127.0.0.1:${server.port}`, ca: workspace.caCert };
    const requests = which === 'mutate' ? [bodies.mutate] : which === 'validate' ? [bodies.validate] : [bodies.mutate, bodies.validate];
    let total = 0;
    const cpuBefore = cpuSeconds(server.pid);
    for (const request of requests) {
      const result = await load.run({ kind: 'closed', target, requests: [request], connections: 10, seconds }, seconds * 1000);
      total += result.requests;
      process.stdout.write(`${request.path}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.latency.p50.toFixed(3)} ms\n`);
    }
    process.stdout.write(`server CPU per request: ${(((cpuSeconds(server.pid) - cpuBefore) / total) * 1e6).toFixed(0)} µs (multiply the shares below by it)\n`);
  } finally {
    await server.stop();
  }
} finally {
  await load.stop();
  await workspace.remove();
}
const [profile] = (await readdir(profileDir)).filter((name) => name.endsWith('.cpuprofile'));
if (profile === undefined) throw new Error(`no profile in ${profileDir}`);
const file = path.join(profileDir, profile);
const summary = await execFileAsync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench', 'tools', 'cpuprofile-summary.ts'), file, '40'], { cwd: REPO_ROOT });
process.stdout.write(`${file}\n${summary.stdout}`);
