import { expect } from 'chai';
import { rename, symlink, writeFile, mkdir, unlink } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { applyPatch, type Operation } from '../../src/admission/json-patch.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../src/server/index.js';
import { BASE_POLICY, requestedRootLine } from '../helpers/policies.js';
import { expectedVolumeName, review, sandboxPod } from '../helpers/pods.js';
import { logSink } from '../helpers/log-sink.js';
import { eventually, metricsText, withServer, type TestServer } from '../helpers/server.js';
import { httpsCall, issueServingPair } from '../helpers/tls.js';

interface ReviewAnswer {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason: string; message: string };
    patchType?: string;
    patch?: string;
    warnings?: string[];
    auditAnnotations?: Record<string, string>;
  };
}

async function admit(test: TestServer, path: string, body: unknown, agent?: Agent): Promise<ReviewAnswer> {
  const answer = await httpsCall({ port: test.server.port, path, ca: test.pki.caCert, body: JSON.stringify(body), ...(agent ? { agent } : {}) });
  expect(answer.status, answer.text).to.equal(200);
  return JSON.parse(answer.text) as ReviewAnswer;
}

function decodePatch(answer: ReviewAnswer): Operation[] {
  expect(answer.response.patchType).to.equal('JSONPatch');
  return JSON.parse(Buffer.from(answer.response.patch ?? '', 'base64').toString('utf8')) as Operation[];
}

const MOUNTS = [{ hostPath: '/srv/sandbox/u1', mountPath: '/mnt/work' }];

