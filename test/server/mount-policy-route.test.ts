/**
 * The server with --mount-policies, its cache replaced by a table the test
 * fills: /validate-mountpolicy climbs the same guard ladder as /mutate and
 * /validate, /readyz waits for the first listing, and Pods are judged by
 * their namespace's layered policy.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { LayeredPolicies } from '../../src/cluster/layered-policies.js';
import { MountPolicyTable } from '../../src/cluster/mount-policy-cache.js';
import { createApp, type MountPolicyContext } from '../../src/server/app.js';
import { LiveState } from '../../src/server/live-state.js';
import { createMetrics, type Metrics } from '../../src/server/metrics.js';
import { silentLogger } from '../../src/server/logger.js';
import { generateDevMaterial } from '../../src/server/tls-material.js';
import { policyOf } from '../helpers/policies.js';
import { review, sandboxPod } from '../helpers/pods.js';

interface Running {
  readonly url: string;
  readonly table: MountPolicyTable;
  readonly metrics: Metrics;
}

async function withApp<T>(mountPolicies: boolean, body: (app: Running) => Promise<T>): Promise<T> {
  const state = new LiveState(policyOf(), await generateDevMaterial());
  const metrics = createMetrics();
  const table = new MountPolicyTable();
  const layered = new LayeredPolicies(state, table);
  const context: MountPolicyContext = {
    policyFor: (namespace) => layered.policyFor(namespace),
    get everSynced() {
      return table.everSynced;
    },
  };
  const listener = createApp({ state, metrics, logger: silentLogger(), lifecycle: { ready: true, closing: false }, ...(mountPolicies ? { mountPolicies: context } : {}) });
  const server: Server = createServer(listener).listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return await body({ url: `http://127.0.0.1:${address.port}`, table, metrics });
  } finally {
    server.close();
  }
}

function mountPolicyReview(spec: unknown, operation = 'CREATE'): Record<string, unknown> {
  const object = { apiVersion: 'mountgate.io/v1alpha1', kind: 'MountPolicy', metadata: { namespace: 'team-a', name: 'tenant', generation: 1 }, spec };
  const base = review(object, { operation, namespace: 'team-a', group: 'mountgate.io', resource: 'mountpolicies' });
  return base;
}

async function post(url: string, body: string | Buffer, contentType = 'application/json'): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType }, body });
  return { status: response.status, json: await response.json() };
}

function responseOf(json: unknown): { allowed?: boolean; status?: { code?: number; message?: string } } {
  if (typeof json !== 'object' || json === null || !('response' in json) || typeof json.response !== 'object' || json.response === null) throw new Error(`no response in ${JSON.stringify(json)}`);
  return json.response;
}

describe('server: --mount-policies', () => {
  it('has no /validate-mountpolicy without the flag, and /readyz does not wait for anything', async () => {
    await withApp(false, async ({ url }) => {
      expect((await post(`${url}/validate-mountpolicy`, JSON.stringify(mountPolicyReview({})))).status).to.equal(404);
      expect((await fetch(`${url}/readyz`)).status).to.equal(200);
    });
  });

  it('is not ready until the MountPolicies are listed, and stays ready when the watch breaks later', async () => {
    await withApp(true, async ({ url, table }) => {
      const first = await fetch(`${url}/readyz`);
      expect([first.status, await first.text()]).to.deep.equal([503, 'MountPolicies not listed yet\n']);
      table.markSynced(true);
      expect((await fetch(`${url}/readyz`)).status).to.equal(200);
      table.markSynced(false);
      expect((await fetch(`${url}/readyz`)).status).to.equal(200);
    });
  });

  describe('POST /validate-mountpolicy', () => {
    const ladder: Array<[string, string | Buffer, string, number, string]> = [
      ['not JSON', '{"apiVersion": ', 'application/json', 400, 'the body is not valid JSON: Unexpected end of JSON input'],
      ['not an AdmissionReview', '{"kind":"MountPolicy"}', 'application/json', 400, 'not an admission.k8s.io/v1 AdmissionReview: apiVersion is required; kind must be AdmissionReview; request is required'],
      ['not JSON at all (text/plain)', 'hello', 'text/plain', 400, 'expected a JSON AdmissionReview with Content-Type: application/json'],
      ['a body over 3 MiB', Buffer.alloc(3 * 1024 * 1024 + 1, 0x20), 'application/json', 413, 'the body is larger than 3145728 bytes'],
    ];
    for (const [name, body, type, status, error] of ladder) {
      it(`answers ${status} to ${name}, counted as an error of its endpoint`, async () => {
        await withApp(true, async ({ url, metrics }) => {
          const answer = await post(`${url}/validate-mountpolicy`, body, type);
          expect(answer.status).to.equal(status);
          expect(answer.json).to.deep.equal({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: status, reason: status === 413 ? 'RequestEntityTooLarge' : 'BadRequest', message: error, error });
          const errors = (await metrics.requests.get()).values.find((v) => v.labels.endpoint === 'mountpolicy' && v.labels.result === 'error');
          expect(errors?.value).to.equal(1);
        });
      });
    }

    it('answers 405 with Allow: POST to a GET', async () => {
      await withApp(true, async ({ url }) => {
        const response = await fetch(`${url}/validate-mountpolicy`);
        expect([response.status, response.headers.get('allow')]).to.deep.equal([405, 'POST']);
      });
    });

    it('refuses a widening MountPolicy naming the entry, and admits a narrowing one, counting both', async () => {
      await withApp(true, async ({ url, metrics }) => {
        const widening = responseOf((await post(`${url}/validate-mountpolicy`, JSON.stringify(mountPolicyReview({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/a' }, { pathPrefix: '/srv/elsewhere' }] })))).json);
        expect(widening.allowed).to.equal(false);
        expect(widening.status?.code).to.equal(403);
        expect(widening.status?.message).to.equal(
          'mountgate refused the MountPolicy: spec.allowedHostPaths[1].pathPrefix: "/srv/elsewhere" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)',
        );
        const narrowing = responseOf((await post(`${url}/validate-mountpolicy`, JSON.stringify(mountPolicyReview({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox/a' }] })))).json);
        expect(narrowing.allowed).to.equal(true);
        const counts = (await metrics.requests.get()).values.filter((v) => v.labels.endpoint === 'mountpolicy').map((v) => [v.labels.result, v.value]);
        expect(counts).to.have.deep.members([
          ['denied', 1],
          ['allowed', 1],
        ]);
      });
    });
  });

  it('tells the status writer of a cluster policy reload (LiveState.onPolicyChange)', async () => {
    const state = new LiveState(policyOf(), await generateDevMaterial());
    const seen: number[] = [];
    state.onPolicyChange((policy) => seen.push(policy.spec.maxMounts));
    state.setPolicy(policyOf({ maxMounts: 1 }));
    expect(seen).to.deep.equal([1]);
  });

  it("judges a Pod by its namespace's MountPolicies: refused host paths until listed, then narrowed", async () => {
    await withApp(true, async ({ url, table }) => {
      const pod = JSON.stringify(review(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/team-b', mountPath: '/w' }] }), { namespace: 'team-a' }));
      const before = responseOf((await post(`${url}/mutate`, pod)).json);
      expect(before.status?.message).to.equal(
        'mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].hostPath: "/srv/sandbox/team-b" is not under any allowed host path of the MountPolicies of namespace "team-a" (not known: mountgate has not listed the MountPolicies yet)',
      );
      table.upsert({ metadata: { namespace: 'team-a', name: 'tenant', generation: 1 }, spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }, { pathPrefix: '/skills' }] } });
      table.markSynced(true);
      const after = responseOf((await post(`${url}/mutate`, pod)).json);
      expect(after.status?.message).to.equal('mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].hostPath: "/srv/sandbox/team-b" is not under any allowed host path of MountPolicy team-a/tenant');
      const elsewhere = JSON.stringify(review(sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/team-b', mountPath: '/w' }] }), { namespace: 'team-b' }));
      expect(responseOf((await post(`${url}/mutate`, elsewhere)).json).allowed).to.equal(true);
    });
  });
});
