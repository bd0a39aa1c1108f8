import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { decide } from '../../src/admission/decide.js';
import { podCreateRequest } from '../../src/admission/synthetic-request.js';
import type { Violation } from '../../src/admission/violation.js';
import { auditPolicy, judgeExistingPod, policiesByNamespace, type Decide, type Finding, type Judgement } from '../../src/audit/judge.js';
import { MAX_CANDIDATE_REQUESTERS } from '../../src/audit/unknown-requester.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { formatReport } from '../../src/audit/report.js';
import { parseAuditArgs } from '../../src/cli/audit-options.js';
import { UsageError } from '../../src/cli/usage.js';
import { policyOf } from '../helpers/policies.js';

/** A PodList as kube-apiserver returns it, defaults and status included. */
const recorded = JSON.parse(readFileSync(new URL('./fixtures/pods.json', import.meta.url), 'utf8')) as { items: unknown[] };
const POLICY = auditPolicy(policyOf({ requesters: ['group:provisioners'] }));

function findings(): Finding[] {
  return recorded.items.flatMap((pod) => {
    const judgement = judgeExistingPod(pod, POLICY);
    return judgement.outcome === 'breaks' ? [judgement.finding] : [];
  });
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
      outcome: 'breaks',
      finding: {
        namespace: 'agents',
        pod: 'annotation-removed',
        violations: [{ rule: 'injection-mismatch', field: 'spec.volumes[1]', message: 'volume "mountgate-876f11fa39f6" mounts "/srv/sandbox/u1" from the host, but no annotation asks for it' }],
      },
    });
  });

  it('finds a running Pod with hostPath volumes that breaks Pod Security baseline, and leaves it be under podSecurity: privileged', () => {
    const privileged = structuredClone(recorded.items[0]) as { metadata: { name: string }; spec: { hostPID?: boolean } };
    privileged.metadata.name = 'host-pid';
    privileged.spec.hostPID = true;
    expect(judgeExistingPod(privileged, POLICY)).to.deep.equal({
      outcome: 'breaks',
      finding: {
        namespace: 'agents',
        pod: 'host-pid',
        violations: [{ rule: 'pod-security-baseline', field: 'spec.hostPID', message: "must not be true: the Pod would share the node's namespace (podSecurity: baseline)" }],
      },
    });
    const off = auditPolicy(policyOf({ requesters: ['group:provisioners'], podSecurity: 'privileged' }));
    expect(judgeExistingPod(privileged, off)).to.deep.equal({ outcome: 'admitted' });
  });

  it('leaves the requesters rule out: who created a Pod is not recorded', () => {
    expect(POLICY.requesters).to.equal(undefined);
    expect(judgeExistingPod(recorded.items[0], POLICY)).to.deep.equal({ outcome: 'admitted' });
  });

  it('leaves the sandbox-user rule out too where someone is trusted, and keeps it where no one is', () => {
    const annotated = structuredClone(recorded.items[0]) as { metadata: { name: string; annotations?: Record<string, string> } };
    annotated.metadata.annotations = { ...annotated.metadata.annotations, 'mountgate.io/sandbox-user': 'u3' };
    const trusting = auditPolicy(policyOf({ trustedProvisioners: ['group:provisioners'] }));
    const asCreated = decide('validate', podCreateRequest(annotated, { username: 'bob' }, 'uid'), trusting);
    expect(asCreated.allowed ? [] : asCreated.violations.map((v) => v.rule)).to.deep.equal(['sandbox-user-not-trusted']);
    expect(judgeExistingPod(annotated, trusting)).to.deep.equal({ outcome: 'admitted' });
    expect(POLICY.trustedProvisioners.size).to.equal(0);
    expect(judgeExistingPod(annotated, POLICY)).to.deep.equal({
      outcome: 'breaks',
      finding: {
        namespace: 'agents',
        pod: annotated.metadata.name,
        violations: [
          {
            rule: 'sandbox-user-not-trusted',
            field: 'metadata.annotations[mountgate.io/sandbox-user]',
            message: 'names the sandbox user of a Pod with hostPath volumes, which only trustedProvisioners may do, and trustedProvisioners is empty',
          },
        ],
      },
    });
  });

  it('prints an aligned table, one row per broken rule', () => {
    expect(formatReport({ podsScanned: 4, findings: findings(), cannotJudgeOffline: [] }, 'table')).to.equal(
      [
        'NAMESPACE   POD                RULE                           REASON',
        'agents      docker-sock        host-path-volume-not-allowed   spec.volumes[0].hostPath.path: "/var/run/docker.sock" is not under any allowed or built-in host path',
        'agents      skills-writer      host-path-volume-read-write    spec.initContainers[0].volumeMounts[0]: container "copy" mounts "/skills" read-write, but "/skills" is read-only',
        'agents      skipped-mutation   injection-missing              spec.volumes: requested mount is missing: volume "mountgate-5405701bcedd" for /srv/sandbox/u2 (mutation skipped or altered)',
        'agents      skipped-mutation   injection-missing              spec.containers[0].volumeMounts: requested mount is missing: "/mnt/work" in container "sandbox" (mutation skipped or altered)',
        '',
        '3 of 4 Pods break the policy',
        '',
      ].join('\n'),
    );
    expect(formatReport({ podsScanned: 1, findings: [], cannotJudgeOffline: [] }, 'table')).to.equal('no Pod breaks the policy (1 scanned)\n');
  });

  it('escapes control characters in the table: a path from the cluster cannot send escape sequences to the terminal', () => {
    const finding: Finding = {
      namespace: 'agents',
      pod: 'p',
      violations: [{ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/srv/\u009b2J" is not under any allowed or built-in host path' }],
    };
    expect(formatReport({ podsScanned: 1, findings: [finding], cannotJudgeOffline: [] }, 'table').split('\n')[1]).to.equal(
      'agents      p     host-path-volume-not-allowed   spec.volumes[0].hostPath.path: "/srv/\\u009b2J" is not under any allowed or built-in host path',
    );
  });

  it('prints JSON', () => {
    const summary = { podsScanned: 5, findings: findings(), cannotJudgeOffline: [{ namespace: 'agents', pod: 'alice-1', needs: ['{user}'] }] };
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
      // Named as the user wrote the flag.
      ['an unknown format, -o x', ['--config', 'p', '-o', 'x'], 'audit: -o must be table or json, not "x"'],
      ['an unknown format, --output x', ['--config', 'p', '--output', 'x'], 'audit: --output must be table or json, not "x"'],
      ['an unknown format, --output=x', ['--config', 'p', '--output=x'], 'audit: --output must be table or json, not "x"'],
      ['an unknown format, -ox', ['--config', 'p', '-ox'], 'audit: -o must be table or json, not "x"'],
      ['an unknown format given last of two, as -o', ['--config', 'p', '--output', 'json', '-o', 'x'], 'audit: -o must be table or json, not "x"'],
      ['an unknown format given last of two, as --output', ['--config', 'p', '-o', 'json', '--output=x'], 'audit: --output must be table or json, not "x"'],
      ['a namespace that is no namespace name', ['--config', 'p', '-n', 'Bad_NS'], 'audit: --namespace "Bad_NS" is not a namespace name (lower-case letters, digits and "-", at most 63)'],
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
    const judgement = judgeExistingPod(recorded.items[0], policyFor('agents'));
    expect(judgement.outcome === 'breaks' ? judgement.finding.violations : judgement).to.deep.equal([
      { rule: 'host-path-not-allowed', field: 'metadata.annotations[mountgate.io/mounts][0].hostPath', message: '"/srv/sandbox/u1" is not under any allowed host path of MountPolicy agents/tenant' },
      { rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/skills" is not under any allowed host path of MountPolicy agents/tenant' },
      { rule: 'host-path-volume-not-allowed', field: 'spec.volumes[1].hostPath.path', message: '"/srv/sandbox/u1" is not under any allowed host path of MountPolicy agents/tenant' },
    ]);
  });
});

describe('audit and entries filled from the requester ({user}, {sandboxUser})', () => {
  const PROVISIONER = 'system:serviceaccount:deer-flow:provisioner';
  const USER_HOMES = { allowedHostPaths: [{ pathPrefix: '/home/{user}' }], builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }], requesters: [] };
  const mounts = (...hostPaths: string[]): string => JSON.stringify(hostPaths.map((hostPath, i) => ({ hostPath, mountPath: `/m${i}` })));

  interface Row {
    readonly name: string;
    readonly policy: Record<string, unknown>;
    /** MountPolicy specs of the Pod's namespace ("agents"). */
    readonly mountPolicies?: readonly Record<string, unknown>[];
    /** Who creates the Pod through /mutate; the Pod is judged by audit as /mutate left it. */
    readonly user: { username: string; groups: string[] };
    readonly annotations: Record<string, string>;
    /** hostPath volumes the Pod carries itself, mounted read-write by its container. */
    readonly handWritten?: readonly string[];
    readonly expected: Judgement;
    /** The most decisions audit may take over the Pod, the one without a requester included. */
    readonly maxDecisions?: number;
  }

  const breaks = (...violations: Violation[]): Judgement => ({ outcome: 'breaks', finding: { namespace: 'agents', pod: 'p', violations } });
  const SKILLS_AND_HOMES = { allowedHostPaths: [{ pathPrefix: '/skills' }, { pathPrefix: '/home/{user}' }], builtinHostPaths: [], requesters: [] };
  const numbered = <T>(count: number, path: (i: number) => T): T[] => Array.from({ length: count }, (_, i) => path(i));
  const BOUND = 1 + MAX_CANDIDATE_REQUESTERS;
  const rows: Row[] = [
    {
      name: 'cannot judge offline: a Pod alice created under /home/{user}',
      policy: USER_HOMES,
      user: { username: 'alice', groups: [] },
      annotations: { 'mountgate.io/mounts': mounts('/home/alice/work') },
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}'] } },
    },
    {
      name: 'cannot judge offline: a Pod the trusted provisioner created for bob (examples/deer-flow-per-user-policy.yaml)',
      policy: { allowedHostPaths: [{ pathPrefix: '/srv/users/{sandboxUser}' }, { pathPrefix: '/home/{user}' }], requesters: [PROVISIONER], trustedProvisioners: [PROVISIONER] },
      user: { username: PROVISIONER, groups: [] },
      annotations: { 'mountgate.io/mounts': mounts('/srv/users/bob'), 'mountgate.io/sandbox-user': 'bob' },
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}', '{sandboxUser}'] } },
    },
    {
      name: "cannot judge offline: a MountPolicy narrows the namespace to /home/{user}",
      policy: { allowedHostPaths: [{ pathPrefix: '/home' }], requesters: [] },
      mountPolicies: [{ allowedHostPaths: [{ pathPrefix: '/home/{user}' }] }],
      user: { username: 'alice', groups: [] },
      annotations: { 'mountgate.io/mounts': mounts('/home/alice') },
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}'] } },
    },
    {
      name: 'breaks, naming only what no requester could fix: /home/{user} and a hand-written docker.sock',
      policy: USER_HOMES,
      user: { username: 'alice', groups: [] },
      annotations: { 'mountgate.io/mounts': mounts('/home/alice/work') },
      handWritten: ['/var/run/docker.sock'],
      expected: breaks({ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/var/run/docker.sock" is not under any allowed or built-in host path' }),
    },
    {
      name: 'breaks: a read-only {user} entry mounted read-write stays read-only for any requester',
      policy: { allowedHostPaths: [{ pathPrefix: '/home/{user}', readOnly: true }], requesters: [] },
      user: { username: 'alice', groups: [] },
      annotations: {},
      handWritten: ['/home/alice'],
      expected: breaks({ rule: 'host-path-volume-read-write', field: 'spec.containers[0].volumeMounts[0]', message: 'container "sandbox" mounts "/home/alice" read-write, but "/home/{user}" is read-only' }),
    },
    {
      // Each path could be some requester's, but no one requester's: /home/{user} is filled once per request.
      name: "breaks: two users' homes in one Pod, though each alone could be a requester's",
      policy: USER_HOMES,
      user: { username: 'alice', groups: [] },
      annotations: {},
      handWritten: ['/home/alice', '/home/bob'],
      expected: breaks({ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[1].hostPath.path', message: '"/home/bob" is not under any allowed or built-in host path ("/home/{user}" has {user} = "alice" for this request)' }),
    },
    {
      // For alice {sandboxUser} is not filled, so the read-only entry does not apply and her home is read-write.
      name: 'cannot judge offline: a read-only {sandboxUser} entry below a home that does not apply to its creator',
      policy: { allowedHostPaths: [{ pathPrefix: '/home/{user}' }, { pathPrefix: '/home/{sandboxUser}/secrets', readOnly: true }], requesters: [], trustedProvisioners: [PROVISIONER] },
      user: { username: 'alice', groups: [] },
      annotations: { 'mountgate.io/mounts': JSON.stringify([{ hostPath: '/home/alice', mountPath: '/m0', readOnly: false }]) },
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}', '{sandboxUser}'] } },
    },
    {
      name: 'breaks: {namespace} is known offline, so a path of another namespace is not widened',
      policy: { allowedHostPaths: [{ pathPrefix: '/srv/{namespace}/{user}' }], requesters: [] },
      user: { username: 'alice', groups: [] },
      annotations: {},
      handWritten: ['/srv/team-b/alice'],
      expected: breaks({ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/srv/team-b/alice" is not under any allowed or built-in host path ("/srv/{namespace}/{user}" has {namespace} = "agents" for this request)' }),
      // alice is no candidate: the segment before hers is not this namespace, so no requester is tried.
      maxDecisions: 1,
    },
    {
      name: 'breaks, no requester tried: the segment where {user} stands cannot be a username',
      policy: USER_HOMES,
      user: { username: 'alice', groups: [] },
      annotations: {},
      handWritten: ['/home/a.b'],
      expected: breaks({ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/home/a.b" is not under any allowed or built-in host path ("/home/{user}" does not apply: {user} is not filled, as the request has no username)' }),
      maxDecisions: 1,
    },
    {
      // Each requester breaks something no other does: the one with no path outside every entry is named, though it breaks more.
      name: 'breaks, naming the requester who comes closest: paths outside every entry outweigh any number of read-only mounts',
      policy: { allowedHostPaths: [{ pathPrefix: '/home/{user}' }, { pathPrefix: '/opt', readOnly: true }, { pathPrefix: '/opt/{user}' }], requesters: [] },
      user: { username: 'alice', groups: [] },
      annotations: {},
      handWritten: ['/home/alice', '/opt/bob', '/opt/bob/a', '/opt/bob/b'],
      expected: breaks(
        ...['/opt/bob', '/opt/bob/a', '/opt/bob/b'].map((path, i) => ({
          rule: 'host-path-volume-read-write' as const,
          field: `spec.containers[0].volumeMounts[${i + 1}]`,
          message: `container "sandbox" mounts "${path}" read-write, but "/opt" is read-only`,
        })),
      ),
    },
    {
      name: "breaks, naming only what every requester breaks: two users' homes and a docker.sock",
      policy: USER_HOMES,
      user: { username: 'alice', groups: [] },
      annotations: {},
      handWritten: ['/home/alice', '/home/bob', '/var/run/docker.sock'],
      expected: breaks({ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[2].hostPath.path', message: '"/var/run/docker.sock" is not under any allowed or built-in host path' }),
    },
    {
      // The provisioner's group fills {sandboxUser} from the annotation; the username before it is tried as {user}.
      name: 'cannot judge offline: /srv/{sandboxUser}/{user}, created by alice in a trusted group for bob',
      policy: { allowedHostPaths: [{ pathPrefix: '/srv/{sandboxUser}/{user}' }], requesters: [], trustedProvisioners: ['group:provisioners'] },
      user: { username: 'alice', groups: ['provisioners'] },
      annotations: { 'mountgate.io/mounts': mounts('/srv/bob/alice'), 'mountgate.io/sandbox-user': 'bob' },
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}', '{sandboxUser}'] } },
    },
    {
      name: 'cannot judge offline: /srv/users/{sandboxUser}, created through a trusted group whatever the username',
      policy: { allowedHostPaths: [{ pathPrefix: '/srv/users/{sandboxUser}' }], requesters: [], trustedProvisioners: ['group:provisioners'] },
      user: { username: 'system:serviceaccount:deer-flow:provisioner', groups: ['provisioners'] },
      annotations: { 'mountgate.io/mounts': mounts('/srv/users/bob'), 'mountgate.io/sandbox-user': 'bob' },
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{sandboxUser}'] } },
    },
    {
      name: `judged as every requester up to the bound: ${MAX_CANDIDATE_REQUESTERS} homes`,
      policy: SKILLS_AND_HOMES,
      user: { username: 'u0', groups: [] },
      annotations: {},
      handWritten: numbered(MAX_CANDIDATE_REQUESTERS, (i) => `/home/u${i}`),
      // Each is the owner for one home and outside for the others: u0, the first of those closest, is named.
      expected: breaks(
        ...numbered(MAX_CANDIDATE_REQUESTERS - 1, (i) => i + 1).map((i) => ({
          rule: 'host-path-volume-not-allowed' as const,
          field: `spec.volumes[${i}].hostPath.path`,
          message: `"/home/u${i}" is not under any allowed or built-in host path ("/home/{user}" has {user} = "u0" for this request)`,
        })),
      ),
      maxDecisions: BOUND,
    },
    {
      name: `cannot judge offline, untried: ${MAX_CANDIDATE_REQUESTERS + 1} homes, one past the bound`,
      policy: SKILLS_AND_HOMES,
      user: { username: 'u0', groups: [] },
      annotations: {},
      handWritten: numbered(MAX_CANDIDATE_REQUESTERS + 1, (i) => `/home/u${i}`),
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}'], tooManyRequesters: true } },
      maxDecisions: 1,
    },
    {
      // Only the segment where {user} stands is a possible username, so the owner's is never crowded out.
      name: 'cannot judge offline: /home/alice listed after 300 /skills/xN volumes',
      policy: SKILLS_AND_HOMES,
      user: { username: 'alice', groups: [] },
      annotations: {},
      handWritten: [...numbered(300, (i) => `/skills/x${i}`), '/home/alice'],
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}'] } },
      maxDecisions: 2,
    },
    {
      name: 'cannot judge offline, untried: 2000 volumes under /home/{user} could each be the owner\'s, more than audit tries',
      policy: SKILLS_AND_HOMES,
      user: { username: 'u0', groups: [] },
      annotations: {},
      handWritten: numbered(2000, (i) => `/home/u${i}`),
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}'], tooManyRequesters: true } },
      maxDecisions: BOUND,
    },
    {
      name: 'breaks, judged in a bounded number of decisions: 2000 /skills/xN volumes and a docker.sock',
      policy: SKILLS_AND_HOMES,
      user: { username: 'alice', groups: [] },
      annotations: {},
      handWritten: [...numbered(2000, (i) => `/skills/x${i}`), '/var/run/docker.sock'],
      expected: breaks({ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[2000].hostPath.path', message: '"/var/run/docker.sock" is not under any allowed or built-in host path' }),
      maxDecisions: BOUND,
    },
    {
      // Trusted through a group, each username is tried twice: 40 homes are 81 requesters.
      name: 'cannot judge offline, untried: 40 homes when a trustedProvisioners group doubles the requesters past the bound',
      policy: { ...SKILLS_AND_HOMES, trustedProvisioners: ['group:provisioners'] },
      user: { username: 'u0', groups: [] },
      annotations: {},
      handWritten: numbered(40, (i) => `/home/u${i}`),
      expected: { outcome: 'cannot-judge-offline', unjudged: { namespace: 'agents', pod: 'p', needs: ['{user}'], tooManyRequesters: true } },
      maxDecisions: BOUND,
    },
  ];

  for (const row of rows) {
    it(row.name, () => {
      const handWritten = row.handWritten ?? [];
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'agents', annotations: row.annotations },
        spec: {
          containers: [{ name: 'sandbox', image: 'x', volumeMounts: handWritten.map((_, i) => ({ name: `own${i}`, mountPath: `/own${i}` })) }],
          volumes: handWritten.map((path, i) => ({ name: `own${i}`, hostPath: { path, type: 'Directory' } })),
        },
      };
      const cluster = auditPolicy(policyOf(row.policy));
      const layers = (row.mountPolicies ?? []).map((spec, i) => compileMountPolicy({ metadata: { namespace: 'agents', name: `mp${i}` }, spec }));
      const policy = policiesByNamespace(cluster, layers)('agents');
      // As the server would have left it: mutated for its requester (when it asks for mounts).
      const mutation = decide('mutate', podCreateRequest(pod, row.user, 'u1'), policy);
      const created = mutation.allowed ? (mutation.mutated ?? pod) : pod;
      let decisions = 0;
      const counting: Decide = (...args) => {
        decisions++;
        return decide(...args);
      };
      expect(judgeExistingPod(created, policy, counting)).to.deep.equal(row.expected);
      expect(decisions).to.be.within(1, row.maxDecisions ?? Infinity);
    });
  }

  it('prints the Pods it cannot judge offline apart, and does not count them as breaking', () => {
    const cannotJudgeOffline = [
      { namespace: 'agents', pod: 'alice-1', needs: ['{user}'] },
      { namespace: 'agents', pod: 'bob-sandbox', needs: ['{user}', '{sandboxUser}'] },
    ];
    expect(formatReport({ podsScanned: 3, findings: [], cannotJudgeOffline }, 'table')).to.equal(
      [
        'NAMESPACE   POD           CANNOT JUDGE OFFLINE',
        'agents      alice-1       admitted only for some requesters: {user} is filled from who created the Pod, which is not recorded',
        'agents      bob-sandbox   admitted only for some requesters: {user} and {sandboxUser} are filled from who created the Pod, which is not recorded',
        '',
        'no Pod breaks the policy (3 scanned, 2 cannot be judged offline)',
        '',
      ].join('\n'),
    );
    const finding: Finding = { namespace: 'agents', pod: 'docker-sock', violations: [{ rule: 'host-path-volume-not-allowed', field: 'spec.volumes[0].hostPath.path', message: '"/var/run/docker.sock" is not under any allowed or built-in host path' }] };
    expect(formatReport({ podsScanned: 3, findings: [finding], cannotJudgeOffline: cannotJudgeOffline.slice(0, 1) }, 'table').split('\n').slice(-4)).to.deep.equal([
      'agents      alice-1   admitted only for some requesters: {user} is filled from who created the Pod, which is not recorded',
      '',
      '1 of 3 Pods break the policy, 1 cannot be judged offline',
      '',
    ]);
  });

  it('says when a Pod was not tried as any requester, there being too many', () => {
    const cannotJudgeOffline = [{ namespace: 'agents', pod: 'crafted', needs: ['{user}'], tooManyRequesters: true as const }];
    expect(formatReport({ podsScanned: 1, findings: [], cannotJudgeOffline }, 'table').split('\n')[1]).to.equal(
      `agents      crafted   more than ${MAX_CANDIDATE_REQUESTERS} requesters could decide, too many to try: {user} is filled from who created the Pod, which is not recorded`,
    );
  });
});
