/**
 * The scripts the chart's hook Pods run (files/helm-test.js, files/cleanup.js), run here with the
 * same node: helm-test.js against a real `mountgate serve`; cleanup.js's retry and exit codes against
 * scripted answers on 127.0.0.1 (its real run against kube-apiserver is in cluster/install.cluster.ts).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHART_DIR, GEN_CERTS, REPO_ROOT, run } from './helm.js';
import { testCa } from './fixtures.js';

const HELM_TEST_JS = path.join(CHART_DIR, 'files', 'helm-test.js');
const CLEANUP_JS = path.join(CHART_DIR, 'files', 'cleanup.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a hook script the way the Pod does: `node -e <file contents>`, with only the given env. */
function runScript(file: string, env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', readFileSync(file, 'utf8')], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function getStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 2000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

describe('files/helm-test.js against a real mountgate serve', function () {
  this.timeout(90_000);
  let server: ChildProcess | undefined;
  let port = 0;
  let log = '';

  before(async function () {
    const ca = testCa();
    port = await freePort();
    const metricsPort = await freePort();
    // The TypeScript sources through tsx, so this does not depend on `npm run build`.
    server = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'serve',
        '--config', path.join(REPO_ROOT, 'examples', 'deer-flow-policy.yaml'),
        '--tls-cert', ca.certFile, '--tls-key', ca.keyFile,
        '--port', String(port), '--host', '127.0.0.1', '--metrics-port', String(metricsPort), '--shutdown-delay', '0'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout?.on('data', (c: Buffer) => (log += c.toString('utf8')));
    server.stderr?.on('data', (c: Buffer) => (log += c.toString('utf8')));
    const deadline = Date.now() + 60_000;
    while ((await getStatus(`https://localhost:${port}/readyz`, ca.caPem)) !== 200) {
      if (server.exitCode !== null) throw new Error(`mountgate exited ${server.exitCode}:\n${log}`);
      if (Date.now() > deadline) throw new Error(`mountgate not ready within 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(function () {
    server?.kill('SIGTERM');
  });

  it('passes when the webhook answers /readyz, /mutate and /validate over TLS with the CA (file)', async function () {
    const res = await runScript(HELM_TEST_JS, {
      MOUNTGATE_HOST: 'localhost',
      MOUNTGATE_PORT: String(port),
      MOUNTGATE_CA_FILE: testCa().caFile,
    });
    expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
    expect(res.stdout.split('\n').filter((line) => line.endsWith('/readyz: 200')), 'one line for /readyz').to.have.lengthOf(1);
    expect(res.stdout).to.include('/mutate: allowed, uid echoed');
    expect(res.stdout).to.include('/validate: allowed, uid echoed');
  });

  it('passes with the CA given as PEM in the environment (secret mode)', async function () {
    const res = await runScript(HELM_TEST_JS, {
      MOUNTGATE_HOST: 'localhost',
      MOUNTGATE_PORT: String(port),
      MOUNTGATE_CA_PEM: testCa().caPem,
    });
    expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
  });

  it('asks /readyz again while nothing answers yet (a Service that does not route yet), rather than failing at once', async function () {
    const closed = await freePort();
    const child = spawn(process.execPath, ['-e', readFileSync(HELM_TEST_JS, 'utf8')], {
      env: { PATH: process.env.PATH, MOUNTGATE_HOST: '127.0.0.1', MOUNTGATE_PORT: String(closed), MOUNTGATE_CA_PEM: testCa().caPem },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    try {
      await new Promise((r) => setTimeout(r, 5_000));
      expect(child.exitCode, 'still asking after 5 s').to.equal(null);
      expect(stdout).to.match(/readyz: connect ECONNREFUSED 127\.0\.0\.1:\d+; again in 2 s/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('fails at once, naming the certificate error, when the server certificate is not from the given CA', async function () {
    const other = mkdtempSync(path.join(tmpdir(), 'mountgate-other-ca-'));
    try {
      const gen = run('bash', [GEN_CERTS, other]);
      expect(gen.status, gen.stderr).to.equal(0);
      const started = Date.now();
      const res = await runScript(HELM_TEST_JS, {
        MOUNTGATE_HOST: 'localhost',
        MOUNTGATE_PORT: String(port),
        MOUNTGATE_CA_FILE: path.join(other, 'ca.crt'),
      });
      expect(res.code).to.equal(1);
      // The verification error itself, not a retry of /readyz that ran out after a minute.
      expect(res.stderr).to.equal('mountgate helm test failed: unable to verify the first certificate\n');
      expect(res.stdout, 'no "again in 2 s" line: a certificate error is not retried').to.equal('');
      expect(Date.now() - started).to.be.below(10_000);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly auth: string;
}

describe('files/cleanup.js request handling (answers scripted by a stub on loopback; the real API server is in cluster/install.cluster.ts)', function () {
  this.timeout(60_000);
  let saDir = '';

  before(function () {
    saDir = mkdtempSync(path.join(tmpdir(), 'mountgate-sa-'));
    writeFileSync(path.join(saDir, 'token'), 'test-token\n');
    writeFileSync(path.join(saDir, 'ca.crt'), testCa().caPem);
  });
  after(function () {
    rmSync(saDir, { recursive: true, force: true });
  });

  async function withApiServer(
    answer: (req: Seen) => number,
    body: (port: number, seen: Seen[]) => Promise<void>,
  ): Promise<void> {
    const ca = testCa();
    const seen: Seen[] = [];
    const srv = https.createServer({ cert: readFileSync(ca.certFile), key: readFileSync(ca.keyFile) }, (req, res) => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization ?? '' };
      seen.push(s);
      const status = answer(s);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: status }));
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const addr = srv.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    try {
      await body(port, seen);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  }

  function env(port: number): Record<string, string> {
    return {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(port),
      MOUNTGATE_SA_DIR: saDir,
      MOUNTGATE_WEBHOOKS: 'mutatingwebhookconfigurations/mg-mountgate validatingwebhookconfigurations/mg-mountgate',
    };
  }

  it('DELETEs both webhook configurations with the service-account token; 404 counts as done', async function () {
    await withApiServer(
      (r) => (r.url.includes('validating') ? 404 : 200),
      async (port, seen) => {
        const res = await runScript(CLEANUP_JS, env(port));
        expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
        expect(seen).to.deep.equal([
          { method: 'DELETE', url: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/mg-mountgate', auth: 'Bearer test-token' },
          { method: 'DELETE', url: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/mg-mountgate', auth: 'Bearer test-token' },
        ]);
        expect(res.stdout).to.include('mutatingwebhookconfigurations/mg-mountgate: deleted');
        expect(res.stdout).to.include('validatingwebhookconfigurations/mg-mountgate: already gone');
      },
    );
  });

  it('retries a transient failure', async function () {
    let calls = 0;
    await withApiServer(
      () => (++calls === 1 ? 503 : 200),
      async (port, seen) => {
        const res = await runScript(CLEANUP_JS, env(port));
        expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
        expect(seen).to.have.length(3);
      },
    );
  });

  it('exits 1 (so the uninstall stops, webhooks still served) when deletion is forbidden', async function () {
    await withApiServer(
      () => 403,
      async (port, seen) => {
        const res = await runScript(CLEANUP_JS, env(port));
        expect(res.code).to.equal(1);
        expect(res.stderr).to.include('403');
        expect(res.stderr).to.include('Emergency removal');
        expect(seen).to.have.length(5);
      },
    );
  });
});
