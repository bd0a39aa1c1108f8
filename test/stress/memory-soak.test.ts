/**
 * Memory soak: half a million admissions through the same pipeline the server
 * runs (JSON body, review guard, decision, JSON answer), every one with a host
 * path of its own so that no cache can hide a leak, and tens of thousands more
 * over HTTPS to a real `mountgate serve`. After warm-up, memory must not grow
 * by 10% or more. In-process the heap is measured after a forced GC (mocha runs
 * with --expose-gc); the server's RSS is read from /proc while the load runs.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decide, type Stage } from '../../src/admission/decide.js';
import { fromVerdict, toReview } from '../../src/admission/response.js';
import { readAdmissionReview } from '../../src/admission/review.js';
import { BASE_POLICY, policyOf } from '../helpers/policies.js';
import { review, sandboxPod } from '../helpers/pods.js';
import { withFixture } from './support/fixture.js';
import { SEQUENCE_PLACEHOLDER, type LoadBody } from './support/load-plan.js';
import { carrying, loadBody } from './support/review-bodies.js';
import { startLoad } from './support/run-load.js';
import { ServeProcess } from './support/serve-process.js';
import { summarize } from './support/timeline.js';

const ADMISSIONS = Number(process.env.MOUNTGATE_SOAK_ADMISSIONS ?? 500_000);
const HTTP_RATE = Number(process.env.MOUNTGATE_SOAK_HTTP_RATE ?? 500);
const HTTP_SECONDS = Number(process.env.MOUNTGATE_SOAK_HTTP_SECONDS ?? 40);
const MAX_GROWTH = 0.1;
/** How long the decision lines of the last answers may take to come through the server's log pipe. */
const LOG_BOUND_MS = 15_000;
const MiB = 1024 * 1024;

/** Named kinds of review, each with a sequence placeholder for a path of its own. */
function soakBodies(): LoadBody[] {
  const path = `/srv/sandbox/u${SEQUENCE_PLACEHOLDER}`;
  return [
    loadBody('mutate allowed', '/mutate', sandboxPod({ mounts: [{ hostPath: path, mountPath: '/mnt/work' }] })),
    loadBody('mutate denied', '/mutate', sandboxPod({ mounts: [{ hostPath: `/etc/x${SEQUENCE_PLACEHOLDER}`, mountPath: '/mnt/work' }] })),
    loadBody('mutate read-only', '/mutate', sandboxPod({ mounts: [{ hostPath: `/srv/models/m${SEQUENCE_PLACEHOLDER}`, mountPath: '/models' }, { hostPath: path, mountPath: '/w' }] })),
    loadBody('validate allowed', '/validate', carrying(path)),
    loadBody('validate denied', '/validate', carrying(`/var/run/${SEQUENCE_PLACEHOLDER}`)),
    loadBody('malformed annotation', '/mutate', sandboxPod({ mounts: `[{"hostPath": ${SEQUENCE_PLACEHOLDER}` })),
  ];
}

interface Checkpoint {
  readonly done: number;
  readonly heapUsed: number;
  readonly rss: number;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc (test/stress/.mocharc.json passes it)');
  gc();
  gc();
}

function growth(from: number, to: number): number {
  return (to - from) / from;
}

