/**
 * The messages the guides quote are the ones mountgate gives. Each row builds the Pod (or MountPolicy)
 * a guide describes, judges it with the example policy the guide names, and expects the quoted text
 * both in the guide and in what mountgate answers: a change of wording on either side fails here.
 * A quote that begins with "... " stands for the end of a message.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { decide } from '../../src/admission/decide.js';
import { judgeMountPolicyWrite } from '../../src/admission/mount-policy-write.js';
import { denialMessage } from '../../src/admission/verdict.js';
import { check } from '../../src/cli/check.js';
import { parsePolicy } from '../../src/policy/load.js';
import { mountPolicy } from '../helpers/policies.js';
import { requestFor } from '../helpers/pods.js';

const ROOT = process.cwd();
const DEER_FLOW = 'examples/deer-flow-policy.yaml';
const AGENT_SANDBOX = 'examples/agent-sandbox-policy.yaml';
const PROVISIONER = 'system:serviceaccount:deer-flow:deer-flow-deer-flow-provisioner';
const CONTROLLER = 'system:serviceaccount:agent-sandbox-system:agent-sandbox-controller';

/** The README's worked example of placeholders. */
const PER_USER = `allowedHostPaths:
  - pathPrefix: /srv/users/{sandboxUser}
  - pathPrefix: /srv/tenants/{namespace}
builtinHostPaths:
  - pathPrefix: /.deer-flow/users/*/skills_view
    readOnly: true
trustedProvisioners: [${PROVISIONER}]
`;

/** The README's cluster policy of the MountPolicy example, and team-a's MountPolicy. */
const TENANTS = `allowedHostPaths:
  - pathPrefix: /srv/tenants
  - pathPrefix: /srv/tenants/shared
    readOnly: true
maxMounts: 10
`;
const TEAM_A = mountPolicy({
  allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/srv/tenants/team-a/reference', readOnly: true }],
  reservedMountPaths: ['/workspace/secrets'],
  maxMounts: 3,
});

interface PodShape {
  readonly mounts?: unknown[];
  readonly annotations?: Record<string, string>;
  readonly container?: Record<string, unknown>;
  readonly volumes?: unknown[];
}

function pod(shape: PodShape): Record<string, unknown> {
  const annotations = { ...(shape.mounts === undefined ? {} : { 'mountgate.io/mounts': JSON.stringify(shape.mounts) }), ...shape.annotations };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sandbox', annotations },
    spec: { containers: [{ name: 'sandbox', image: 'python:3.12', ...shape.container }], ...(shape.volumes === undefined ? {} : { volumes: shape.volumes }) },
  };
}

