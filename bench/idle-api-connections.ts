/**
 * What an idle `serve --mount-policies` replica costs the API server and itself: its Lease renewals
 * (every 2 s), the MountPolicy list and watch. Starts etcd and kube-apiserver (test/e2e), applies the
 * MountPolicy CRD, then runs each given build of mountgate in turn, `rounds` times, idle for `seconds`
 * each, and prints one JSON line per run: CPU of mountgate and of the API server over the window
 * (from /proc), and the TLS connections mountgate opened over its whole run (start and drain included).
 *
 *   node --import tsx bench/idle-api-connections.ts HELM SECONDS ROUNDS DIST [DIST...]
 *
 * Not part of `npm run bench`: run by hand to compare builds (BENCHMARKS.md, "Connections to the API server").
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startLocalControlPlane } from '../test/e2e/controlplane.js';
import { mountPolicyCrd } from '../test/e2e/webhooks.js';
import { cpuSeconds } from './proc-stats.js';
import { REPO_ROOT } from './workspace.js';

const [helm, secondsText, roundsText, ...dists] = process.argv.slice(2);
if (helm === undefined || dists.length === 0) throw new Error('usage: bench/idle-api-connections.ts HELM SECONDS ROUNDS DIST [DIST...]');
const seconds = Number(secondsText);
const rounds = Number(roundsText);
/** Until the replica has listed, watched and taken the Lease; then the window starts. */
const SETTLE_MS = 8_000;
/** The Lease lasts 15 s: the next replica, with another identity, takes it once it has expired. */
const LEASE_EXPIRY_MS = 16_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cp = await startLocalControlPlane();
try {
  const crdFile = path.join(path.dirname(cp.kubeconfigPath), 'mountpolicy-crd.json');
  writeFileSync(crdFile, JSON.stringify(await mountPolicyCrd(helm)));
  execFileSync(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, 'create', '-f', crdFile]);
  execFileSync(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, 'create', 'namespace', 'mg-lease']);
  const apiPort = new URL(cp.server).port;
  const apiPid = Number(execFileSync('sh', ['-c', `ss -ltnpH 'sport = :${apiPort}' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2`], { encoding: 'utf8' }).trim());
  for (let round = 0; round < rounds; round++) {
    for (const dist of dists) {
      const args = ['--max-semi-space-size=8', '--require', path.join(REPO_ROOT, 'bench', 'preload', 'count-tls-connects.cjs'), path.join(dist, 'cli', 'main.js')];
      const serve = ['serve', '--dev', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--config', path.join(REPO_ROOT, 'examples', 'deer-flow-policy.yaml')];
      const cluster = ['--mount-policies', '--lease-namespace', 'mg-lease', '--kubeconfig', cp.kubeconfigPath, '--identity', `round-${round}-${dists.indexOf(dist)}`];
      const child = spawn(process.execPath, [...args, ...serve, ...cluster], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const pid = child.pid;
      if (pid === undefined) throw new Error('mountgate did not start');
      try {
        await sleep(SETTLE_MS);
        const before = { mountgate: cpuSeconds(pid), apiserver: cpuSeconds(apiPid) };
        await sleep(seconds * 1000);
        const after = { mountgate: cpuSeconds(pid), apiserver: cpuSeconds(apiPid) };
        child.kill('SIGTERM');
        await once(child, 'exit');
        const connects = /tls-connects (\d+)/.exec(stderr)?.[1];
        console.log(
          JSON.stringify({
            dist,
            round,
            seconds,
            mountgateCpuMs: Math.round((after.mountgate - before.mountgate) * 1000),
            apiserverCpuMs: Math.round((after.apiserver - before.apiserver) * 1000),
            tlsConnectionsWholeRun: connects === undefined ? null : Number(connects),
          }),
        );
      } finally {
        child.kill('SIGKILL');
      }
      await sleep(LEASE_EXPIRY_MS);
    }
  }
} finally {
  await cp.stop();
}
