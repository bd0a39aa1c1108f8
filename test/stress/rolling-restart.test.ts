/**
 * Rolling restart: two `mountgate serve` processes share the same policy and
 * certificate, like two replicas of the Deployment. A load process spreads
 * reviews over both and keeps sending to the leaving one past its delay, as
 * if the Service were slow to stop routing to it; a request whose connection
 * fails before its TLS handshake (refused by the closed listener, or reset in
 * its queue as it closed) goes to the other one, as a Service would send it.
 * One replica gets SIGTERM mid-load. No request that reached a replica may
 * fail, the replica must keep serving through its shutdown delay while
 * /readyz says 503, and it must exit 0 within the delay plus the time its
 * in-flight requests need.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BASE_POLICY } from '../helpers/policies.js';
import { httpsCall } from '../helpers/tls.js';
import { withFixture } from './support/fixture.js';
import { asking, carrying, loadBody } from './support/review-bodies.js';
import { startLoad } from './support/run-load.js';
import { ServeProcess } from './support/serve-process.js';
import { summarize } from './support/timeline.js';

const DELAY_SECONDS = 2;
const LOAD_SECONDS = 12;
const RATE = 100;
/** Time a busy 2-core machine may need, beyond the delay, to finish requests, close and exit. */
const EXIT_MARGIN_MS = 2_500;

describe('stress: rolling restart behind a retrying client', function () {
  this.timeout(120_000);

  it('drops no request while one of two replicas drains and exits 0', async () => {
    await withFixture(BASE_POLICY, async (fixture) => {
      const [leaving, staying] = await Promise.all([
        ServeProcess.start({ files: fixture.files, shutdownDelaySeconds: DELAY_SECONDS }),
        ServeProcess.start({ files: fixture.files, shutdownDelaySeconds: DELAY_SECONDS }),
      ]);
      const load = await startLoad(
        {
          targets: [leaving.port, staying.port],
          caFile: await writeCa(fixture.dir, fixture.pki.caCert),
          ratePerSecond: RATE,
          durationMs: LOAD_SECONDS * 1000,
          connectionsPerTarget: 2,
          maxOutstanding: RATE * 5,
          retryBeforeHandshake: true,
          freshConnectionEveryMs: 0,
          bodies: [
            loadBody('allowed mount', '/mutate', asking('/srv/sandbox/u1')),
            loadBody('denied mount', '/mutate', asking('/etc')),
            loadBody('validate', '/validate', carrying('/srv/sandbox/u1')),
          ],
          resultFile: join(fixture.dir, 'load-result.json'),
        },
        fixture.dir,
      );
      try {
        const began = await load.started;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, began + LOAD_SECONDS * 333 - Date.now())));
        const terminatedAt = leaving.signal('SIGTERM');

        // Not ready at once (well before the delay is over), while still serving.
        const readiness = await readinessAfter(leaving.port, fixture.pki.caCert, terminatedAt + DELAY_SECONDS * 500);
        const exit = await leaving.exited;
        const result = await load.finished;

        const failed = result.requests.filter((request) => request.error !== undefined);
        const byLeaving = result.requests.filter((request) => request.target === leaving.port);
        const servedWhileDraining = byLeaving.filter((request) => request.received > terminatedAt && request.sent < terminatedAt + DELAY_SECONDS * 1000);
        const retried = result.requests.filter((request) => request.attempts > 1);
        const resets = retried.filter((request) => request.retriedAfter.includes('ECONNRESET'));
        const latency = summarize(result.requests.map((request) => request.received - request.sent));
        console.log(
          `      ${result.requests.length} requests, ${byLeaving.length} answered by the leaving replica (${servedWhileDraining.length} during its delay), ` +
            `${retried.length} retried after a connection failed before its handshake (${resets.length} of them reset); /readyz ${readiness.status} ${readiness.afterMs} ms after SIGTERM; ` +
            `exit ${exit.code} after ${exit.at - terminatedAt} ms (delay ${DELAY_SECONDS * 1000} ms); latency ms p50 ${latency.p50} p99 ${latency.p99} max ${latency.max}`,
        );

        expect(failed, JSON.stringify(failed.slice(0, 5))).to.deep.equal([]);
        expect(result.requests.length).to.equal(RATE * LOAD_SECONDS);
        expect(result.skipped).to.equal(0);
        expect(readiness.status).to.equal(503);
        expect(servedWhileDraining.length, 'the leaving replica keeps serving through its delay').to.be.greaterThan(0);
        expect(retried.length, 'after the delay the leaving replica takes no connections, and the client moves on').to.be.greaterThan(0);
        expect(exit.code).to.equal(0);
        expect(exit.at - terminatedAt).to.be.within(DELAY_SECONDS * 1000, DELAY_SECONDS * 1000 + EXIT_MARGIN_MS);
        expect(leaving.records.map((record) => record.msg)).to.include.members(['signal received', 'stopped']);
      } finally {
        load.kill();
        await Promise.all([leaving.kill(), staying.kill()]);
      }
    });
  });
});

async function writeCa(dir: string, pem: string): Promise<string> {
  const file = join(dir, 'ca.crt');
  await writeFile(file, pem);
  return file;
}

/** Polls /readyz on fresh connections until it says 503 or `deadline` passes. */
async function readinessAfter(port: number, ca: string, deadline: number): Promise<{ status: number; afterMs: number }> {
  const from = Date.now();
  let status = 0;
  while (Date.now() < deadline) {
    status = (await httpsCall({ port, path: '/readyz', ca })).status;
    if (status === 503) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { status, afterMs: Date.now() - from };
}
