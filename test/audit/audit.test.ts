import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { auditPolicy, judgeExistingPod, policiesByNamespace, type Finding } from '../../src/audit/judge.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { formatReport } from '../../src/audit/report.js';
import { parseAuditArgs } from '../../src/cli/audit-options.js';
import { UsageError } from '../../src/cli/usage.js';
import { policyOf } from '../helpers/policies.js';

/** A PodList as kube-apiserver returns it, defaults and status included. */
const recorded = JSON.parse(readFileSync(new URL('./fixtures/pods.json', import.meta.url), 'utf8')) as { items: unknown[] };
const POLICY = auditPolicy(policyOf({ requesters: ['group:provisioners'] }));

function findings(): Finding[] {
  return recorded.items.flatMap((pod) => judgeExistingPod(pod, POLICY) ?? []);
}

describe('audit', () => {
  it('finds hostPaths outside the lists, read-only violations and skipped mutations, and nothing in a compliant Pod', () => {
    expect(findings()).to.deep.equal([
      { namespace: 'agents', pod: 'docker-sock', violations: [{ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/var/run/docker.sock" is not under any allowed or built-in host path' }] },
      { namespace: 'agents', pod: 'skills-writer', violations: [{ rule: 'host-path-volume-read-write', field: 'spec.initContainers[0].volumeMounts[0]', message: 'container "copy" mounts "/skills" read-write, but "/skills" is read-only' }] },
      {
        namespace: 'agents',
        pod: 'skipped-mutation',
        violations: [
          { rule: 'injection-missing', field: 'spec.volumes', message: 'requested mount is missing: volume "mountgate-5405701bcedd" for /srv/sandbox/u2 (mutation skipped or altered)' },
          { rule: 'injection-missing', field: 'spec.containers[0].volumeMounts', message: 'requested mount is missing: "/mnt/work" in container "sandbox" (mutation skipped or altered)' },
        ],
      },
    ]);
  });

  it('finds a Pod whose annotation was removed while it kept its mounts (the annotation lies)', () => {
    const compliant = structuredClone(recorded.items[0]) as { metadata: { name: string; annotations?: Record<string, string> } };
    compliant.metadata.name = 'annotation-removed';
    delete compliant.metadata.annotations;
    expect(judgeExistingPod(compliant, POLICY)).to.deep.equal({
      namespace: 'agents',
      pod: 'annotation-removed',
      violations: [{ rule: 'injection-mismatch', field: 'spec.volumes[1]', message: 'volume "mountgate-876f11fa39f6" mounts "/srv/sandbox/u1" from the host, but no annotation asks for it' }],
    });
  });

  it('leaves the requesters rule out: who created a Pod is not recorded', () => {
    expect(POLICY.requesters).to.equal(undefined);
    expect(judgeExistingPod(recorded.items[0], POLICY)).to.equal(undefined);
  });

  it('prints an aligned table, one row per broken rule', () => {
    expect(formatReport({ podsScanned: 4, findings: findings() }, 'table')).to.equal(
      [
        'NAMESPACE   POD                REASON',
        'agents      docker-sock        spec.volumes[0].hostPath.path: "/var/run/docker.sock" is not under any allowed or built-in host path',
        'agents      skills-writer      spec.initContainers[0].volumeMounts[0]: container "copy" mounts "/skills" read-write, but "/skills" is read-only',
        'agents      skipped-mutation   spec.volumes: requested mount is missing: volume "mountgate-5405701bcedd" for /srv/sandbox/u2 (mutation skipped or altered)',
        'agents      skipped-mutation   spec.containers[0].volumeMounts: requested mount is missing: "/mnt/work" in container "sandbox" (mutation skipped or altered)',
        '',
        '3 of 4 Pods break the policy',
        '',
      ].join('\n'),
    );
    expect(formatReport({ podsScanned: 1, findings: [] }, 'table')).to.equal('no Pod breaks the policy (1 scanned)\n');
  });

  it('prints JSON', () => {
    const summary = { podsScanned: 4, findings: findings() };
    expect(JSON.parse(formatReport(summary, 'json'))).to.deep.equal(JSON.parse(JSON.stringify(summary)));
  });

  describe('arguments', () => {
    it('reads the scope and format', () => {
      expect(parseAuditArgs(['--config', 'p.yaml'])).to.deep.equal({ configPath: 'p.yaml', pageSize: 250, scope: undefined, format: 'table', kubeconfigPath: undefined });
      expect(parseAuditArgs(['--config', 'p.yaml', '--page-size', '7'])).to.deep.include({ pageSize: 7 });
      expect(parseAuditArgs(['--config', 'p.yaml', '-n', 'agents', '-o', 'json'])).to.deep.include({ scope: { namespace: 'agents' }, format: 'json' });
      expect(parseAuditArgs(['--config', 'p.yaml', '--all-namespaces', '--kubeconfig', 'k'])).to.deep.include({ scope: 'all-namespaces', kubeconfigPath: 'k' });
    });
    const bad: Array<[string, string[], string]> = [
      ['no config', ['-A'], 'audit: --config FILE is required'],
      ['both scopes', ['--config', 'p', '-n', 'a', '-A'], 'audit: give --namespace NS or --all-namespaces, not both'],
      ['an unknown format', ['--config', 'p', '-o', 'yaml'], 'audit: -o must be table or json, not "yaml"'],
      ['a page size of 0', ['--config', 'p', '--page-size', '0'], 'audit: --page-size must be a whole number from 1 to 5000, not "0"'],
      ['a page size that is not a number', ['--config', 'p', '--page-size', 'ten'], 'audit: --page-size must be a whole number from 1 to 5000, not "ten"'],
    ];
    for (const [name, argv, message] of bad) {
      it(`refuses ${name}`, () => expect(() => parseAuditArgs(argv)).to.throw(UsageError, message));
    }
  });
});

describe('audit with MountPolicies', () => {
  it("judges each Pod by its namespace's layers, naming the MountPolicy", () => {
    const narrowing = compileMountPolicy({ metadata: { namespace: 'agents', name: 'tenant' }, spec: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/u9' }] } });
    const elsewhere = compileMountPolicy({ metadata: { namespace: 'other', name: 'closed' }, spec: { allowedHostPaths: [] } });
    const policyFor = policiesByNamespace(POLICY, [narrowing, elsewhere]);
    expect(policyFor('nowhere')).to.equal(POLICY);
    expect(judgeExistingPod(recorded.items[0], policyFor('agents'))?.violations).to.deep.equal([
      { rule: 'host-path-not-allowed', field: 'metadata.annotations[mountgate.io/mounts][0].hostPath', message: '"/srv/sandbox/u1" is not under any allowed host path of MountPolicy agents/tenant' },
      { rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/skills" is not under any allowed host path of MountPolicy agents/tenant' },
      { rule: 'host-path-volume-not-allowed', field: 'spec.volumes[1].hostPath.path', message: '"/srv/sandbox/u1" is not under any allowed host path of MountPolicy agents/tenant' },
    ]);
  });
});
