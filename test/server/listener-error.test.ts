/**
 * A listening server emits 'error' when accept() fails (EMFILE, ENFILE: no file descriptor left). With
 * no listener for it, that error ends the process. These tests emit it on the real server's listeners,
 * found through Node's http.server.request.start diagnostics channel, and ask for an answer after it;
 * then the bound on how often such errors are logged, on a clock of the test's own.
 */
import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { get, type Server } from 'node:http';
import { ACCEPT_ERROR_LOG_INTERVAL_MS, AcceptErrorLog, type AcceptErrorReport } from '../../src/server/listen.js';
import { logSink } from '../helpers/log-sink.js';
import { review, sandboxPod } from '../helpers/pods.js';
import { withServer, type TestServer } from '../helpers/server.js';
import { httpsCall } from '../helpers/tls.js';

const MOUNTS = [{ hostPath: '/srv/sandbox/u1', mountPath: '/mnt/work' }];

/** The error Node's net.Server emits when accept() fails for want of file descriptors. */
function acceptError(code: 'EMFILE' | 'ENFILE'): NodeJS.ErrnoException {
  return Object.assign(new Error(`accept ${code}`), { code, errno: code === 'EMFILE' ? -24 : -23, syscall: 'accept' });
}

/** The server object that handles a request made by `call`. */
async function serverOf(call: () => Promise<unknown>): Promise<Server> {
  let seen: Server | undefined;
  const onStart = (message: unknown): void => {
    seen ??= (message as { server: Server }).server;
  };
  subscribe('http.server.request.start', onStart);
  try {
    await call();
  } finally {
    unsubscribe('http.server.request.start', onStart);
  }
  if (seen === undefined) throw new Error('no request reached a server');
  return seen;
}

async function mutate(test: TestServer): Promise<{ status: number; allowed: unknown }> {
  const answer = await httpsCall({ port: test.server.port, path: '/mutate', ca: test.pki.caCert, body: JSON.stringify(review(sandboxPod({ mounts: MOUNTS }))) });
  return { status: answer.status, allowed: (JSON.parse(answer.text) as { response: { allowed: unknown } }).response.allowed };
}

function metricsStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('server: an error on a listener once it listens', function () {
  this.timeout(30_000);

  it('keeps the webhook port answering reviews after accept() fails with EMFILE, and logs it', async () => {
    const { lines, logger } = logSink();
    await withServer({ logger }, async (test) => {
      const webhook = await serverOf(() => mutate(test));
      expect(webhook.address()).to.include({ port: test.server.port });
      // Unheard, emit() throws the error (in the process: an uncaught exception that ends it).
      expect(webhook.emit('error', acceptError('EMFILE'))).to.equal(true);
      expect(webhook.listening).to.equal(true);
      expect(await mutate(test)).to.deep.equal({ status: 200, allowed: true });
    });
    const reported = lines.filter((line) => line.msg === 'connections not accepted; the listener goes on');
    expect(reported).to.have.length(1);
    expect(reported[0]).to.include({ level: 50, listener: 'webhook', err: 'accept EMFILE', code: 'EMFILE', errors: 1 });
  });

  it('keeps the metrics port answering after accept() fails with ENFILE, and logs it', async () => {
    const { lines, logger } = logSink();
    await withServer({ logger }, async (test) => {
      const metrics = await serverOf(() => metricsStatus(test.server.metricsPort));
      expect(metrics.address()).to.include({ port: test.server.metricsPort });
      expect(metrics.emit('error', acceptError('ENFILE'))).to.equal(true);
      expect(await metricsStatus(test.server.metricsPort)).to.equal(200);
      expect(await mutate(test)).to.deep.equal({ status: 200, allowed: true });
    });
    const reported = lines.filter((line) => line.msg === 'connections not accepted; the listener goes on');
    expect(reported).to.have.length(1);
    expect(reported[0]).to.include({ listener: 'metrics', err: 'accept ENFILE', code: 'ENFILE', errors: 1 });
  });

  it('logs a burst of accept errors once, not once per error', async () => {
    const { lines, logger } = logSink();
    await withServer({ logger }, async (test) => {
      const webhook = await serverOf(() => mutate(test));
      for (let i = 0; i < 1000; i++) webhook.emit('error', acceptError('EMFILE'));
      expect(await mutate(test)).to.deep.equal({ status: 200, allowed: true });
    });
    expect(lines.filter((line) => line.msg === 'connections not accepted; the listener goes on')).to.have.length(1);
  });
});

describe('server/listen: AcceptErrorLog, how often accept errors are logged', () => {
  const I = ACCEPT_ERROR_LOG_INTERVAL_MS;
  const rows: Array<{ name: string; at: number[]; reports: Array<{ errors: number; at: number }> }> = [
    { name: 'the first at once', at: [5], reports: [{ errors: 1, at: 5 }] },
    { name: 'a burst within the interval once', at: [0, 0, 1, I - 1], reports: [{ errors: 1, at: 0 }] },
    { name: 'the next after the interval with the count since the last line', at: [0, 1, 2, I], reports: [{ errors: 1, at: 0 }, { errors: 3, at: I }] },
    { name: 'errors far apart each', at: [0, 3 * I, 9 * I], reports: [{ errors: 1, at: 0 }, { errors: 1, at: 3 * I }, { errors: 1, at: 9 * I }] },
  ];
  for (const row of rows) {
    it(`reports ${row.name}`, () => {
      let time = 0;
      let current: Error | undefined;
      const reports: Array<{ errors: number; at: number }> = [];
      const log = new AcceptErrorLog((report: AcceptErrorReport) => {
        // Each line carries the error that prompted it.
        expect(report.error).to.equal(current);
        reports.push({ errors: report.errors, at: time });
      }, () => time);
      for (const [index, at] of row.at.entries()) {
        time = at;
        current = acceptError(index % 2 === 0 ? 'EMFILE' : 'ENFILE');
        log.failed(current);
      }
      expect(reports).to.deep.equal(row.reports);
    });
  }
});
