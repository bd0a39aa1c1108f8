/**
 * The probe process: `node --import tsx probe-client.ts PORT EVERY_MS MAX_PROBES`, the CA in
 * MOUNTGATE_PROBE_CA. A process of its own, so that what the test process does meanwhile (setting up
 * hundreds of TLS connections of an attack, a GC of what it built) does not stall the fresh client
 * and count as the server's latency. One probe at a time: a new TLS connection asking /mutate about a
 * small Pod. Prints "ready" after a first probe that is not counted, then probes until a line "stop" (or the end)
 * on stdin, MAX_PROBES, or MAX_RUN_MS; then prints one JSON line, { samples, failures }, and exits 0.
 */
import { review, sandboxPod } from '../../helpers/pods.js';
import { httpsCall } from '../../helpers/tls.js';
import type { ProbeSample } from './probe.js';

const BODY = JSON.stringify(review(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/probe', mountPath: '/mnt/probe' }] })));
/** A bound of its own, should the test process never say stop. */
const MAX_RUN_MS = 10 * 60_000;

async function main(port: number, everyMs: number, maxProbes: number, ca: string): Promise<void> {
  const samples: ProbeSample[] = [];
  const failures: string[] = [];
  let running = true;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    if (text.includes('stop')) running = false;
  });
  process.stdin.on('end', () => (running = false));
  // One probe first, not counted: the first HTTPS request of a new process pays for loading and compiling its
  // client code, which is this process's cost, not the server's.
  await httpsCall({ port, path: '/mutate', ca, body: BODY }).catch(() => undefined);
  process.stdout.write('ready\n');
  const began = Date.now();
  for (let count = 0; running && count < maxProbes && Date.now() - began < MAX_RUN_MS; count++) {
    const at = Date.now();
    const started = performance.now();
    try {
      const answer = await httpsCall({ port, path: '/mutate', ca, body: BODY });
      samples.push({ at, ms: Math.round((performance.now() - started) * 10) / 10 });
      if (answer.status !== 200 || !answer.text.includes('"allowed":true')) failures.push(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
    } catch (error) {
      failures.push(String(error));
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  process.stdout.write(`${JSON.stringify({ samples, failures })}\n`);
}

const [port, everyMs, maxProbes] = process.argv.slice(2).map(Number);
const ca = process.env.MOUNTGATE_PROBE_CA;
if (port === undefined || everyMs === undefined || maxProbes === undefined || ca === undefined) {
  process.stderr.write('usage: MOUNTGATE_PROBE_CA=PEM probe-client.ts PORT EVERY_MS MAX_PROBES\n');
  process.exit(2);
}
main(port, everyMs, maxProbes, ca).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`probe failed: ${String(error)}\n`);
    process.exit(1);
  },
);