/** What `mountgate check` prints on stderr for the Pod; `files` are written beside it, `args` may name them. */
async function checked(policy: string, object: unknown, args: string[], files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-docs-'));
  try {
    const policyFile = policy.startsWith('examples/') ? join(ROOT, policy) : join(dir, 'policy.yaml');
    if (!policy.startsWith('examples/')) await writeFile(policyFile, policy);
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await writeFile(join(dir, 'pod.yaml'), stringify(object));
    let stderr = '';
    await check(['--config', policyFile, '-f', join(dir, 'pod.yaml'), ...args.map((arg) => arg.replace('{dir}', dir))], {
      stdout: () => undefined,
      stderr: (text) => (stderr += text),
      readStdin: () => Promise.resolve(''),
    });
    return stderr;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The message /mutate (or, when it admits the Pod, /validate) answers the API server with. */
async function answered(policyFile: string, object: unknown, username: string): Promise<string> {
  const policy = parsePolicy(await readFile(join(ROOT, policyFile), 'utf8'), policyFile);
  const request = requestFor(object, { username, namespace: 'sandboxes' });
  const mutated = decide('mutate', request, policy);
  const verdict = mutated.allowed ? decide('validate', request, policy) : mutated;
  return verdict.allowed ? 'allowed' : denialMessage(verdict.violations);
}

const rows: Array<[file: string, quote: string, answer: () => Promise<string>]> = [
  [
    'README.md',
    'metadata.annotations[mountgate.io/mounts][0].hostPath: "/etc" is not under any allowed host path',
    () => checked(DEER_FLOW, pod({ mounts: [{ hostPath: '/etc', mountPath: '/mnt/work' }] }), ['--user', PROVISIONER]),
  ],
  ['README.md', '(`[requester-not-allowed]`)', async () => `(\`${/\[requester-not-allowed\]/.exec(await checked(DEER_FLOW, pod({ mounts: [{ hostPath: '/srv/sandbox/alice', mountPath: '/mnt/work' }] }), ['--user', 'alice']))?.[0] ?? ''}\`)`],
  [
    'README.md',
    'metadata.annotations[mountgate.io/mounts][2].mountPath: "/proc" is inside the reserved path "/proc"',
    () =>
      checked(
        DEER_FLOW,
        pod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/a' }, { hostPath: '/srv/sandbox/b', mountPath: '/b' }, { hostPath: '/srv/sandbox/c', mountPath: '/proc' }] }),
        ['--user', PROVISIONER],
      ),
  ],
  [
    'README.md',
    'metadata.annotations[mountgate.io/mounts][0].container_path: "/mnt/skills/mine" is inside the reserved path "/mnt/skills"',
    () => checked(DEER_FLOW, pod({ mounts: [{ host_path: '/srv/sandbox/u3', container_path: '/mnt/skills/mine' }] }), ['--user', PROVISIONER]),
  ],
  [
    'README.md',
    '... "/srv/users/u4" is not under any allowed host path ("/srv/users/{sandboxUser}" has {sandboxUser} = "u3" for this request)',
    () => checked(PER_USER, pod({ mounts: [{ host_path: '/srv/users/u4', container_path: '/mnt/data' }], annotations: { 'mountgate.io/sandbox-user': 'u3' } }), ['--user', PROVISIONER]),
  ],
  [
    'README.md',
    '... {sandboxUser} is not filled, as user "bob" is not in trustedProvisioners',
    () => checked(PER_USER, pod({ mounts: [{ host_path: '/srv/users/u3/data', container_path: '/mnt/data' }], annotations: { 'mountgate.io/sandbox-user': 'u3' } }), ['--user', 'bob']),
  ],
  [
    'README.md',
    '... "/srv/tenants/team-b/x" is not under any allowed host path of MountPolicy team-a/tenant',
    () => checked(TENANTS, pod({ mounts: [{ hostPath: '/srv/tenants/team-b/x', mountPath: '/b' }] }), ['--namespace', 'team-a', '--mount-policy', '{dir}/mp.yaml'], { 'mp.yaml': stringify(TEAM_A) }),
  ],
  [
    'README.md',
    'warning (policy): "/srv/tenants/team-a" may be mounted read-write where {namespace} = "<x>" ...',
    () => checked(TENANTS, pod({}), ['--namespace', 'team-a', '--mount-policy', '{dir}/mp.yaml'], { 'mp.yaml': stringify(TEAM_A) }),
  ],
  [
    'README.md',
    'mountgate refused the MountPolicy: spec.allowedHostPaths[0].pathPrefix: "/srv" reaches outside the cluster policy ...',
    async () => {
      const verdict = judgeMountPolicyWrite(requestFor(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv' }] }), { resource: 'mountpolicies', group: 'mountgate.io', namespace: 'team-a' }), parsePolicy(TENANTS, 'policy.yaml'));
      return verdict.allowed ? 'allowed' : denialMessage(verdict.violations, 'the MountPolicy');
    },
  ],
  [
    'README.md',
    'spec.containers[0].securityContext.privileged: must not be true: ...',
    () => checked(DEER_FLOW, pod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/a' }], container: { securityContext: { privileged: true } } }), ['--user', PROVISIONER]),
  ],
  [
    'docs/deer-flow.md',
    'denied the request: mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].host_path: "/.deer-flow/users/u4" is not under any allowed host path`',
    async () => `denied the request: ${await answered(DEER_FLOW, pod({ mounts: [{ host_path: '/.deer-flow/users/u4', container_path: '/mnt/other' }] }), PROVISIONER)}\``,
  ],
  [
    'docs/deer-flow.md',
    'denied the request: mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].container_path: "/mnt/skills/mine" is inside the reserved path "/mnt/skills"; metadata.annotations[mountgate.io/mounts][1].read_only: "/srv/models/qwen" is under the read-only prefix "/srv/models" and must be mounted read-only`',
    async () =>
      `denied the request: ${await answered(
        DEER_FLOW,
        pod({ mounts: [{ host_path: '/srv/sandbox/u3/work', container_path: '/mnt/skills/mine' }, { host_path: '/srv/models/qwen', container_path: '/mnt/models', read_only: false }] }),
        PROVISIONER,
      )}\``,
  ],
  [
    'docs/deer-flow.md',
    '`metadata.annotations[mountgate.io/mounts][1] repeats entry [0] (/srv/datasets/squad at /mnt/data); merged into one mount`',
    async () => {
      const stderr = await checked(DEER_FLOW, pod({ mounts: [{ host_path: '/srv/datasets/squad', container_path: '/mnt/data' }, { host_path: '/srv/datasets/squad', container_path: '/mnt/data' }] }), ['--user', PROVISIONER]);
      return stderr.replace(/^warning \(mutate\): (.*)$/m, '`$1`');
    },
  ],
  [
    'docs/deer-flow.md',
    'hostPath.path: "//.deer-flow/users/u1/integrations/lark-cli/data" has an empty segment ("//")`',
    async () =>
      `${await answered(DEER_FLOW, pod({ container: { volumeMounts: [{ name: 'extra-0', mountPath: '/mnt/integrations/lark-cli/data' }] }, volumes: [{ name: 'extra-0', hostPath: { path: '//.deer-flow/users/u1/integrations/lark-cli/data', type: 'DirectoryOrCreate' } }] }), PROVISIONER)}\``,
  ],
  [
    'docs/agent-sandbox.md',
    'denied the request: mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].hostPath: "/etc" is not under any allowed host path\n',
    async () => `denied the request: ${await answered(AGENT_SANDBOX, pod({ mounts: [{ hostPath: '/etc', mountPath: '/workspace', readOnly: false }] }), CONTROLLER)}\n`,
  ],
  [
    'docs/agent-sandbox.md',
    ': "/srv/agents/workspaces/by-hand" is not under any built-in host path (with handWrittenHostPaths: builtin, allowed host paths come only through the annotation)`',
    async () =>
      `${await answered(AGENT_SANDBOX, pod({ container: { volumeMounts: [{ name: 'work', mountPath: '/work' }] }, volumes: [{ name: 'work', hostPath: { path: '/srv/agents/workspaces/by-hand' } }] }), CONTROLLER)}\``,
  ],
  [
    'docs/reference.md',
    '`placeholders: {namespace} = "team-a", {user} = "alice", {sandboxUser} not filled (user "alice" is not in trustedProvisioners)`',
    async () => (await checked(PER_USER, pod({}), ['--namespace', 'team-a', '--user', 'alice'])).replace(/^(placeholders: .*)$/m, '`$1`'),
  ],
];

describe('the guides quote what mountgate says', () => {
  const texts = new Map<string, Promise<string>>();
  const text = (file: string): Promise<string> => texts.get(file) ?? texts.set(file, readFile(join(ROOT, file), 'utf8')).get(file) ?? Promise.reject(new Error(file));

  for (const [file, quote, answer] of rows) {
    it(`${file}: ${quote.length > 90 ? `${quote.slice(0, 90)}...` : quote}`, async () => {
      expect(await text(file), 'the guide no longer quotes it').to.include(quote);
      const said = quote.replace(/^\.\.\. /, '').replace(/ \.\.\.$/, '');
      expect(await answer(), 'mountgate says something else').to.include(said);
    });
  }
});
