/**
 * Load with churn: a separate load process keeps a steady rate of admission
 * reviews on keep-alive connections to a real `mountgate serve` for about a
 * minute while the certificate is rotated twice (once the kubelet's atomic way,
 * once by overwriting the files one after the other) and the policy is
 * rewritten twice (once valid, once invalid). Every request must be answered,
 * every answer must be the verdict of the policy in force when it was decided
 * (switch times come from the server's own log), and every brand-new connection
 * must be served the certificate in use at that moment.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueServingPair } from '../helpers/tls.js';
import { withFixture } from './support/fixture.js';
import type { LoadResult, RequestRecord } from './support/load-plan.js';
import { scrape, sampleSum } from './support/metrics.js';
import { asking, carrying, loadBody } from './support/review-bodies.js';
import { startLoad } from './support/run-load.js';
import { cpuSeconds, ServeProcess, type LogRecord } from './support/serve-process.js';
import { possibleVersions, summarize, type Versions } from './support/timeline.js';

const SECONDS = Number(process.env.MOUNTGATE_STRESS_SECONDS ?? 60);
const RATE = Number(process.env.MOUNTGATE_STRESS_RATE ?? 200);

const POLICY_A = {
  allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }, { pathPrefix: '/srv/models', readOnly: true }],
  builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }],
  reservedMountPaths: ['/mnt/skills'],
};
/** Moves the read-write area from /srv/sandbox to /srv/projects: the two verdicts differ. */
const POLICY_B = { ...POLICY_A, allowedHostPaths: [{ pathPrefix: '/srv/projects' }, { pathPrefix: '/srv/models', readOnly: true }] };
/** Would allow the whole node; must be refused, leaving B in force. */
const POLICY_INVALID = { ...POLICY_B, allowedHostPaths: [{ pathPrefix: '/' }] };

type PolicyName = 'A' | 'B';
/** Named rows: the request and the verdict each policy gives it. */
const ROWS: ReadonlyArray<{ kind: string; expected: Record<PolicyName, boolean>; body: ReturnType<typeof loadBody> }> = [
  { kind: 'mutate /srv/sandbox (A only)', expected: { A: true, B: false }, body: loadBody('', '/mutate', asking('/srv/sandbox/u1')) },
  { kind: 'mutate /srv/projects (B only)', expected: { A: false, B: true }, body: loadBody('', '/mutate', asking('/srv/projects/p1')) },
  { kind: 'mutate /srv/models read-only (both)', expected: { A: true, B: true }, body: loadBody('', '/mutate', asking('/srv/models/m', true)) },
  { kind: 'mutate /srv/models read-write (neither)', expected: { A: false, B: false }, body: loadBody('', '/mutate', asking('/srv/models/m', false)) },
  { kind: 'validate a /srv/sandbox volume (A only)', expected: { A: true, B: false }, body: loadBody('', '/validate', carrying('/srv/sandbox/u1')) },
  { kind: 'validate a /srv/projects volume (B only)', expected: { A: false, B: true }, body: loadBody('', '/validate', carrying('/srv/projects/p1')) },
  { kind: 'a Deployment (not a Pod)', expected: { A: true, B: true }, body: loadBody('', '/mutate', { kind: 'Deployment' }, { resource: 'deployments', group: 'apps' }) },
];

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}

function switches(records: readonly LogRecord[], msg: string): LogRecord[] {
  return records.filter((record) => record.msg === msg);
}

function describeFailures(requests: readonly RequestRecord[]): string {
  return JSON.stringify(requests.slice(0, 5), null, 1);
}

