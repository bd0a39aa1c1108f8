/**
 * `mountgate audit` against the real API server: Pods seeded in a namespace the webhooks do not
 * select (so nothing stopped them), listed page by page, each judged with its reason.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { deletePod, sandboxPod, uniqueName } from './env.js';
import { e2e } from './hooks.js';
import { MOUNTGATE_MAIN } from './mountgate-process.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface Report {
  podsScanned: number;
  findings: Array<{ namespace: string; pod: string; violations: Array<{ rule: string; field: string; message: string }> }>;
}

function audit(args: readonly string[]): Promise<Run> {
  const { cp, dir } = e2e();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MOUNTGATE_MAIN, 'audit', '--config', path.join(dir, 'policy.yaml'), '--kubeconfig', cp.kubeconfigPath, ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
  });
}

function withHostPath(name: string, hostPath: string, readOnly: boolean): V1Pod {
  return {
    metadata: { name },
    spec: {
      containers: [{ name: 'main', image: 'busybox', volumeMounts: [{ name: 'host', mountPath: '/host', readOnly }] }],
      volumes: [{ name: 'host', hostPath: { path: hostPath, type: 'Directory' } }],
    },
  };
}

describe('e2e: mountgate audit', function () {
  this.timeout(180_000);
  const seeded: Array<{ namespace: string; name: string }> = [];
  let namespace = '';

  before(async () => {
    const { core } = e2e();
    namespace = uniqueName('mg-audit');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const pods: V1Pod[] = [
      withHostPath('docker-sock', '/var/run/docker.sock', false),
      withHostPath('skills-writer', '/skills', false),
      sandboxPod('never-mutated', [{ hostPath: '/srv/sandbox/u1', mountPath: '/mnt/work' }]),
      // Compliant ones, enough to need several pages of 3.
      ...Array.from({ length: 8 }, (_, i) => sandboxPod(`compliant-${i}`)),
      withHostPath('skills-reader', '/skills/python', true),
    ];
    for (const body of pods) {
      await core.createNamespacedPod({ namespace, body });
      seeded.push({ namespace, name: body.metadata?.name ?? '' });
    }
  });

  after(async () => {
    const { core } = e2e();
    for (const pod of seeded) await deletePod(core, pod.namespace, pod.name);
    if (namespace !== '') await core.deleteNamespace({ name: namespace });
  });

  it('lists every Pod the policy refuses, with the reason, over several pages, and exits 1', async () => {
    const run = await audit(['--namespace', namespace, '-o', 'json', '--page-size', '3']);
    expect(run.code, run.stderr).to.equal(1);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.podsScanned).to.equal(12);
    expect(report.findings).to.deep.equal([
      { namespace, pod: 'docker-sock', violations: [{ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/var/run/docker.sock" is not under any allowed or built-in host path' }] },
      {
        namespace,
        pod: 'never-mutated',
        violations: [
          { rule: 'injection-missing', field: 'spec.volumes', message: 'requested mount is missing: volume "mountgate-876f11fa39f6" for /srv/sandbox/u1 (mutation skipped or altered)' },
          { rule: 'injection-missing', field: 'spec.containers[0].volumeMounts', message: 'requested mount is missing: "/mnt/work" in container "sandbox" (mutation skipped or altered)' },
        ],
      },
      { namespace, pod: 'skills-writer', violations: [{ rule: 'host-path-volume-read-write', field: 'spec.containers[0].volumeMounts[0]', message: 'container "main" mounts "/skills" read-write, but "/skills" is read-only' }] },
    ]);
  });

  it('prints a table', async () => {
    const run = await audit(['-n', namespace]);
    expect(run.code).to.equal(1);
    expect(run.stdout.split('\n').slice(-2)).to.deep.equal(['3 of 12 Pods break the policy', '']);
    expect(run.stdout.split('\n')[0]).to.match(/^NAMESPACE\s+POD\s+RULE\s+REASON$/);
  });

  it('finds them across all namespaces too', async () => {
    const run = await audit(['--all-namespaces', '-o', 'json', '--page-size', '5']);
    expect(run.code).to.equal(1);
    const report = JSON.parse(run.stdout) as Report;
    const ours = report.findings.filter((finding) => finding.namespace === namespace).map((finding) => finding.pod);
    expect(ours).to.deep.equal(['docker-sock', 'never-mutated', 'skills-writer']);
    expect(report.podsScanned).to.be.at.least(12);
  });

  it('exits 0 on a namespace where every Pod complies', async () => {
    const { core } = e2e();
    const clean = uniqueName('mg-audit-clean');
    await core.createNamespace({ body: { metadata: { name: clean } } });
    try {
      await core.createNamespacedPod({ namespace: clean, body: sandboxPod('fine') });
      const run = await audit(['-n', clean]);
      expect(run).to.deep.equal({ code: 0, stdout: 'no Pod breaks the policy (1 scanned)\n', stderr: '' });
    } finally {
      await deletePod(core, clean, 'fine');
      await core.deleteNamespace({ name: clean });
    }
  });

  it('exits 2 with one line when the cluster refuses the list', async () => {
    const { cp, dir } = e2e();
    const run = await new Promise<Run>((resolve) => {
      // bob may list Pods nowhere cluster-wide.
      const kubeconfig = path.join(dir, 'bob.kubeconfig');
      import('node:fs/promises')
        .then((fs) => fs.writeFile(kubeconfig, cp.as({ name: 'bob', groups: [] }).exportConfig()))
        .then(() =>
          execFile(process.execPath, [MOUNTGATE_MAIN, 'audit', '--config', path.join(dir, 'policy.yaml'), '--kubeconfig', kubeconfig, '-A'], { timeout: 60_000 }, (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
          ),
        )
        .catch((error: unknown) => resolve({ code: -1, stdout: '', stderr: String(error) }));
    });
    expect(run.code).to.equal(2);
    expect(run.stdout).to.equal('');
    // MountPolicies are listed first: a report without them could miss a Pod one of them refuses.
    expect(run.stderr).to.match(/^mountgate: audit: cannot list MountPolicies: HTTP 403: .+\n$/);
  });
});