describe('server (real HTTPS on loopback)', function () {
  this.timeout(30_000);

  describe('admission routes', () => {
    it('answers /mutate with a patch that applies to the Pod, echoing the uid', async () => {
      await withServer({}, async (test) => {
        const pod = sandboxPod({ mounts: MOUNTS });
        const answer = await admit(test, '/mutate?timeout=10s', review(pod));
        expect(answer.apiVersion).to.equal('admission.k8s.io/v1');
        expect(answer.kind).to.equal('AdmissionReview');
        expect(answer.response.uid).to.equal('3f1c2f2e-1111-4a4a-9b9b-000000000001');
        expect(answer.response.allowed).to.equal(true);
        const patched = applyPatch(structuredClone(pod), decodePatch(answer), true, false).newDocument as { spec: { volumes: unknown[] } };
        expect(patched.spec.volumes).to.deep.include({ name: expectedVolumeName('/srv/sandbox/u1'), hostPath: { path: '/srv/sandbox/u1', type: 'DirectoryOrCreate' } });
      });
    });

    it('patches a Pod that has no volumes or volumeMounts arrays', async () => {
      await withServer({}, async (test) => {
        const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { annotations: { 'mountgate.io/mounts': JSON.stringify(MOUNTS) } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
        const answer = await admit(test, '/mutate', review(pod));
        const patched = applyPatch(structuredClone(pod), decodePatch(answer), true, false).newDocument;
        expect(patched.spec).to.deep.equal({
          containers: [{ name: 'c', image: 'x', volumeMounts: [{ name: expectedVolumeName('/srv/sandbox/u1'), mountPath: '/mnt/work' }] }],
          volumes: [{ name: expectedVolumeName('/srv/sandbox/u1'), hostPath: { path: '/srv/sandbox/u1', type: 'DirectoryOrCreate' } }],
        });
      });
    });

    it('denies a broken rule with HTTP 200, allowed false, a 403 Forbidden naming the path, and the rule for the audit log', async () => {
      await withServer({}, async (test) => {
        const answer = await admit(test, '/mutate', review(sandboxPod({ mounts: [{ hostPath: '/var/run', mountPath: '/run' }] })));
        expect(answer.response).to.deep.equal({
          uid: '3f1c2f2e-1111-4a4a-9b9b-000000000001',
          allowed: false,
          status: {
            code: 403,
            reason: 'Forbidden',
            message: 'mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].hostPath: "/var/run" is not under any allowed host path',
          },
          auditAnnotations: {
            verdict: 'denied',
            rule: 'host-path-not-allowed',
            violation: 'metadata.annotations[mountgate.io/mounts][0].hostPath: "/var/run" is not under any allowed host path',
          },
        });
      });
    });

    it('logs each decision with the request it judged, its verdict, the rule broken first and the message', async () => {
      const { lines, logger } = logSink();
      // A Pod created from generateName has no name yet: the log names it by its prefix.
      const generated = sandboxPod();
      generated['metadata'] = { generateName: 'sandbox-', namespace: 'agents' };
      await withServer({ logger }, async (test) => {
        await admit(test, '/mutate', review(sandboxPod({ mounts: [{ hostPath: '/var/run', mountPath: '/run' }] })));
        await admit(test, '/mutate', review(sandboxPod({ mounts: MOUNTS }), { operation: 'UPDATE', namespace: 'team-a' }));
        await admit(test, '/validate', review(generated, { dryRun: true }));
      });
      const decisions = lines
        .filter((line) => line.msg === 'admission decision')
        .map(({ uid, namespace, pod, operation, dryRun, endpoint, verdict, rule, reason }) => ({ uid, namespace, pod, operation, dryRun, endpoint, verdict, rule, reason }));
      const uid = '3f1c2f2e-1111-4a4a-9b9b-000000000001';
      expect(decisions).to.deep.equal([
        {
          uid,
          namespace: 'agents',
          pod: 'sandbox-1',
          operation: 'CREATE',
          dryRun: false,
          endpoint: 'mutate',
          verdict: 'denied',
          rule: 'host-path-not-allowed',
          reason: 'mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].hostPath: "/var/run" is not under any allowed host path',
        },
        { uid, namespace: 'team-a', pod: 'sandbox-1', operation: 'UPDATE', dryRun: false, endpoint: 'mutate', verdict: 'allowed', rule: undefined, reason: undefined },
        { uid, namespace: 'agents', pod: 'sandbox-*', operation: 'CREATE', dryRun: true, endpoint: 'validate', verdict: 'allowed', rule: undefined, reason: undefined },
      ]);
    });

    it('denies with HTTP 200, allowed false and a 400 BadRequest a review whose Pod cannot be read', async () => {
      await withServer({}, async (test) => {
        const answer = await admit(test, '/validate', review({ metadata: {}, spec: { containers: 'sandbox' } }));
        expect(answer.response).to.deep.equal({
          uid: '3f1c2f2e-1111-4a4a-9b9b-000000000001',
          allowed: false,
          status: { code: 400, reason: 'BadRequest', message: 'mountgate denied the Pod: request.object: is not a readable Pod: spec.containers must be a list' },
          auditAnnotations: { verdict: 'denied', rule: 'unreadable-pod', violation: 'request.object: is not a readable Pod: spec.containers must be a list' },
        });
      });
    });

    it('validates: denies a hand-written hostPath and allows what /mutate produced', async () => {
      await withServer({}, async (test) => {
        const handWritten = sandboxPod({ volumes: [{ name: 'docker', hostPath: { path: '/var/run/docker.sock' } }] });
        const denied = await admit(test, '/validate', review(handWritten));
        expect(denied.response.status?.message).to.equal('mountgate denied the Pod: spec.volumes[0].hostPath.path: "/var/run/docker.sock" is not under any allowed or built-in host path');

        const pod = sandboxPod({ mounts: MOUNTS });
        const mutated = applyPatch(structuredClone(pod), decodePatch(await admit(test, '/mutate', review(pod))), true, false).newDocument;
        expect((await admit(test, '/validate', review(mutated))).response).to.deep.equal({
          uid: '3f1c2f2e-1111-4a4a-9b9b-000000000001',
          allowed: true,
          auditAnnotations: { verdict: 'allowed' },
        });
      });
    });

    it('allows anything that is not a Pod, with no patch', async () => {
      await withServer({}, async (test) => {
        const answer = await admit(test, '/mutate', review({ kind: 'Deployment' }, { resource: 'deployments', group: 'apps' }));
        expect(answer.response).to.deep.equal({ uid: '3f1c2f2e-1111-4a4a-9b9b-000000000001', allowed: true });
      });
    });

    it('answers a dry run like a real request', async () => {
      await withServer({}, async (test) => {
        const pod = sandboxPod({ mounts: MOUNTS });
        const real = await admit(test, '/mutate', review(pod, { dryRun: false }));
        const dry = await admit(test, '/mutate', review(pod, { dryRun: true }));
        expect(dry).to.deep.equal(real);
      });
    });
  });

  describe('the guard ladder', () => {
    const bad: Array<[string, string | Buffer, string, number, string]> = [
      ['text that is not JSON', '{"apiVersion":', 'application/json', 400, 'the body is not valid JSON: Unexpected end of JSON input'],
      ['a JSON scalar', '42', 'application/json', 400, `the body is not valid JSON: Unexpected token '4', "42" is not valid JSON`],
      ['JSON sent as text/plain', JSON.stringify(review(sandboxPod())), 'text/plain', 400, 'expected a JSON AdmissionReview with Content-Type: application/json'],
      ['an AdmissionReview of another version', JSON.stringify({ ...review(sandboxPod()), apiVersion: 'admission.k8s.io/v1beta1' }), 'application/json', 400, 'not an admission.k8s.io/v1 AdmissionReview: apiVersion must be admission.k8s.io/v1'],
      ['a review without request.uid', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...(review(sandboxPod()).request as object), uid: undefined } }), 'application/json', 400, 'not an admission.k8s.io/v1 AdmissionReview: request.uid is required'],
      ['a body over 3 MiB', Buffer.alloc(3 * 1024 * 1024 + 1, 0x20), 'application/json', 413, 'the body is larger than 3145728 bytes'],
    ];
    for (const [name, body, contentType, status, message] of bad) {
      it(`refuses ${name} with HTTP ${status} and a JSON error`, async () => {
        await withServer({}, async (test) => {
          const answer = await httpsCall({ port: test.server.port, path: '/validate', ca: test.pki.caCert, body, contentType });
          expect(answer.status).to.equal(status);
          expect(answer.headers['content-type']).to.match(/^application\/json/);
          // A Kubernetes Status, which the API server's webhook client decodes and quotes.
          expect(JSON.parse(answer.text)).to.deep.equal({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: status, reason: status === 413 ? 'RequestEntityTooLarge' : 'BadRequest', message, error: message });
          // Still serving.
          expect((await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).status).to.equal(200);
          expect(await metricsText(test.server.metricsPort)).to.include('mountgate_admission_requests_total{endpoint="validate",result="error"} 1');
        });
      });
    }

    describe('a review whose userInfo.groups holds many non-strings: a short 400', () => {
      const withGroups = (count: number): string => {
        const body = review(sandboxPod());
        return JSON.stringify({ ...body, request: { ...(body.request as object), userInfo: { username: 'x', groups: new Array<number>(count).fill(0) } } });
      };
      const rows = [
        // Before: yup built an error per entry, and this answered 500 "Maximum call stack size exceeded" after seconds.
        { name: '300 000 entries (600 KB): the first problem only', count: 300_000, message: 'not an admission.k8s.io/v1 AdmissionReview: request.userInfo.groups[0] must be a string' },
        { name: '50 entries: ten problems, then how many more', count: 50, message: `not an admission.k8s.io/v1 AdmissionReview: ${Array.from({ length: 10 }, (_, index) => `request.userInfo.groups[${index}] must be a string`).join('; ')}; and 40 more problems` },
      ];
      for (const row of rows) {
        it(row.name, async () => {
          await withServer({}, async (test) => {
            const answer = await httpsCall({ port: test.server.port, path: '/mutate', ca: test.pki.caCert, body: withGroups(row.count) });
            expect(answer.status, answer.text.slice(0, 200)).to.equal(400);
            expect(answer.text.length, 'characters in the answer (the message twice)').to.be.below(2048);
            expect((JSON.parse(answer.text) as { error: string }).error).to.equal(row.message);
          });
        });
      }
    });

    it('accepts a body just under 3 MiB', async () => {
      await withServer({}, async (test) => {
        const body = JSON.stringify(review(sandboxPod()));
        const padded = body.slice(0, -1) + ' '.repeat(3 * 1024 * 1024 - Buffer.byteLength(body)) + '}';
        expect(Buffer.byteLength(padded)).to.equal(3 * 1024 * 1024);
        const answer = await httpsCall({ port: test.server.port, path: '/mutate', ca: test.pki.caCert, body: padded });
        expect(answer.status).to.equal(200);
      });
    });

    it('routes on the path only and names wrong methods and paths', async () => {
      await withServer({}, async (test) => {
        const wrongMethod = await httpsCall({ port: test.server.port, path: '/mutate', ca: test.pki.caCert, method: 'GET' });
        expect([wrongMethod.status, wrongMethod.headers.allow]).to.deep.equal([405, 'POST']);
        const nowhere = await httpsCall({ port: test.server.port, path: '/admit', ca: test.pki.caCert, method: 'POST', body: '{}' });
        expect(JSON.parse(nowhere.text)).to.deep.equal({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 404, reason: 'NotFound', message: 'no route for /admit', error: 'no route for /admit' });
        expect(JSON.parse(wrongMethod.text)).to.deep.include({ code: 405, reason: 'MethodNotAllowed', message: '/mutate takes POST' });
      });
    });

    const otherSpellings: Array<[string, string, string, number, string | undefined]> = [
      ['/MUTATE/ (express routes it to /mutate)', 'GET', '/MUTATE/', 405, 'POST'],
      ['/Validate', 'PUT', '/Validate', 405, 'POST'],
      ['/HEALTHZ/', 'POST', '/HEALTHZ/', 405, 'GET, HEAD'],
      ['/readyz', 'PUT', '/readyz', 405, 'GET, HEAD'],
      ['/healthz (HEAD, which Allow lists for it)', 'HEAD', '/healthz', 200, undefined],
      ['/mutate// (two slashes: no route)', 'GET', '/mutate//', 404, undefined],
      ['/mutatex', 'GET', '/mutatex', 404, undefined],
    ];
    for (const [name, method, path, status, allow] of otherSpellings) {
      it(`answers ${method} ${name} with ${status}, as the route it reaches`, async () => {
        await withServer({}, async (test) => {
          const answer = await httpsCall({ port: test.server.port, path, ca: test.pki.caCert, method, body: method === 'GET' ? undefined : '{}' });
          expect([answer.status, answer.headers.allow]).to.deep.equal([status, allow]);
        });
      });
    }
  });

  describe('transport', () => {
    it('refuses TLS below 1.2, answering with a protocol_version alert', async () => {
      await withServer({}, async (test) => {
        const outcome = await new Promise<string>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port: test.server.port, ca: test.pki.caCert, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
          socket.on('secureConnect', () => {
            socket.destroy();
            resolve('connected');
          });
          socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        });
        // Any failed handshake is not a floor: a server that took TLS 1.0 still fails this one, with an
        // internal_error alert (its security level leaves no signature algorithm that TLS 1.1 can use).
        expect(outcome).to.equal('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
      });
    });

    it('keeps idle connections for at least 90 s and says so', async () => {
      await withServer({}, async (test) => {
        expect(KEEP_ALIVE_TIMEOUT_MS).to.be.at.least(90_000);
        const agent = new Agent({ keepAlive: true, ca: test.pki.caCert });
        try {
          const answer = await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert, agent });
          expect(answer.headers['keep-alive']).to.equal(`timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}`);
        } finally {
          agent.destroy();
        }
      });
    });

    it('reports health, readiness and metrics', async () => {
      await withServer({}, async (test) => {
        expect((await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).status).to.equal(200);
        expect((await httpsCall({ port: test.server.port, path: '/readyz', ca: test.pki.caCert })).status).to.equal(200);
        await admit(test, '/mutate', review(sandboxPod({ mounts: MOUNTS })));
        await admit(test, '/mutate', review(sandboxPod({ mounts: [{ hostPath: '/etc', mountPath: '/e' }] })));
        await admit(test, '/validate', review(sandboxPod()));
        const text = await metricsText(test.server.metricsPort);
        for (const line of [
          'mountgate_admission_requests_total{endpoint="mutate",result="allowed"} 1',
          'mountgate_admission_requests_total{endpoint="mutate",result="denied"} 1',
          'mountgate_admission_requests_total{endpoint="validate",result="allowed"} 1',
          'mountgate_admission_requests_total{endpoint="validate",result="error"} 0',
          'mountgate_admission_duration_seconds_count{endpoint="mutate"} 2',
          'mountgate_admission_duration_seconds_count{endpoint="validate"} 1',
        ]) {
          expect(text).to.include(line);
        }
      });
    });
  });

  describe('reloading files', () => {
    it('serves a rotated certificate to new connections without dropping a kept-alive one, and exports its expiry', async () => {
      const expiryLine = (pem: string): string => `\nmountgate_certificate_expiry_timestamp_seconds ${new Date(new X509Certificate(pem).validTo).getTime() / 1000}\n`;
      await withServer({}, async (test) => {
        const agent = new Agent({ keepAlive: true, ca: test.pki.caCert, maxSockets: 1 });
        try {
          const before = await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert, agent });
          expect(before.fingerprint).to.equal(test.pair.fingerprint);
          expect(await metricsText(test.server.metricsPort)).to.include(expiryLine(test.pair.cert));
          // Valid from a day ago, so that it expires a day before the first (issued in the same second, they would expire together).
          const next = await issueServingPair(test.pki, 'mountgate-rotated', new Date(Date.now() - 24 * 3600 * 1000));
          expect(expiryLine(next.cert)).to.not.equal(expiryLine(test.pair.cert));
          // Rotate the way tools do: write beside, rename over.
          await writeFile(`${test.paths.cert}.new`, next.cert);
          await writeFile(`${test.paths.key}.new`, next.key);
          await rename(`${test.paths.key}.new`, test.paths.key);
          await rename(`${test.paths.cert}.new`, test.paths.cert);
          await eventually(async () => (await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).fingerprint === next.fingerprint);
          const reused = await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert, agent });
          expect(reused.status).to.equal(200);
          const metrics = await metricsText(test.server.metricsPort);
          expect(metrics).to.match(/mountgate_reloads_total\{kind="certificate",result="success"\} [1-9]/);
          expect(metrics).to.include(expiryLine(next.cert));
        } finally {
          agent.destroy();
        }
      });
    });

    it('starts on a certificate that starts in an hour, and warns that the API server refuses it until then', async () => {
      const { lines, logger } = logSink();
      const later = new Date(Date.now() + 3600_000);
      await withServer({ logger, notBefore: later }, async (test) => {
        const warning = lines.find((line) => String(line['msg']).startsWith('the certificate is not valid until'));
        expect(warning?.['level']).to.equal(40);
        expect(warning?.['file']).to.equal(test.paths.cert);
        expect(warning?.['notBefore']).to.equal(new Date(Math.floor(later.getTime() / 1000) * 1000).toISOString());
      });
    });

    it('takes a certificate that starts in an hour, and warns that the API server refuses it until then', async () => {
      const { lines, logger } = logSink();
      await withServer({ logger }, async (test) => {
        const later = new Date(Date.now() + 3600_000);
        const next = await issueServingPair(test.pki, 'mountgate-early', later);
        await writeFile(`${test.paths.key}.new`, next.key);
        await writeFile(`${test.paths.cert}.new`, next.cert);
        await rename(`${test.paths.key}.new`, test.paths.key);
        await rename(`${test.paths.cert}.new`, test.paths.cert);
        await eventually(async () => lines.some((line) => String(line['msg']).startsWith('the certificate is not valid until')));
        const warning = lines.find((line) => String(line['msg']).startsWith('the certificate is not valid until'));
        expect(warning?.['level']).to.equal(40);
        expect(warning?.['file']).to.equal(test.paths.cert);
        expect(warning?.['notBefore']).to.equal(new Date(Math.floor(later.getTime() / 1000) * 1000).toISOString());
        expect(lines.filter((line) => line['msg'] === 'certificate reloaded')).to.have.length(1);
      });
    });

    it('follows the atomic symlink swap of a mounted Secret: the certificate and key change together', async () => {
      await withServer({}, async (test) => {
        // The kubelet's layout: tls.crt -> ..data/tls.crt, tls.key -> ..data/tls.key, ..data -> ..<timestamp>/
        const mount = join(test.dir, 'secret');
        const next = await issueServingPair(test.pki, 'mountgate-swapped');
        await mkdir(join(mount, '..v1'), { recursive: true });
        await mkdir(join(mount, '..v2'), { recursive: true });
        await writeFile(join(mount, '..v1', 'tls.crt'), test.pair.cert);
        await writeFile(join(mount, '..v1', 'tls.key'), test.pair.key);
        await writeFile(join(mount, '..v2', 'tls.crt'), next.cert);
        await writeFile(join(mount, '..v2', 'tls.key'), next.key);
        await symlink('..v1', join(mount, '..data'));
        for (const name of ['tls.crt', 'tls.key']) await symlink(join('..data', name), join(mount, name));
        // Point the server's files at the projected ones by swapping them for links too.
        await unlink(test.paths.cert);
        await unlink(test.paths.key);
        await symlink(join(mount, 'tls.crt'), test.paths.cert);
        await symlink(join(mount, 'tls.key'), test.paths.key);

        expect((await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).fingerprint).to.equal(test.pair.fingerprint);
        await symlink('..v2', join(mount, '..data_tmp'));
        await rename(join(mount, '..data_tmp'), join(mount, '..data'));
        await eventually(async () => (await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).fingerprint === next.fingerprint);
        // One swap changes both files at once: never a certificate read with the other version's key.
        const metrics = await metricsText(test.server.metricsPort);
        expect(metrics).to.match(/mountgate_reloads_total\{kind="certificate",result="success"\} [1-9]/);
        expect(metrics).to.not.include('kind="certificate",result="failure"');
      });
    });

    it('keeps the old certificate while the key does not match it', async () => {
      await withServer({}, async (test) => {
        const next = await issueServingPair(test.pki, 'mountgate-half');
        await writeFile(test.paths.cert, next.cert);
        await eventually(async () => (await metricsText(test.server.metricsPort)).includes('mountgate_reloads_total{kind="certificate",result="failure"} 1'));
        expect((await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).fingerprint).to.equal(test.pair.fingerprint);
        await writeFile(test.paths.key, next.key);
        await eventually(async () => (await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert })).fingerprint === next.fingerprint);
      });
    });

    // mountgate_reloads_total counts a refusal once; an alert on its rate clears while the refused file is still
    // there, and the next restart of the replica exits 2 on it. The gauge says, for as long as it lasts, that the
    // file on disk is not the one in force.
    const inForceRows: ReadonlyArray<{ name: string; kind: 'policy' | 'certificate'; break: (test: TestServer) => Promise<void>; mend: (test: TestServer) => Promise<void> }> = [
      {
        name: 'a policy refused at reload, until a valid one is taken',
        kind: 'policy',
        break: (test) => writeFile(test.paths.config, 'maxMounts: -1\n'),
        mend: (test) => writeFile(test.paths.config, JSON.stringify({ ...BASE_POLICY, maxMounts: 3 })),
      },
      {
        name: 'a policy put back as it was in force after a refusal',
        kind: 'policy',
        break: (test) => writeFile(test.paths.config, ''),
        mend: (test) => writeFile(test.paths.config, JSON.stringify(BASE_POLICY)),
      },
      {
        name: 'a policy file that cannot be read, until it can',
        kind: 'policy',
        break: (test) => unlink(test.paths.config),
        mend: (test) => writeFile(test.paths.config, JSON.stringify(BASE_POLICY)),
      },
      {
        name: 'a certificate whose key does not match, until the key comes',
        kind: 'certificate',
        break: async (test) => {
          const next = await issueServingPair(test.pki, 'mountgate-next');
          await writeFile(test.paths.cert, next.cert);
          nextKeys.set(test, next.key);
        },
        mend: (test) => writeFile(test.paths.key, nextKeys.get(test) ?? ''),
      },
    ];
    const nextKeys = new WeakMap<TestServer, string>();
    for (const row of inForceRows) {
      it(`says while the file on disk is not in force: ${row.name}`, async () => {
        await withServer({}, async (test) => {
          const gauge = `mountgate_reload_last_successful{kind="${row.kind}"}`;
          expect(await metricsText(test.server.metricsPort)).to.include(`${gauge} 1`);
          await row.break(test);
          await eventually(async () => (await metricsText(test.server.metricsPort)).includes(`${gauge} 0`));
          // Still 0 some intervals later: it is a state, not an event.
          await new Promise((resolve) => setTimeout(resolve, 500));
          expect(await metricsText(test.server.metricsPort)).to.include(`${gauge} 0`);
          await row.mend(test);
          await eventually(async () => (await metricsText(test.server.metricsPort)).includes(`${gauge} 1`));
        });
      });
    }

    it('says 0 throughout when a policy file that cannot be read comes back with a change that is refused', async () => {
      await withServer({}, async (test) => {
        const gauge = /^mountgate_reload_last_successful\{kind="policy"\} (\d)$/m;
        await unlink(test.paths.config);
        await eventually(async () => gauge.exec(await metricsText(test.server.metricsPort))?.[1] === '0');
        await writeFile(test.paths.config, 'maxMounts: -1\n');
        // Sampled well within the 100 ms interval, until the refusal (the second failure, after the unreadable file's).
        const values = new Set<string | undefined>();
        for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
          const text = await metricsText(test.server.metricsPort);
          values.add(gauge.exec(text)?.[1]);
          if (text.includes('mountgate_reloads_total{kind="policy",result="failure"} 2')) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        expect(await metricsText(test.server.metricsPort)).to.include('mountgate_reloads_total{kind="policy",result="failure"} 2');
        expect([...values]).to.deep.equal(['0']);
      });
    });

    it('applies a changed policy, and refuses an invalid one while staying ready, logging the error', async () => {
      const { lines, logger } = logSink();
      await withServer({ logger }, async (test) => {
        const pod = sandboxPod({ mounts: [{ hostPath: '/opt/data/x', mountPath: '/data' }] });
        expect((await admit(test, '/mutate', review(pod))).response.allowed).to.equal(false);

        await writeFile(test.paths.config, JSON.stringify({ ...BASE_POLICY, allowedHostPaths: [{ pathPrefix: '/opt/data' }] }));
        await eventually(async () => (await admit(test, '/mutate', review(pod))).response.allowed);

        await writeFile(test.paths.config, JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/' }] }));
        await eventually(async () => (await metricsText(test.server.metricsPort)).includes('mountgate_reloads_total{kind="policy",result="failure"} 1'));
        expect((await admit(test, '/mutate', review(pod))).response.allowed, 'the last good policy stays in force').to.equal(true);
        expect((await admit(test, '/mutate', review(sandboxPod({ mounts: [{ hostPath: '/etc', mountPath: '/e' }] })))).response.allowed).to.equal(false);
        expect((await httpsCall({ port: test.server.port, path: '/readyz', ca: test.pki.caCert })).status).to.equal(200);
        // Section 3: "the error is logged": an error-level line naming the file and the problem.
        const refused = lines.filter((line) => line['level'] === 50);
        expect(refused.map((line) => [line['msg'], line['file']])).to.deep.equal([['new policy refused; the previous policy stays in force', test.paths.config]]);
        expect(String(refused[0]?.['err'])).to.include('must not be "/"');
      });
    });

    it('logs a body its client left unfinished as cut short, not as JSON that is not valid', async () => {
      const { lines, logger } = logSink();
      await withServer({ logger }, async (test) => {
        const socket = connect({ host: '127.0.0.1', port: test.server.port, ca: test.pki.caCert, servername: 'localhost' });
        try {
          await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
          socket.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":');
          await new Promise((resolve) => setTimeout(resolve, 100));
        } finally {
          socket.destroy();
        }
        await eventually(async () => lines.some((line) => line['msg'] === 'request refused'));
        expect(lines.filter((line) => line['msg'] === 'request refused').map((line) => [line['endpoint'], line['status'], line['reason']])).to.deep.equal([
          ['validate', 400, 'the body did not all come: request aborted'],
        ]);
      });
    });

    it('says once that the policy file cannot be read, keeps the policy in force, and says when it can be read again', async () => {
      const { lines, logger } = logSink();
      const said = () => lines.filter((line) => String(line['msg']).startsWith('policy file')).map((line) => [line['level'], line['msg'], line['file'], line['err']]);
      await withServer({ logger }, async (test) => {
        const file = test.paths.config;
        const pod = sandboxPod({ mounts: [{ hostPath: '/opt/data/x', mountPath: '/data' }] });
        await unlink(file);
        await eventually(async () => said().length === 1);
        expect(said()).to.deep.equal([[50, 'policy file cannot be read; the policy in force stays', file, 'no such file']]);
        expect(await metricsText(test.server.metricsPort)).to.include('mountgate_reloads_total{kind="policy",result="failure"} 1');
        expect((await admit(test, '/mutate', review(sandboxPod({ mounts: MOUNTS })))).response.allowed, 'the policy in force stays').to.equal(true);

        await writeFile(file, JSON.stringify({ ...BASE_POLICY, allowedHostPaths: [{ pathPrefix: '/opt/data' }] }));
        await eventually(async () => (await admit(test, '/mutate', review(pod))).response.allowed);
        expect(said()).to.deep.equal([
          [50, 'policy file cannot be read; the policy in force stays', file, 'no such file'],
          [30, 'policy file readable again', file, undefined],
        ]);
      });
    });

    it('keeps the policy in force when the file changes to bytes that are not UTF-8, saying where, rather than reading them as U+FFFD', async () => {
      const { lines, logger } = logSink();
      const said = () => lines.filter((line) => String(line['msg']).startsWith('policy file')).map((line) => [line['level'], line['msg'], line['file'], line['err']]);
      await withServer({ logger }, async (test) => {
        const file = test.paths.config;
        const widened = JSON.stringify({ ...BASE_POLICY, allowedHostPaths: [{ pathPrefix: '/opt/data' }] });
        const at = widened.indexOf('/opt/data') + '/opt/'.length;
        await writeFile(file, Buffer.concat([Buffer.from(widened.slice(0, at)), Buffer.from([0xff]), Buffer.from(widened.slice(at))]));
        await eventually(async () => said().length === 1);
        expect(said()).to.deep.equal([[50, 'policy file cannot be read; the policy in force stays', file, `not valid UTF-8 at line 1, column ${at + 1}`]]);
        expect(await metricsText(test.server.metricsPort)).to.include('mountgate_reload_last_successful{kind="policy"} 0');
        expect((await admit(test, '/mutate', review(sandboxPod({ mounts: MOUNTS })))).response.allowed, 'the policy in force stays').to.equal(true);
      });
    });

    it("logs the policy's warnings, as check prints them, when it loads the policy and after each reload", async () => {
      const { lines, logger } = logSink();
      const warnings = () => lines.filter((line) => line['msg'] === 'policy warning').map((line) => [line['level'], line['file'], line['warning']]);
      await withServer({ logger }, async (test) => {
        const file = test.paths.config;
        expect(warnings(), 'at start').to.deep.equal([[40, file, requestedRootLine('allowedHostPaths[0] "/srv/sandbox"', 1)]]);

        await writeFile(file, JSON.stringify({ ...BASE_POLICY, volumeRoot: 'writableAncestor' }));
        await eventually(async () => lines.filter((line) => line['msg'] === 'policy reloaded').length === 1);
        expect(warnings(), 'a reload to a policy without warnings adds none').to.have.length(1);

        const hazard = { volumeRoot: 'writableAncestor', allowedHostPaths: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/models/{namespace}' }] };
        await writeFile(file, JSON.stringify(hazard));
        await eventually(async () => lines.filter((line) => line['msg'] === 'policy reloaded').length === 2);
        expect(warnings().slice(1)).to.deep.equal([
          [
            40,
            file,
            '"/srv/models/<x>" may be mounted read-write where {namespace} = "<x>" (allowedHostPaths[1] "/srv/models/{namespace}"), and lies above "/srv/models/<x>/<y>", ' +
              'which may be mounted where {namespace} = "<z>" (allowedHostPaths[0] "/srv/models"): a symbolic link planted there leads that mount elsewhere on the node, even with volumeRoot: writableAncestor',
          ],
        ]);
      });
    });

    it('follows the atomic symlink swap of a mounted ConfigMap', async () => {
      await withServer({}, async (test) => {
        // The kubelet's layout: policy.yaml -> ..data/policy.yaml, ..data -> ..<timestamp>/
        const mount = join(test.dir, 'configmap');
        await mkdir(join(mount, '..v1'), { recursive: true });
        await mkdir(join(mount, '..v2'), { recursive: true });
        await writeFile(join(mount, '..v1', 'policy.yaml'), 'allowedHostPaths: [{pathPrefix: /srv/sandbox}]\n');
        await writeFile(join(mount, '..v2', 'policy.yaml'), 'allowedHostPaths: [{pathPrefix: /srv/sandbox}, {pathPrefix: /opt/data}]\n');
        await symlink('..v1', join(mount, '..data'));
        await symlink('..data/policy.yaml', join(mount, 'policy.yaml'));
        // Point the server's policy file at the projected one by swapping it for a link too.
        await unlink(test.paths.config);
        await symlink(join(mount, 'policy.yaml'), test.paths.config);

        const pod = sandboxPod({ mounts: [{ hostPath: '/opt/data/x', mountPath: '/data' }] });
        expect((await admit(test, '/mutate', review(pod))).response.allowed).to.equal(false);
        await symlink('..v2', join(mount, '..data_tmp'));
        await rename(join(mount, '..data_tmp'), join(mount, '..data'));
        await eventually(async () => (await admit(test, '/mutate', review(pod))).response.allowed);
      });
    });
  });

  describe('draining', () => {
    it('turns not ready at once, says it drains, serves through the delay, then closes', async () => {
      await withServer({ shutdownDelaySeconds: 0.6 }, async (test) => {
        const { port } = test.server;
        expect(await metricsText(test.server.metricsPort)).to.include('\nmountgate_draining 0\n');
        const draining = test.server.drain();
        const started = Date.now();
        expect((await httpsCall({ port, path: '/readyz', ca: test.pki.caCert })).status).to.equal(503);
        expect(await metricsText(test.server.metricsPort)).to.include('\nmountgate_draining 1\n');
        expect((await admit(test, '/mutate', review(sandboxPod({ mounts: MOUNTS })))).response.allowed).to.equal(true);
        await draining;
        expect(Date.now() - started).to.be.at.least(500);
        const refused = await httpsCall({ port, path: '/healthz', ca: test.pki.caCert }).then(() => 'answered', (error: NodeJS.ErrnoException) => error.code);
        expect(refused).to.equal('ECONNREFUSED');
      });
    });

    it('closes the connection after an answer sent during the delay to a request whose headers came before it', async () => {
      await withServer({ shutdownDelaySeconds: 1 }, async (test) => {
        const body = JSON.stringify(review(sandboxPod({ mounts: MOUNTS })));
        let draining: Promise<void> | undefined;
        const answer = new Promise<[number, string | undefined]>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port: test.server.port, path: '/mutate', method: 'POST', ca: test.pki.caCert, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'keep-alive' } },
            (res) => {
              res.resume();
              res.on('end', () => resolve([res.statusCode ?? 0, res.headers.connection]));
            },
          );
          req.on('error', reject);
          // A client that keeps its connections (agent: false would ask to close it). The headers and some of the
          // body now, the rest once the drain has begun (the listener still open).
          req.write(body.slice(0, 100));
          setTimeout(() => {
            draining = test.server.drain();
            setTimeout(() => req.end(body.slice(100)), 200);
          }, 200);
        });
        try {
          expect(await answer).to.deep.equal([200, 'close']);
        } finally {
          await draining;
        }
      });
    });

    it('answers a body refused unread during the delay without closing at once, so that its rest is dropped first', async () => {
      await withServer({ shutdownDelaySeconds: 1 }, async (test) => {
        const draining = test.server.drain();
        try {
          const answer = await new Promise<[number, string | undefined]>((resolve, reject) => {
            const req = request(
              { host: '127.0.0.1', port: test.server.port, path: '/validate', method: 'POST', ca: test.pki.caCert, agent: false, headers: { 'Content-Type': 'text/plain', Connection: 'keep-alive' } },
              (res) => {
                res.resume();
                res.on('end', () => {
                  resolve([res.statusCode ?? 0, res.headers.connection]);
                  req.destroy();
                });
              },
            );
            req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
            // A chunked body of another type: answered before it is read, while more of it is still coming.
            req.write('x'.repeat(1000));
          });
          // Closing with the body unread would reset the connection under the answer: the rest is dropped, then it closes.
          expect(answer[0]).to.equal(400);
          expect(answer[1]).to.not.equal('close');
        } finally {
          await draining;
        }
      });
    });

    it('lets an in-flight request finish after the listener closes', async () => {
      await withServer({}, async (test) => {
        const body = JSON.stringify(review(sandboxPod({ mounts: MOUNTS })));
        const answer = new Promise<number>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port: test.server.port, path: '/mutate', method: 'POST', ca: test.pki.caCert, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          // Half the body now, the rest once the server is stopping.
          req.write(body.slice(0, 100));
          setTimeout(() => {
            const stopping = test.server.stop();
            setTimeout(() => req.end(body.slice(100)), 200);
            void stopping;
          }, 200);
        });
        expect(await answer).to.equal(200);
      });
    });

    it('answers the first request of a connection made before the listener closed and sent 200 ms after', async () => {
      await withServer({}, async (test) => {
        const body = JSON.stringify(review(sandboxPod({ mounts: MOUNTS })));
        const socket = connect({ host: '127.0.0.1', port: test.server.port, ca: test.pki.caCert, servername: 'localhost' });
        try {
          await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
          const received: Buffer[] = [];
          socket.on('data', (chunk: Buffer) => received.push(chunk));
          const ended = new Promise<string>((resolve) => socket.once('close', () => resolve('closed')).once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error')));
          // Long enough for the server to take the handshake's end, then past several idle sweeps.
          await new Promise((resolve) => setTimeout(resolve, 50));
          const stopping = test.server.stop();
          await new Promise((resolve) => setTimeout(resolve, 200));
          socket.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
          expect(await ended).to.equal('closed');
          const answer = Buffer.concat(received).toString('utf8');
          expect(answer.split('\r\n')[0]).to.equal('HTTP/1.1 200 OK');
          expect(answer).to.match(/\r\nConnection: close\r\n/i);
          expect(answer).to.include('"allowed":true');
          await stopping;
        } finally {
          socket.destroy();
        }
      });
    });
  });
});