describe('stress: load with certificate and policy churn', function () {
  this.timeout((SECONDS + 120) * 1000);

  it(`answers ${RATE}/s for ${SECONDS} s through two rotations and two policy rewrites, each answer by the policy in force`, async () => {
    await withFixture(POLICY_A, async (fixture, firstPair) => {
      const server = await ServeProcess.start({ files: fixture.files, shutdownDelaySeconds: 1 });
      const cpuBefore = cpuSeconds(server.pid);
      const caFile = join(fixture.dir, 'ca.crt');
      await writeFile(caFile, fixture.pki.caCert);
      const load = await startLoad(
        {
          targets: [server.port],
          caFile,
          ratePerSecond: RATE,
          durationMs: SECONDS * 1000,
          connectionsPerTarget: 4,
          maxOutstanding: RATE * 5,
          retryBeforeHandshake: false,
          freshConnectionEveryMs: 250,
          bodies: ROWS.map((row) => ({ ...row.body, kind: row.kind })),
          resultFile: join(fixture.dir, 'load-result.json'),
        },
        fixture.dir,
      );
      let result: LoadResult;
      let began = 0;
      const fingerprints = [firstPair.fingerprint];
      /** When each change was complete on disk: certificate, policy, certificate, invalid policy. */
      const written: number[] = [];
      try {
        began = await load.started;
        const at = (fraction: number): number => began + fraction * SECONDS * 1000;

        await sleepUntil(at(1 / 6));
        fingerprints.push((await fixture.rotateCertificate()).fingerprint);
        written.push(Date.now());
        await sleepUntil(at(2 / 6));
        await fixture.publishPolicy(POLICY_B);
        written.push(Date.now());
        await sleepUntil(at(3 / 6));
        // The naive way: certificate first, key 300 ms later. The server must refuse the mismatched pair and keep serving.
        const third = await issueServingPair(fixture.pki);
        await writeFile(fixture.files.cert, third.cert);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await writeFile(fixture.files.key, third.key);
        written.push(Date.now());
        fingerprints.push(third.fingerprint);
        await sleepUntil(at(4 / 6));
        await writeFile(fixture.files.config, JSON.stringify(POLICY_INVALID));
        written.push(Date.now());
        result = await load.finished;
      } finally {
        load.kill();
      }

      try {
        const metrics = await scrape(server.metricsPort);
        const policySwitches = switches(server.records, 'policy reloaded');
        const certificateSwitches = switches(server.records, 'certificate reloaded');
        const refusedPolicies = switches(server.records, 'new policy refused; the previous policy stays in force');

        const latency = summarize(result.requests.map((request) => request.received - request.sent));
        console.log(
          `      ${result.requests.length} requests at ${RATE}/s on 4 keep-alive connections, ${result.skipped} beats skipped: ` +
            `latency ms p50 ${latency.p50} p99 ${latency.p99} max ${latency.max}; ${result.connections.length} fresh connections; ` +
            `certificate refusals while half-written: ${sampleSum(metrics, 'mountgate_reloads_total', { kind: 'certificate', result: 'failure' })}; ` +
            `server CPU ${(((cpuSeconds(server.pid) - cpuBefore) * 1000) / result.requests.length).toFixed(2)} ms per request, RSS ${(server.rssBytes() / 2 ** 20).toFixed(0)} MiB; ` +
            `longest pause of the load process ${result.longestPause.ms} ms at +${(result.longestPause.at / 1000).toFixed(1)} s, ` +
            `of the server's event loop ${(sampleSum(metrics, 'nodejs_eventloop_lag_max_seconds') * 1000).toFixed(0)} ms`,
        );
        const slowest = [...result.requests].sort((a, b) => b.received - b.sent - (a.received - a.sent))[0];
        // Which side stalled, when it happens: the load process's own pauses, the server's event loop, the slowest request.
        const stall = `slowest request sent at +${(((slowest?.sent ?? began) - began) / 1000).toFixed(1)} s (${slowest === undefined ? 0 : slowest.received - slowest.sent} ms)`;

        // Every request answered, as asked, with no beat skipped.
        const failed = result.requests.filter((request) => request.error !== undefined);
        expect(failed, describeFailures(failed)).to.deep.equal([]);
        expect(result.skipped, `beats skipped because the server fell behind (${stall})`).to.equal(0);
        expect(result.requests.length).to.equal(Math.floor(RATE * SECONDS));

        // One valid policy switch, the invalid one refused.
        expect(policySwitches.map((record) => record.msg)).to.deep.equal(['policy reloaded']);
        expect(refusedPolicies.length, 'the invalid policy must be refused').to.be.greaterThan(0);
        expect(sampleSum(metrics, 'mountgate_reloads_total', { kind: 'policy', result: 'success' })).to.equal(1);
        expect(sampleSum(metrics, 'mountgate_reloads_total', { kind: 'policy', result: 'failure' })).to.equal(refusedPolicies.length);
        expect(certificateSwitches.length).to.equal(2);
        expect(sampleSum(metrics, 'mountgate_reloads_total', { kind: 'certificate', result: 'success' })).to.equal(2);

        // Every verdict is the one of a policy that may have been in force while the request was decided.
        const policies: Versions<PolicyName> = { initial: 'A', switches: policySwitches.map((record) => ({ at: record.at, to: 'B' as const })) };
        const wrong: Array<RequestRecord & { possible: PolicyName[] }> = [];
        let straddling = 0;
        for (const request of result.requests) {
          const row = ROWS.find((candidate) => candidate.kind === request.kind);
          const possible = possibleVersions(policies, request.sent, request.received);
          if (possible.length > 1) straddling++;
          if (row === undefined || !possible.some((name) => row.expected[name] === request.allowed)) wrong.push({ ...request, possible });
        }
        expect(wrong, JSON.stringify(wrong.slice(0, 5))).to.deep.equal([]);
        // Not vacuous: plenty of answers could only have come from one policy or the other.
        for (const name of ['A', 'B'] as const) {
          const certain = result.requests.filter((request) => {
            const possible = possibleVersions(policies, request.sent, request.received);
            return possible.length === 1 && possible[0] === name;
          });
          expect(certain.length, `answers that only policy ${name} can explain`).to.be.greaterThan(RATE);
        }

        // Every new connection gets the certificate in use when it was made, and each rotation shows up.
        const certificates: Versions<string> = {
          initial: firstPair.fingerprint,
          switches: certificateSwitches.map((record, index) => ({ at: record.at, to: fingerprints[index + 1] ?? 'unknown' })),
        };
        const samples = result.connections;
        const badSamples = samples.filter(
          (sample) => sample.error !== undefined || !possibleVersions(certificates, sample.started, sample.finished).includes(sample.fingerprint),
        );
        expect(badSamples, JSON.stringify(badSamples.slice(0, 5))).to.deep.equal([]);
        for (const fingerprint of fingerprints) expect(samples.map((sample) => sample.fingerprint), 'each certificate was served').to.include(fingerprint);

        // Each change was taken up (or refused) within 5 s.
        const seen = [certificateSwitches[0], policySwitches[0], certificateSwitches[1], refusedPolicies[refusedPolicies.length - 1]];
        const delays = seen.map((record, index) => (record?.at ?? Number.POSITIVE_INFINITY) - (written[index] ?? 0));
        console.log(`      reload delays ms ${delays.join(', ')}; ${straddling} requests straddled the policy switch`);
        for (const delay of delays) expect(delay).to.be.within(-1_000, 5_000);

        const stopAt = server.signal('SIGTERM');
        const exit = await server.exited;
        expect(exit.code).to.equal(0);
        expect(exit.at - stopAt).to.be.lessThan(5_000);
      } finally {
        await server.kill();
      }
    });
  });
});
