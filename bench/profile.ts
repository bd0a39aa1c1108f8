/**
 * `node --import tsx bench/profile.ts [SECONDS]`: where mountgate's CPU goes.
 * Runs `mountgate serve --cpu-prof` pinned like the benchmark, loads it with
 * /mutate then /validate (10 keep-alive connections, SECONDS each), stops it so
 * node writes the profile, and prints the top of it (bench/tools/cpuprofile-summary.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { prepareBodies } from './bodies.js';
import { startLoadGenerator, startMountgate } from './processes.js';
import { createWorkspace, REPO_ROOT } from './workspace.js';

const execFileAsync = promisify(execFile);
const seconds = Number(process.argv[2] ?? '10');

const profileDir = await mkdtemp(path.join(tmpdir(), 'mountgate-profile-'));
const workspace = await createWorkspace();
const load = startLoadGenerator();
try {
  const server = await startMountgate(workspace, 'mountgate-profile', ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
  try {
    const bodies = await prepareBodies(server.port, workspace.caCert);
    const target = { origin: `https://127.0.0.1:${server.port}`, ca: workspace.caCert };
    for (const request of [bodies.mutate, bodies.validate]) {
      const result = await load.run({ kind: 'closed', target, requests: [request], connections: 10, seconds }, seconds * 1000);
      process.stdout.write(`${request.path}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.latency.p50.toFixed(3)} ms\n`);
    }
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
