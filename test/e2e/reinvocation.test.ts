/**
 * Webhook reinvocation: a second mutating webhook runs after mountgate and changes the Pod, so the
 * API server calls mountgate again (reinvocationPolicy: IfNeeded). Nothing may be injected twice.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { expect } from 'chai';
import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { freePort, sleep } from './controlplane.js';
import { deletePod, ENABLED_LABEL, sandboxPod, uniqueName } from './env.js';
import { container, injectedMount, injectedVolume, normalizeMounts, plain } from './expect.js';
import { e2e } from './hooks.js';
import { webhookHost } from './mountgate-process.js';

const TRIGGER_LABEL = 'e2e.mountgate.io/reinvoke';
const ADDED_LABEL = 'e2e.mountgate.io/labelled-by';

interface Labeler {
  readonly url: string;
  calls: number;
  close(): Promise<void>;
}

/** A tiny mutating webhook that adds a label and an env var: enough to make the API server reinvoke. */
async function startLabeler(certFile: string, keyFile: string): Promise<Labeler> {
  const port = await freePort();
  const state = { calls: 0 };
  const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.calls++;
      const review: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const uid =
        typeof review === 'object' && review !== null && 'request' in review && typeof review.request === 'object' &&
        review.request !== null && 'uid' in review.request && typeof review.request.uid === 'string'
          ? review.request.uid
          : '';
      const patch = [
        { op: 'add', path: `/metadata/labels/${ADDED_LABEL.replace('/', '~1')}`, value: 'labeler' },
        { op: 'add', path: '/spec/containers/0/env', value: [{ name: 'LABELLED', value: 'yes' }] },
      ];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') },
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, webhookHost(), () => resolve());
  });
  return {
    url: `https://${webhookHost()}:${port}/label`,
    get calls() {
      return state.calls;
    },
    set calls(value: number) {
      state.calls = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('e2e: reinvocation by a second mutating webhook', () => {
  it('injects nothing twice when mountgate is called again after another webhook changed the Pod', async () => {
    const env = e2e();
    const labeler = await startLabeler(env.tls.cert, env.tls.key);
    // Mutating webhooks run in the order of their configurations' names: "zz-..." after "mountgate-e2e".
    const config: V1MutatingWebhookConfiguration = {
      metadata: { name: uniqueName('zz-mountgate-e2e-labeler') },
      webhooks: [
        {
          name: 'labeler.e2e.mountgate.io',
          clientConfig: { url: labeler.url, caBundle: env.tls.caPem.toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          namespaceSelector: { matchLabels: { [ENABLED_LABEL]: 'true' } },
          objectSelector: { matchLabels: { [TRIGGER_LABEL]: 'true' } },
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          reinvocationPolicy: 'Never',
          timeoutSeconds: 10,
        },
      ],
    };
    const configName = config.metadata?.name ?? '';
    const names: string[] = [];
    let registered = false;
    try {
      await env.admissionApi.createMutatingWebhookConfiguration({ body: config });
      registered = true;
      // Wait (bounded) until the API server calls the new webhook.
      let active = false;
      for (let attempt = 0; attempt < 150 && !active; attempt++) {
        const probe = await env.core.createNamespacedPod({
          namespace: env.enabledNs,
          body: sandboxPod(uniqueName('probe'), undefined, { [TRIGGER_LABEL]: 'true' }),
          dryRun: 'All',
        });
        active = probe.metadata?.labels?.[ADDED_LABEL] === 'labeler';
        if (!active) await sleep(200);
      }
      expect(active, 'the second webhook never took effect').to.equal(true);

      const name = uniqueName('reinvoked');
      names.push(name);
      const requested = [
        { hostPath: '/srv/sandbox/reinvoke', mountPath: '/mnt/workspace' },
        { host_path: '/srv/models/qwen', container_path: '/mnt/models', read_only: true },
      ];
      const metric = { endpoint: 'mutate', result: 'allowed' } as const;
      const mutateBefore = await env.mountgate.metric('mountgate_admission_requests_total', metric);
      labeler.calls = 0;
      await env.core.createNamespacedPod({
        namespace: env.enabledNs,
        body: sandboxPod(name, requested, { [TRIGGER_LABEL]: 'true' }),
      });
      const stored = await env.core.readNamespacedPod({ namespace: env.enabledNs, name });

      // The labeler ran once and mountgate twice: the API server did reinvoke it.
      expect(labeler.calls).to.equal(1);
      expect(await env.mountgate.metric('mountgate_admission_requests_total', metric)).to.equal(mutateBefore + 2);
      expect(stored.metadata?.labels?.[ADDED_LABEL]).to.equal('labeler');
      expect(plain(container(stored, 'sandbox').env)).to.deep.equal([{ name: 'LABELLED', value: 'yes' }]);

      // Exactly one volume per host path and one mount per request: nothing twice.
      const byName = (x: { name: string }, y: { name: string }): number => x.name.localeCompare(y.name);
      expect(plain(stored.spec?.volumes ?? []).sort(byName)).to.deep.equal(
        [
          { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
          { name: 'user-data', hostPath: { path: `/.deer-flow/threads/${name}/user-data`, type: 'DirectoryOrCreate' } },
          injectedVolume('/srv/sandbox/reinvoke', 'DirectoryOrCreate'),
          injectedVolume('/srv/models/qwen', 'Directory'),
        ].sort(byName),
      );
      expect(normalizeMounts(container(stored, 'sandbox').volumeMounts).sort((a, b) => a.mountPath.localeCompare(b.mountPath))).to.deep.equal([
        injectedMount('/srv/models/qwen', '/mnt/models', true),
        { name: 'skills', mountPath: '/mnt/skills', readOnly: true },
        { name: 'user-data', mountPath: '/mnt/user-data' },
        injectedMount('/srv/sandbox/reinvoke', '/mnt/workspace', false),
      ]);
    } finally {
      try {
        for (const name of names) await deletePod(env.core, env.enabledNs, name);
        if (registered) await env.admissionApi.deleteMutatingWebhookConfiguration({ name: configName });
      } finally {
        await labeler.close();
      }
    }
  });
});
