/**
 * Denials every client can read, through a real API server: kubectl (of the API server's own
 * version) prints the status reason mountgate gives, an API client gets it in the error body, and
 * the API server's audit log records each decision with the rule that refused the Pod.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import type { V1Pod } from '@kubernetes/client-node';
import { sleep } from './controlplane.js';
import { apiError, deletePod, sandboxPod, uniqueName, type E2E } from './env.js';
import { e2e } from './hooks.js';

const A = 'metadata.annotations[mountgate.io/mounts]';
const denied = (webhook: string): string => `admission webhook "${webhook}" denied the request: mountgate denied the Pod: `;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** kubectl against the test cluster, with `input` on stdin. */
function kubectl(env: E2E, args: readonly string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(env.cp.kubectl, ['--kubeconfig', env.cp.kubeconfigPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** The one the sandbox Pod carries, plus a hostPath volume that neither list covers. */
function withDockerSocket(name: string): V1Pod {
  const pod = sandboxPod(name);
  pod.spec?.volumes?.push({ name: 'docker', hostPath: { path: '/var/run/docker.sock' } });
  return pod;
}

/**
 * An annotated Pod whose spec has no containers field: the API server sends it to the mutating
 * webhooks as it is, as they run before it validates the Pod.
 */
function withoutContainers(name: string): unknown {
  const pod = sandboxPod(name, [{ hostPath: '/srv/sandbox/x', mountPath: '/mnt/x' }]);
  return { ...pod, spec: { volumes: pod.spec?.volumes } };
}

interface AuditEvent {
  readonly verb: string;
  readonly stage: string;
  readonly objectRef?: { readonly resource?: string; readonly subresource?: string; readonly namespace?: string; readonly name?: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The API server's record of one request about a Pod (by verb and subresource), as soon as it is in the log. */
async function auditEvent(env: E2E, name: string, verb: 'create' | 'patch', subresource?: string): Promise<AuditEvent> {
  const file = env.cp.auditLogPath;
  if (file === undefined) throw new Error('no audit log to read: on an existing cluster, set MOUNTGATE_E2E_AUDIT_LOG to its API server audit log');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const events = (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AuditEvent);
    const found = events.find(
      (event) =>
        event.verb === verb &&
        event.stage === 'ResponseComplete' &&
        event.objectRef?.resource === 'pods' &&
        event.objectRef.subresource === subresource &&
        event.objectRef.namespace === env.enabledNs &&
        event.objectRef.name === name,
    );
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no audit event for the ${verb} of Pod ${name}${subresource === undefined ? '' : `/${subresource}`} in ${file}`);
    await sleep(200);
  }
}

/** mountgate's audit annotations in one event (the API server prefixes each key with the webhook's name). */
function mountgateAnnotations(env: E2E, event: AuditEvent): Record<string, string> {
  const prefixes = [`${env.mutateWebhook}/`, `${env.validateWebhook}/`];
  return Object.fromEntries(Object.entries(event.annotations ?? {}).filter(([key]) => prefixes.some((prefix) => key.startsWith(prefix))));
}

describe('e2e: denials every client can read', () => {
  interface KubectlCase {
    readonly title: string;
    readonly pod: (name: string) => unknown;
    readonly stderr: (env: E2E) => string;
  }
  const kubectlCases: readonly KubectlCase[] = [
    {
      title: 'a request outside the allow-list: Forbidden, from /mutate',
      pod: (name) => sandboxPod(name, [{ hostPath: '/etc', mountPath: '/mnt/etc' }]),
      stderr: (env) =>
        `Error from server (Forbidden): error when creating "STDIN": ${denied(env.mutateWebhook)}${A}[0].hostPath: "/etc" is not under any allowed host path\n`,
    },
    {
      title: 'a hand-written hostPath volume: Forbidden, from /validate',
      pod: withDockerSocket,
      stderr: (env) =>
        `Error from server (Forbidden): error when creating "STDIN": ${denied(env.validateWebhook)}` +
        'spec.volumes[2].hostPath.path: "/var/run/docker.sock" is not under any allowed or built-in host path\n',
    },
    {
      title: 'a Pod mountgate cannot read: BadRequest, from /mutate',
      pod: withoutContainers,
      stderr: (env) =>
        `Error from server (BadRequest): error when creating "STDIN": ${denied(env.mutateWebhook)}request.object: is not a readable Pod: spec.containers is required\n`,
    },
  ];
  for (const c of kubectlCases) {
    it(`kubectl create prints the reason: ${c.title}`, async () => {
      const env = e2e();
      const name = uniqueName('kubectl');
      try {
        const run = await kubectl(env, ['create', '--namespace', env.enabledNs, '-f', '-'], JSON.stringify(c.pod(name)));
        expect(run).to.deep.equal({ code: 1, stdout: '', stderr: c.stderr(env) });
      } finally {
        await deletePod(env.core, env.enabledNs, name);
      }
    });
  }

  it('an API client gets reason Forbidden and code 403 in the error body', async () => {
    const env = e2e();
    const name = uniqueName('client');
    try {
      const status = await apiError(env.core.createNamespacedPod({ namespace: env.enabledNs, body: sandboxPod(name, [{ hostPath: '/etc', mountPath: '/mnt/etc' }]) }));
      expect(status).to.deep.equal({
        code: 403,
        reason: 'Forbidden',
        message: `${denied(env.mutateWebhook)}${A}[0].hostPath: "/etc" is not under any allowed host path`,
      });
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });

  describe('the audit log of the API server records each decision', () => {
    interface AuditCase {
      readonly title: string;
      readonly pod: (name: string) => V1Pod;
      readonly admitted: boolean;
      readonly annotations: (env: E2E) => Record<string, string>;
    }
    const auditCases: readonly AuditCase[] = [
      {
        title: 'an admitted Pod: allowed by both webhooks',
        pod: (name) => sandboxPod(name, [{ hostPath: '/srv/sandbox/audit', mountPath: '/mnt/workspace' }]),
        admitted: true,
        annotations: (env) => ({ [`${env.mutateWebhook}/verdict`]: 'allowed', [`${env.validateWebhook}/verdict`]: 'allowed' }),
      },
      {
        title: 'a Pod refused by /mutate: the rule and the violation',
        pod: (name) => sandboxPod(name, [{ hostPath: '/etc', mountPath: '/mnt/etc' }]),
        admitted: false,
        annotations: (env) => ({
          [`${env.mutateWebhook}/verdict`]: 'denied',
          [`${env.mutateWebhook}/rule`]: 'host-path-not-allowed',
          [`${env.mutateWebhook}/violation`]: `${A}[0].hostPath: "/etc" is not under any allowed host path`,
        }),
      },
      {
        title: 'a Pod refused by /validate: the rule and the violation',
        pod: withDockerSocket,
        admitted: false,
        annotations: (env) => ({
          // The chart's mutating webhook is sent only Pods that carry the annotation.
          ...(env.mutateSeesEveryPod ? { [`${env.mutateWebhook}/verdict`]: 'allowed' } : {}),
          [`${env.validateWebhook}/verdict`]: 'denied',
          [`${env.validateWebhook}/rule`]: 'host-path-volume-not-allowed',
          [`${env.validateWebhook}/violation`]: 'spec.volumes[2].hostPath.path: "/var/run/docker.sock" is not under any allowed or built-in host path',
        }),
      },
    ];
    for (const c of auditCases) {
      it(c.title, async () => {
        const env = e2e();
        const name = uniqueName('audited');
        try {
          const created = env.core.createNamespacedPod({ namespace: env.enabledNs, body: c.pod(name) });
          if (c.admitted) await created;
          else expect((await apiError(created)).reason).to.equal('Forbidden');
          expect(mountgateAnnotations(env, await auditEvent(env, name, 'create'))).to.deep.equal(c.annotations(env));
        } finally {
          await deletePod(env.core, env.enabledNs, name);
        }
      });
    }

    it('an ephemeral container refused by /validate (as kubectl debug adds one): the rule and the violation', async () => {
      const env = e2e();
      const name = uniqueName('audited-debug');
      try {
        await env.core.createNamespacedPod({ namespace: env.enabledNs, body: sandboxPod(name) });
        const debuggerContainer = { name: 'debugger', image: 'busybox', targetContainerName: 'sandbox', volumeMounts: [{ name: 'skills', mountPath: '/debug/skills' }] };
        const patched = env.core.patchNamespacedPodEphemeralcontainers({
          namespace: env.enabledNs,
          name,
          body: [{ op: 'add', path: '/spec/ephemeralContainers', value: [debuggerContainer] }],
        });
        expect((await apiError(patched)).reason).to.equal('Forbidden');
        expect(mountgateAnnotations(env, await auditEvent(env, name, 'patch', 'ephemeralcontainers'))).to.deep.equal({
          [`${env.validateWebhook}/verdict`]: 'denied',
          [`${env.validateWebhook}/rule`]: 'host-path-volume-read-write',
          [`${env.validateWebhook}/violation`]: 'spec.ephemeralContainers[0].volumeMounts[0]: container "debugger" mounts "/skills" read-write, but "/skills" is read-only',
        });
      } finally {
        await deletePod(env.core, env.enabledNs, name);
      }
    });
  });
});