describe('stress: memory soak', function () {
  this.timeout(600_000);

  it(`${ADMISSIONS} admissions in-process, each with a path of its own: heap and RSS grow less than 10% after warm-up`, () => {
    const policy = policyOf();
    const bodies = soakBodies().map((body) => ({ ...body, stage: body.path.slice(1) as Stage, body: body.body.replace('00000000-UID-PLACEHOLDER', 'soak') }));
    const warmUp = Math.floor(ADMISSIONS / 5);
    const checkpoints: Checkpoint[] = [];
    const counts = { allowed: 0, denied: 0 };
    const started = performance.now();
    for (let done = 0; done < ADMISSIONS; done++) {
      const body = bodies[done % bodies.length];
      if (body === undefined) throw new Error('no bodies');
      const read = readAdmissionReview(JSON.parse(body.body.replaceAll(SEQUENCE_PLACEHOLDER, String(done))));
      if (!read.ok) throw new Error(read.problems.join('; '));
      const verdict = decide(body.stage, read.request, policy);
      counts[verdict.allowed ? 'allowed' : 'denied']++;
      JSON.stringify(toReview(read.request.uid, fromVerdict(verdict)));
      if (done + 1 >= warmUp && (done + 1 - warmUp) % Math.floor(ADMISSIONS / 10) === 0) {
        collect();
        const memory = process.memoryUsage();
        checkpoints.push({ done: done + 1, heapUsed: memory.heapUsed, rss: memory.rss });
      }
    }
    collect();
    const end = process.memoryUsage();
    checkpoints.push({ done: ADMISSIONS, heapUsed: end.heapUsed, rss: end.rss });
    const first = checkpoints[0];
    if (first === undefined) throw new Error('no checkpoint');
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `      ${ADMISSIONS} admissions in ${seconds.toFixed(1)} s (${(ADMISSIONS / seconds).toFixed(0)}/s; ${counts.allowed} allowed, ${counts.denied} denied); ` +
        `after warm-up, heap ${(first.heapUsed / MiB).toFixed(1)} -> ${(end.heapUsed / MiB).toFixed(1)} MiB, RSS ${(first.rss / MiB).toFixed(0)} -> ${(end.rss / MiB).toFixed(0)} MiB; ` +
        `heap at checkpoints: ${checkpoints.map((point) => (point.heapUsed / MiB).toFixed(1)).join(', ')}`,
    );
    expect(counts.allowed, 'a good share allowed').to.be.greaterThan(ADMISSIONS / 4);
    expect(counts.denied, 'a good share denied').to.be.greaterThan(ADMISSIONS / 4);
    expect(growth(first.heapUsed, end.heapUsed), 'heap growth after warm-up').to.be.below(MAX_GROWTH);
    expect(growth(first.rss, end.rss), 'RSS growth after warm-up').to.be.below(MAX_GROWTH);
  });

  it(`${HTTP_RATE * HTTP_SECONDS} admissions over HTTPS to a serve process: its RSS grows less than 10% after warm-up`, async () => {
    await withFixture(BASE_POLICY, async (fixture) => {
      const server = await ServeProcess.start({ files: fixture.files });
      const caFile = join(fixture.dir, 'ca.crt');
      await writeFile(caFile, fixture.pki.caCert);
      const total = HTTP_RATE * HTTP_SECONDS;
      const samples: Array<{ decisions: number; rss: number }> = [];
      const sampler = setInterval(() => samples.push({ decisions: server.decisionsLogged, rss: server.rssBytes() }), 250);
      const load = await startLoad(
        {
          targets: [server.port],
          caFile,
          ratePerSecond: HTTP_RATE,
          durationMs: HTTP_SECONDS * 1000,
          connectionsPerTarget: 8,
          maxOutstanding: HTTP_RATE * 5,
          retryBeforeHandshake: false,
          freshConnectionEveryMs: 0,
          bodies: soakBodies(),
          resultFile: join(fixture.dir, 'soak-result.json'),
        },
        fixture.dir,
      );
      try {
        const result = await load.finished;
        // The server logs each decision as it answers, and its log reaches this process through a pipe: wait (bounded) for
        // the last lines, then a second more of samples. A line missing after the bound still fails the count below.
        for (const until = Date.now() + LOG_BOUND_MS; server.decisionsLogged < total && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 50));
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        clearInterval(sampler);
        const failed = result.requests.filter((request) => request.error !== undefined);
        // Warm-up: the first quarter of the requests (JIT, heap sizing, TLS session caches).
        const afterWarmUp = samples.filter((sample) => sample.decisions >= total / 4);
        const base = afterWarmUp[0]?.rss ?? Number.NaN;
        const lastSamples = afterWarmUp.slice(-4).map((sample) => sample.rss);
        const end = lastSamples.reduce((sum, rss) => sum + rss, 0) / lastSamples.length;
        const peak = Math.max(...afterWarmUp.map((sample) => sample.rss));
        const latency = summarize(result.requests.map((request) => request.received - request.sent));
        console.log(
          `      ${result.requests.length} requests at ${HTTP_RATE}/s on 8 keep-alive connections (latency ms p50 ${latency.p50} p99 ${latency.p99} max ${latency.max}); ` +
            `server RSS after warm-up ${(base / MiB).toFixed(0)} MiB, at the end ${(end / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB`,
        );
        expect(failed, JSON.stringify(failed.slice(0, 3))).to.deep.equal([]);
        expect(result.requests.length).to.equal(total);
        expect(server.decisionsLogged, 'decisions the server logged').to.equal(total);
        expect(growth(base, end), 'RSS growth after warm-up').to.be.below(MAX_GROWTH);
      } finally {
        clearInterval(sampler);
        load.kill();
        await server.kill();
      }
    });
  });
});
