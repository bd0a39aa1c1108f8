/**
 * The backstop (`mountgate backstop`) inside a real API server, judged against mountgate itself.
 *
 * Each setup installs the ValidatingAdmissionPolicy and binding generated from one policy, bound
 * to a namespace of its own that mountgate's webhooks do not select. The same Pods are then
 * created there with dryRun=All (judged by the backstop alone), judged in-process by mountgate's
 * decide('validate', ...), and, for the policy the e2e mountgate serves, created in the namespace
 * its webhooks select (judged by mountgate's /validate alone). The Pods carry no annotation, so
 * every verdict is the hostPath rule's. Verdicts must agree on every Pod, and the backstop's
 * message must name the same volume or container, path and problem as mountgate's first reason.
 *
 * The API server checks a Pod (schema validation) before any validating admission: a path with a
 * ".." segment, or an empty one, is refused there as invalid in every namespace and never reaches
 * the backstop. Such Pods are counted; mountgate must deny them too.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { ApiException, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, type CoreV1Api, type V1Container, type V1EphemeralContainer, type V1ObjectMeta, type V1Pod, type V1PodSpec, type V1Volume, type V1VolumeMount } from '@kubernetes/client-node';
import { decide } from '../../src/admission/decide.js';
import { ADMISSION_API_VERSION, readAdmissionReview, type AdmissionRequest, type UserInfo } from '../../src/admission/review.js';
import { podCreateRequest } from '../../src/admission/synthetic-request.js';
import { denialMessage, type Verdict } from '../../src/admission/verdict.js';
import { describeViolation } from '../../src/admission/violation.js';
import { backstop, DEFAULT_BACKSTOP_OPTIONS, MAX_CEL_EXPRESSION_LENGTH } from '../../src/backstop/policy.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { parsePolicy } from '../../src/policy/load.js';
import { hostilePath } from '../helpers/arbitraries.js';
import { REPO_ROOT, sleep, TEST_USERS } from './controlplane.js';
import { deerFlowSandboxPod, extraMountsFor, type SandboxRequest } from './deer-flow-pods.js';
import { apiError, deletePod, EXAMPLE_POLICY, grantPodAccess, ignoreNotFound, uniqueName, type E2E } from './env.js';
import { volumeName } from './expect.js';
import { e2e } from './hooks.js';

const SELECT_LABEL = 'mountgate.io/backstop-e2e';
const PER_USER_POLICY = path.join(REPO_ROOT, 'examples', 'deer-flow-per-user-policy.yaml');
const AGENT_SANDBOX_POLICY = path.join(REPO_ROOT, 'examples', 'agent-sandbox-policy.yaml');
const execFileAsync = promisify(execFile);
const CELCOST_DIR = path.join(REPO_ROOT, 'test', 'e2e', 'tools', 'celcost');

interface CelCost {
  readonly version: string;
  readonly compileError?: string;
  readonly compiled: number;
  readonly pods: ReadonlyArray<{ readonly file: string; readonly total: number; readonly costs: ReadonlyArray<{ readonly where: string; readonly cost: number; readonly error?: string }> }>;
}

/** Builds test/e2e/tools/celcost (the API server's CEL library, see its main.go) into dir and runs it. */
async function celcost(dir: string, version: string, policyFile: string, pods: readonly string[], requestFile?: string, oldFile?: string): Promise<CelCost> {
  const bin = path.join(dir, 'celcost');
  await execFileAsync('go', ['build', '-trimpath', '-o', bin, '.'], {
    cwd: CELCOST_DIR,
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly` },
    timeout: 600_000,
  });
  const request = requestFile === undefined ? [] : ['-request', requestFile];
  const old = oldFile === undefined ? [] : ['-old', oldFile];
  const { stdout } = await execFileAsync(bin, ['-version', version, '-policy', policyFile, ...request, ...old, ...pods], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as CelCost;
}

/** A policy with the cases the longest-prefix rule and the CEL literals must get right. */
const TRICKY_POLICY = {
  allowedHostPaths: [
    { pathPrefix: '/srv/sandbox' },
    { pathPrefix: '/srv/models', readOnly: true },
    { pathPrefix: '/srv/models/scratch' },
    { pathPrefix: `/srv/we ird'"<&>/données` },
  ],
  builtinHostPaths: [
    { pathPrefix: '/skills', readOnly: true },
    { pathPrefix: '/data' },
    { pathPrefix: '/data', readOnly: true },
    { pathPrefix: '/srv/sandbox/shared', readOnly: true },
    // Read-only entries below /srv/sandbox: mountgate names the longest in UTF-16 code units, the emoji one (45; 29 code points).
    { pathPrefix: '/srv/sandbox/deeper/than/shared', readOnly: true },
    { pathPrefix: `/srv/sandbox/${'😀'.repeat(16)}`, readOnly: true },
  ],
};

/**
 * A policy with every kind of pattern and the deciding order between them: `*` beside literals of
 * as many segments, placeholders beside literals and `*`, read-only and read-write entries nested
 * both ways. alice is a trusted provisioner by name, carol by group, bob is not.
 */
const PATTERN_POLICY = {
  allowedHostPaths: [
    { pathPrefix: '/srv/users/{sandboxUser}' },
    { pathPrefix: '/srv/users/{sandboxUser}/config', readOnly: true },
    { pathPrefix: '/srv/tenants/{namespace}' },
    { pathPrefix: '/srv/tenants/{namespace}/{user}', readOnly: true },
    { pathPrefix: '/srv/homes/{user}' },
    // Read-only below {user}, but bob's own is outranked at its prefix by a read-write literal, carol's by a read-write pattern.
    { pathPrefix: '/srv/homes/{user}/notes', readOnly: true },
    { pathPrefix: '/srv/homes/bob/notes' },
    { pathPrefix: '/srv/tenants/{namespace}/carol' },
    { pathPrefix: '/srv/models', readOnly: true },
    { pathPrefix: '/srv/sandbox' },
  ],
  builtinHostPaths: [
    { pathPrefix: '/.deer-flow/users', readOnly: true },
    { pathPrefix: '/.deer-flow/users/*/*' },
    { pathPrefix: '/.deer-flow/users/*/skills_view', readOnly: true },
    { pathPrefix: '/.deer-flow/users/u1/skills_view' },
    { pathPrefix: '/.deer-flow/users/*/threads/*/acp-workspace', readOnly: true },
    { pathPrefix: '/.deer-flow/users/*/integrations/lark-cli/config', readOnly: true },
    { pathPrefix: '/.deer-flow/users/*/integrations/lark-cli/config/locks' },
  ],
  trustedProvisioners: ['alice', 'group:deer-flow-provisioners'],
};

/**
 * handWrittenHostPaths: builtin over the corpus's prefixes: a volume written by hand must lie under a built-in entry
 * and is read-only where the deciding built-in entry is, whatever allowedHostPaths say deeper down. Two built-in
 * patterns of one rank cover /srv/tenants/NAMESPACE/work, the second also allowed (so first among the CEL's
 * entries): mountgate names the first in builtinHostPaths.
 */
const BUILTIN_POLICY = {
  allowedHostPaths: [
    { pathPrefix: '/srv/sandbox' },
    { pathPrefix: '/srv/models/scratch' },
    { pathPrefix: '/data/a' },
    { pathPrefix: '/srv/tenants/{namespace}/work' },
    { pathPrefix: '/srv/tenants/{namespace}', readOnly: true },
  ],
  builtinHostPaths: [
    { pathPrefix: '/srv/models', readOnly: true },
    { pathPrefix: '/srv/sandbox/shared', readOnly: true },
    { pathPrefix: '/skills', readOnly: true },
    { pathPrefix: '/data' },
    { pathPrefix: '/data/b', readOnly: true },
    { pathPrefix: '/.deer-flow/users/*/skills_view', readOnly: true },
    { pathPrefix: '/srv/tenants/*', readOnly: true },
    { pathPrefix: '/srv/tenants/{namespace}', readOnly: true },
  ],
  handWrittenHostPaths: 'builtin',
};

interface Setup {
  readonly title: string;
  readonly policy: CompiledPolicy;
  /** Judged by the backstop alone. */
  readonly namespace: string;
  /** Judged by mountgate's webhooks alone (only for the policy the e2e mountgate serves). */
  readonly webhookNamespace: string | undefined;
  readonly name: string;
}

/** Who sends a request: mountgate judges in-process as the API server saw it, the API server gets it from this client. */
interface Requester {
  readonly userInfo: UserInfo;
  readonly core: CoreV1Api;
}

function adminOf(env: E2E): Requester {
  return { userInfo: { username: env.adminName, groups: [] }, core: env.core };
}

type ApiVerdict = { readonly kind: 'allowed' } | { readonly kind: 'denied' | 'invalid'; readonly message: string };

async function apiVerdict(call: Promise<unknown>): Promise<ApiVerdict> {
  try {
    await call;
    return { kind: 'allowed' };
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    const message = typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string' ? body.message : String(error.body);
    // A CEL error (cost, a missing key) would come back as 422 too: that is a finding, not a verdict.
    if (error.code === 422 && !message.includes('ValidatingAdmissionPolicy')) return { kind: 'invalid', message };
    if (error.code === 403) return { kind: 'denied', message };
    throw new Error(`unexpected answer ${error.code}: ${message}`);
  }
}

/** Why a volume written by hand is refused under handWrittenHostPaths: builtin; the backstop says it too. */
const HAND_WRITTEN_NOTE = ' (with handWrittenHostPaths: builtin, allowed host paths come only through the annotation)';

const PROBLEMS = [
  'is empty',
  'is longer than 4096 UTF-16 code units',
  'contains a control character',
  'contains a backslash, a path separator on Windows nodes',
  'is not absolute',
  'has an empty segment ("//")',
  'has a "." segment',
  'has a ".." segment',
  'is not under any allowed or built-in host path',
  `is not under any built-in host path${HAND_WRITTEN_NOTE}`,
];

function problemOf(message: string): string {
  const problem = PROBLEMS.find((p) => message.endsWith(` ${p}`));
  if (problem === undefined) throw new Error(`no known problem at the end of: ${message}`);
  return problem;
}

/**
 * mountgate's first reason and the backstop's message, reduced to what both must say: the volume
 * (by index) and the problem, or the container, path and read-only prefix. Paths are quoted by
 * JSON.stringify in one and by CEL's strings.quote in the other, so volume paths are compared by
 * problem only.
 */
function gist(message: string): string {
  const creates = /^spec\.volumes\[(\d+)\]\.hostPath\.type(?: \(volume "[^"]*"\))?: (?:("\w+") has the kubelet create|is not set, so the container runtime creates) .* when it is missing, (but .* is read-only; use \w+)$/.exec(message);
  if (creates !== null) return `volume ${creates[1]}: ${creates[2] ?? 'no type'} ${creates[3]}`;
  const subPath =
    /^(?:spec\.\w+\[\d+\]\.volumeMounts\[\d+\]\.subPath(?:Expr)?: )?(container .* with subPath(?:Expr)? .*?)(?: \(volume "[^"]*"\))?, which the kubelet creates when it is missing, (but .* is read-only)(?:; mount the subdirectory as a hostPath volume of its own)?$/.exec(
      message,
    );
  if (subPath !== null) return `${subPath[1]} ${subPath[2]}`;
  const volume = /^spec\.volumes\[(\d+)\]\.hostPath\.path(?: \(volume "[^"]*"\))?: /.exec(message);
  if (volume !== null) return `volume ${volume[1]}: ${problemOf(message)}`;
  const mount = /^(?:spec\.\w+\[\d+\]\.volumeMounts\[\d+\]: )?(container .* read-write)(?: \(volume "[^"]*"\))?(, but .* is read-only)$/.exec(message);
  if (mount !== null) return `${mount[1]}${mount[2]}`;
  // The whole message: mountgate's and the backstop's are the same text.
  if (/^metadata\.annotations\[[^\]]+\]: names the sandbox user of a Pod with hostPath volumes/.test(message)) return message;
  // Pod Security baseline: the same first field, in words of its own.
  const baseline = /^((?:spec|metadata)\S*): .*\(podSecurity: baseline\)$/.exec(message);
  if (baseline !== null) return `baseline: ${baseline[1]}`;
  // A debug container mounting a rooted mountgate volume whole: the same text, after the field.
  const rootMount = /^(?:spec\.ephemeralContainers\[\d+\]\.volumeMounts\[\d+\]: )?(ephemeral container .* whole, but the Pod's containers mount only paths below it .*)$/.exec(message);
  if (rootMount !== null) return rootMount[1] ?? '';
  throw new Error(`not a hostPath message: ${message}`);
}

function backstopGist(setup: Setup, message: string): string {
  const marker = `ValidatingAdmissionPolicy '${setup.name}' with binding '${setup.name}' denied request: `;
  const at = message.indexOf(marker);
  if (at === -1) throw new Error(`not denied by the backstop ${setup.name}: ${message}`);
  return gist(message.slice(at + marker.length));
}

/** What mountgate appends when a pattern would cover the path with other placeholder values; the backstop does not say it. */
const PATTERN_NOTE = / \("[^"]*" (?:does not apply: \{\w+\} is not filled, as .*|has \{\w+\} = "[^"]*" for this request)\)$/;

function mountgateGist(verdict: Verdict): string {
  const [first] = verdict.allowed ? [] : verdict.violations;
  if (first === undefined) throw new Error('a denial without a reason');
  const text = describeViolation(first);
  // The pattern note comes before the hand-written one.
  const handWritten = text.endsWith(HAND_WRITTEN_NOTE);
  const rest = handWritten ? text.slice(0, -HAND_WRITTEN_NOTE.length) : text;
  return gist(rest.replace(PATTERN_NOTE, '') + (handWritten ? HAND_WRITTEN_NOTE : ''));
}

function ephemeralUpdateRequest(pod: V1Pod, oldPod: V1Pod, namespace: string, userInfo: UserInfo): AdmissionRequest {
  const review = readAdmissionReview({
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: {
      uid: 'backstop-e2e',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      subResource: 'ephemeralcontainers',
      operation: 'UPDATE',
      namespace,
      userInfo,
      object: pod,
      oldObject: oldPod,
      dryRun: true,
    },
  });
  if (!review.ok) throw new Error(review.problems.join('; '));
  return review.request;
}

/** What was judged, for the summary line. */
const tally = { pods: 0, allowed: 0, denied: 0, invalid: 0, ephemeral: 0 };

function record(verdict: ApiVerdict): void {
  tally.pods++;
  tally[verdict.kind]++;
}

/** The Pod's name; everything else from the case. */
function named(pod: V1Pod, name: string): V1Pod {
  return { ...pod, apiVersion: 'v1', kind: 'Pod', metadata: { ...pod.metadata, name } };
}

async function judgeCreate(env: E2E, setup: Setup, pod: V1Pod, requester: Requester = adminOf(env)): Promise<void> {
  const body = named(pod, uniqueName('bs'));
  // As the API server asks: in the backstop's namespace, from the same user (the placeholders' values).
  const mine = decide('validate', podCreateRequest(body, requester.userInfo, 'backstop-e2e', setup.namespace), setup.policy);
  const theirs = await apiVerdict(requester.core.createNamespacedPod({ namespace: setup.namespace, body, dryRun: 'All' }));
  record(theirs);
  const what = `${setup.title} (as ${requester.userInfo.username ?? '?'}): ${JSON.stringify(pod.metadata?.annotations ?? {})} ${JSON.stringify(pod.spec).slice(0, 600)}`;
  if (theirs.kind === 'invalid') {
    expect(mine.allowed, `${what}: refused as invalid by the API server (${theirs.message}) but allowed by mountgate`).to.equal(false);
  } else {
    expect(theirs.kind === 'allowed', `${what}: backstop ${theirs.kind === 'denied' ? theirs.message : 'allowed'}; mountgate ${mine.allowed ? 'allowed' : denialMessage(mine.violations)}`).to.equal(mine.allowed);
    if (theirs.kind === 'denied') expect(backstopGist(setup, theirs.message), what).to.equal(mountgateGist(mine));
  }
  if (setup.webhookNamespace !== undefined) {
    const webhook = await apiVerdict(env.core.createNamespacedPod({ namespace: setup.webhookNamespace, body, dryRun: 'All' }));
    expect(webhook.kind === 'allowed', `${what}: the webhook's verdict ${webhook.kind === 'allowed' ? '' : webhook.message}`).to.equal(mine.allowed);
    if (webhook.kind === 'denied') {
      // The webhooks' first reason, whole: what decide() says first of the same Pod, sent there by the admin. (Only the
      // first: the API server copies AppArmor annotations into securityContext fields before the webhooks see the Pod.)
      const served = decide('validate', podCreateRequest(body, adminOf(env).userInfo, 'backstop-e2e', setup.webhookNamespace), setup.policy);
      const first = served.allowed ? '(allowed in-process)' : denialMessage(served.violations.slice(0, 1));
      const opening = [env.mutateWebhook, env.validateWebhook].map((name) => `admission webhook "${name}" denied the request: ${first}`);
      expect(
        opening.some((text) => webhook.message === text || webhook.message.startsWith(`${text}; `)),
        `${what}\nthe webhooks: ${webhook.message}\nin-process, first: ${first}`,
      ).to.equal(true);
    }
  }
}

/** Adds ephemeral containers to an existing Pod through pods/ephemeralcontainers, dry run, in both places. */
async function judgeEphemeral(env: E2E, setup: Setup, base: V1Pod, ephemeral: V1EphemeralContainer[]): Promise<void> {
  for (const namespace of [setup.namespace, ...(setup.webhookNamespace === undefined ? [] : [setup.webhookNamespace])]) {
    const name = uniqueName('bs-eph');
    const created = await env.core.createNamespacedPod({ namespace, body: named(base, name) });
    try {
      const updated: V1Pod = { ...created, spec: { ...(created.spec ?? { containers: [] }), ephemeralContainers: ephemeral } };
      const mine = decide('validate', ephemeralUpdateRequest(updated, created, namespace, adminOf(env).userInfo), setup.policy);
      const theirs = await apiVerdict(env.core.replaceNamespacedPodEphemeralcontainers({ namespace, name, body: updated, dryRun: 'All' }));
      tally.ephemeral++;
      record(theirs);
      const what = `${setup.title} (${namespace === setup.namespace ? 'backstop' : 'webhook'}): ephemeral ${JSON.stringify(ephemeral)}`;
      expect(theirs.kind === 'allowed', `${what}: ${theirs.kind === 'allowed' ? 'allowed' : theirs.message}`).to.equal(mine.allowed);
      if (theirs.kind === 'denied' && namespace === setup.namespace) expect(backstopGist(setup, theirs.message), what).to.equal(mountgateGist(mine));
    } finally {
      await deletePod(env.core, namespace, name);
    }
  }
}

/** Waits until the API server enforces the backstop in its namespace (policies load asynchronously). */
async function waitUntilEnforced(env: E2E, setup: Setup): Promise<void> {
  const probe = pod([['root', '/']], [container('c', [['root']])]);
  let last = '';
  for (let attempt = 0; attempt < 200; attempt++) {
    const verdict = await apiVerdict(env.core.createNamespacedPod({ namespace: setup.namespace, body: named(probe, uniqueName('probe')), dryRun: 'All' }));
    if (verdict.kind === 'denied' && verdict.message.includes(`ValidatingAdmissionPolicy '${setup.name}'`)) return;
    last = verdict.kind === 'allowed' ? 'allowed' : verdict.message;
    await sleep(100);
  }
  throw new Error(`the backstop ${setup.name} was not enforced within 20 s (last answer: ${last})`);
}

type MountSpec = [volume: string, readOnly?: boolean];

function container(name: string, mounts: MountSpec[] | undefined): V1Container {
  const base: V1Container = { name, image: 'registry.example/img:1' };
  if (mounts === undefined) return base;
  return {
    ...base,
    volumeMounts: mounts.map(([volume, readOnly], i) => ({ name: volume, mountPath: `/m/${i}`, ...(readOnly === undefined ? {} : { readOnly }) })),
  };
}

function pod(volumes: Array<[string, string]> | undefined, containers: V1Container[], initContainers?: V1Container[]): V1Pod {
  return {
    spec: {
      containers,
      ...(initContainers === undefined ? {} : { initContainers }),
      // Of type Directory, which creates nothing: the rows that judge the type say so.
      ...(volumes === undefined ? {} : { volumes: volumes.map(([name, path]): V1Volume => ({ name, hostPath: { path, type: 'Directory' } })) }),
    },
  };
}

/** One volume, mounted by one container. */
function single(path: string, readOnly?: boolean): V1Pod {
  return pod([['v', path]], [container('c', [['v', readOnly]])]);
}

const LONG_TAIL = 'x'.repeat(4096);
/** A path of exactly `length` UTF-16 code units under `prefix`, made of `unit` (one or two code units). */
function pathOfLength(prefix: string, length: number, unit = 'x'): string {
  const room = length - prefix.length - 1;
  const body = unit.repeat(Math.floor(room / unit.length)) + 'x'.repeat(room % unit.length);
  return `${prefix}/${body}`;
}

const TABLE: ReadonlyArray<[string, V1Pod]> = [
  ['no volumes at all', pod(undefined, [container('c', undefined)])],
  ['a hostPath volume no container mounts', pod([['v', '/srv/models/x']], [container('c', undefined)])],
  ['containers without volumeMounts beside one with', pod([['v', '/srv/sandbox/a']], [container('a', undefined), container('b', [['v']]), container('c', [])])],
  ['a prefix exactly', single('/srv/sandbox')],
  ['below a prefix', single('/srv/sandbox/a/b')],
  ['one trailing slash', single('/srv/sandbox/a/')],
  ['a lookalike sibling (/srv/sandbox2)', single('/srv/sandbox2')],
  ['a lookalike child of a sibling', single('/srv/sandbox2/a')],
  ['the parent of a prefix', single('/srv')],
  ['the root', single('/')],
  ['two slashes', single('//')],
  ['two trailing slashes', single('/srv/sandbox//')],
  ['an empty segment', single('/srv//sandbox')],
  ['a "." segment', single('/srv/sandbox/./a')],
  ['a trailing "."', single('/srv/sandbox/.')],
  ['a ".." segment (refused as invalid by the API server)', single('/srv/sandbox/../etc')],
  ['a trailing ".."', single('/srv/sandbox/..')],
  ['a "..." segment is a name', single('/srv/sandbox/...')],
  ['a ".x" segment is a name', single('/srv/sandbox/.x')],
  ['a relative path', single('srv/sandbox')],
  ['an empty path (refused as invalid by the API server)', single('')],
  ['a tab', single('/srv/sandbox/a\tb')],
  ['a newline', single('/srv/sandbox/a\n')],
  ['DEL', single('/srv/sandbox/\u007f')],
  ['NUL', single('/srv/sandbox/\u0000')],
  ['backslashes Windows reads as ".." segments', single('/srv/sandbox/x\\..\\..\\Windows')],
  ['a division slash lookalike', single('/srv/sandbox\u2215a')],
  ['a fullwidth solidus lookalike', single('/srv/sandbox\uff0fa')],
  ['4096 characters', single(pathOfLength('/srv/sandbox', 4096))],
  ['4097 characters', single(pathOfLength('/srv/sandbox', 4097))],
  ['4096 UTF-16 code units of emoji', single(pathOfLength('/srv/sandbox', 4096, '😀'))],
  ['4097 UTF-16 code units of emoji (fewer code points)', single(pathOfLength('/srv/sandbox', 4097, '😀'))],
  ['far too long', single(`/srv/sandbox/${LONG_TAIL}${LONG_TAIL}`)],
  ['read-only prefix, mounted read-only', single('/srv/models/x', true)],
  ['read-only prefix, readOnly false', single('/srv/models/x', false)],
  ['read-only prefix, readOnly left out', single('/srv/models/x')],
  ['read-only prefix exactly, read-write', single('/srv/models', false)],
  ['read-write inside read-only, read-write', single('/srv/models/scratch/x', false)],
  ['a lookalike of the read-write inside read-only', single('/srv/models/scratchy', false)],
  ['read-only inside read-write, read-write', single('/srv/sandbox/shared/x', false)],
  ['read-only inside read-write, read-only', single('/srv/sandbox/shared', true)],
  ['holds read-only entries below it, read-write: the longest in UTF-16 is named', single('/srv/sandbox', false)],
  ['holds read-only entries below it, read-only', single('/srv/sandbox', true)],
  ['holds one read-only entry below it, with a trailing slash', single('/srv/sandbox/deeper/', false)],
  ['holds a read-only entry two segments below it', single('/srv/sandbox/deeper/than', false)],
  ['a lookalike of a path holding a read-only entry', single('/srv/sandbox/deepe', false)],
  ['read-write inside read-only holds nothing read-only', single('/srv/models/scratch', false)],
  ['holds read-only below it, by an init container', pod([['v', '/srv/sandbox/deeper']], [container('c', [['v', true]])], [container('init', [['v']])])],
  ['a read-write mount of a read-only prefix named before a later one holding read-only below it', pod([['a', '/srv/sandbox'], ['b', '/skills/x']], [container('c', [['b'], ['a']])])],
  ['a prefix both read-only and read-write: read-only wins', single('/data/x', false)],
  ['quotes, <&> and non-ASCII in a prefix', single(`/srv/we ird'"<&>/données/x`, false)],
  ['a built-in read-only, read-only', single('/skills', true)],
  ['read-write by an init container', pod([['v', '/skills/a']], [container('c', [['v', true]])], [container('init', [['v']])])],
  ['read-only by an init container, read-write by a later container', pod([['v', '/skills/a']], [container('c', [['v', true]]), container('d', [['v', false]])], [container('init', [['v', true]])])],
  ['one read-write mount among many read-only ones', pod([['a', '/skills'], ['b', '/srv/models/q'], ['c', '/srv/sandbox']], [container('c', [['a', true], ['c'], ['b', true]]), container('d', [['c'], ['b']])])],
  ['the first of several bad volumes is named', pod([['ok', '/srv/sandbox'], ['bad1', '/etc'], ['bad2', '/srv//x']], [container('c', [['ok'], ['bad1'], ['bad2']])])],
  ['a bad volume and a read-write mount of a read-only one', pod([['ro', '/skills'], ['bad', '/var/run']], [container('c', [['ro'], ['bad']])])],
  // What the kubelet creates in a read-only host path (rule host-path-volume-creates).
  ['DirectoryOrCreate under a read-only prefix', typed('/srv/models/new', 'DirectoryOrCreate')],
  ['FileOrCreate under a read-only prefix', typed('/skills/SKILL.md', 'FileOrCreate')],
  ['DirectoryOrCreate under a read-write prefix', typed('/srv/sandbox/new', 'DirectoryOrCreate')],
  ['DirectoryOrCreate of a path holding a read-only entry below it', typed('/srv/sandbox', 'DirectoryOrCreate')],
  ['Directory under a read-only prefix', typed('/srv/models/x', 'Directory')],
  ['a subPath on a read-only mount of a read-only prefix', withMount('/srv/models/x', { readOnly: true, subPath: 'a/b' })],
  ['a subPathExpr on a read-only mount of a read-only prefix', withMount('/skills', { readOnly: true, subPathExpr: '$(POD_NAME)' })],
  ['a subPath on a read-only mount of a path holding a read-only entry below it', withMount('/srv/sandbox', { readOnly: true, subPath: 'shared/x' })],
  ['a subPath on a read-write prefix', withMount('/srv/sandbox/a', { subPath: 'x' })],
  ['an empty subPath on a read-only prefix', withMount('/srv/models/x', { readOnly: true, subPath: '' })],
  ['no type under a read-only prefix', { spec: { containers: [container('c', [['v', true]])], volumes: [{ name: 'v', hostPath: { path: '/srv/models/new' } }] } }],
  ['no type under a read-write prefix', { spec: { containers: [container('c', [['v']])], volumes: [{ name: 'v', hostPath: { path: '/srv/sandbox/new' } }] } }],
  [
    'no type under a read-only prefix, then a volume outside the lists',
    { spec: { containers: [container('c', [['new', true], ['etc', true]])], volumes: [{ name: 'new', hostPath: { path: '/srv/models/new' } }, { name: 'etc', hostPath: { path: '/etc' } }] } },
  ],
  ['a read-write mount with a subPath of a DirectoryOrCreate volume under a read-only prefix', { spec: { containers: [{ name: 'c', image: 'registry.example/img:1', volumeMounts: [{ name: 'v', mountPath: '/m', subPath: 'x' }] }], volumes: [{ name: 'v', hostPath: { path: '/srv/models/v', type: 'DirectoryOrCreate' } }] } }],
  // Under BUILTIN_POLICY a volume written by hand there is read-only by the built-in /srv/models, though /srv/models/scratch is read-write.
  ['DirectoryOrCreate inside read-write inside read-only', typed('/srv/models/scratch/new', 'DirectoryOrCreate')],
  ['a read-only mount with a subPath inside read-write inside read-only', { spec: { containers: [{ name: 'c', image: 'registry.example/img:1', volumeMounts: [{ name: 'v', mountPath: '/m', subPath: 'x', readOnly: true }] }], volumes: [{ name: 'v', hostPath: { path: '/srv/models/scratch/v', type: 'Directory' } }] } }],
];

/** One hostPath volume of `type`, mounted read-only by one container. */
function typed(path: string, type: string): V1Pod {
  return { spec: { containers: [container('c', [['v', true]])], volumes: [{ name: 'v', hostPath: { path, type } }] } };
}

/** One hostPath volume, mounted by one container with `mount`'s fields. */
function withMount(path: string, mount: Partial<V1VolumeMount>): V1Pod {
  return { spec: { containers: [{ name: 'c', image: 'registry.example/img:1', volumeMounts: [{ name: 'v', mountPath: '/m/0', ...mount }] }], volumes: [{ name: 'v', hostPath: { path, type: 'Directory' } }] } };
}

type Who = keyof typeof TEST_USERS | 'admin';

/** A Pod with one volume mounted once, and the sandbox-user annotation when given. */
function annotated(path: string, readOnly: boolean | undefined, sandboxUser?: string): V1Pod {
  const shape = single(path, readOnly);
  return sandboxUser === undefined ? shape : { ...shape, metadata: { annotations: { 'mountgate.io/sandbox-user': sandboxUser } } };
}

/** `{ns}` in a path stands for the setup's namespace. */
const PATTERN_TABLE: ReadonlyArray<[title: string, who: Who, pod: V1Pod]> = [
  ['{sandboxUser} from a provisioner trusted by group', 'carol', annotated('/srv/users/u3/a', false, 'u3')],
  ['{sandboxUser}: another user\'s tree', 'carol', annotated('/srv/users/u4', false, 'u3')],
  ['{sandboxUser} from a requester not trusted', 'bob', annotated('/srv/users/u3', false, 'u3')],
  ['{sandboxUser} from a user named "group:" and the trusted group, in no group', 'lookalike', annotated('/srv/users/u3', false, 'u3')],
  ['{sandboxUser} from a provisioner trusted by name, read-only below it mounted read-write', 'alice', annotated('/srv/users/u3/config/x', false, 'u3')],
  ['{sandboxUser}, read-only below it mounted read-only', 'alice', annotated('/srv/users/u3/config', true, 'u3')],
  ['{sandboxUser}: the tree holds a read-only pattern below it, read-write', 'alice', annotated('/srv/users/u3', false, 'u3')],
  ['{sandboxUser}: the tree holds a read-only pattern below it, read-only', 'alice', annotated('/srv/users/u3', true, 'u3')],
  ['{namespace}: the tree holds {namespace}/{user} read-only below it', 'alice', annotated('/srv/tenants/{ns}', false)],
  ['{namespace}: {namespace}/{user} outranked at its own prefix by {namespace}/carol read-write', 'carol', annotated('/srv/tenants/{ns}', false)],
  ['{user}: one\'s home holds {user}/notes read-only below it', 'alice', annotated('/srv/homes/alice', false)],
  ['{user}: {user}/notes outranked at its own prefix by a read-write literal', 'bob', annotated('/srv/homes/bob', false)],
  ['{user}: the outranked entry at its own prefix, read-write', 'bob', annotated('/srv/homes/bob/notes', false)],
  ['"*/*" holds "*/integrations/lark-cli/config" read-only below it', 'alice', annotated('/.deer-flow/users/u2/integrations', false)],
  ['"*/*" holds "*/threads/*/acp-workspace" read-only below it', 'alice', annotated('/.deer-flow/users/u2/threads', false)],
  ['"*/*" holds nothing read-only below a lookalike', 'alice', annotated('/.deer-flow/users/u2/threadsx', false)],
  ['"*/*" holds a read-only pattern below it, 4000-character segment', 'alice', annotated(`/.deer-flow/users/${'x'.repeat(4000)}/integrations`, true)],
  ['{sandboxUser} with a "/" in the annotation', 'carol', annotated('/srv/users/u3', false, 'u3/x')],
  ['{sandboxUser} with ".." in the annotation', 'carol', annotated('/srv/users/..', false, '..')],
  ['a sandbox user named by a requester not trusted, beside an allowed path', 'bob', annotated('/srv/homes/bob', true, 'u3')],
  ['a sandbox user named by a requester not trusted, beside a path outside', 'bob', annotated('/etc', true, 'u3')],
  ['a sandbox user named by a provisioner trusted by group, beside an allowed path', 'carol', annotated('/srv/homes/carol', true, 'u3')],
  ['a sandbox user named by a user spelled like the trusted group', 'lookalike', annotated('/srv/homes/x', true, 'u3')],
  ['{sandboxUser} empty', 'carol', annotated('/srv/users/x', false, '')],
  ['{sandboxUser} of 64 characters', 'carol', annotated(`/srv/users/${'u'.repeat(64)}`, false, 'u'.repeat(64))],
  ['{sandboxUser} of 65 characters', 'carol', annotated(`/srv/users/${'u'.repeat(65)}`, false, 'u'.repeat(65))],
  ['{sandboxUser} without the annotation', 'carol', annotated('/srv/users/u3', false)],
  ['{sandboxUser}, the parent of the tree', 'carol', annotated('/srv/users', false, 'u3')],
  ['{namespace}: its own tree', 'alice', annotated('/srv/tenants/{ns}/x', false)],
  // Under BUILTIN_POLICY: read-write by the allowed {namespace}/work, read-only by the first built-in pattern of its rank ("*").
  ['{namespace}/work: the first of two built-in patterns of one rank is named, not the one also allowed', 'alice', annotated('/srv/tenants/{ns}/work', false)],
  ['{namespace}: another namespace\'s tree', 'alice', annotated('/srv/tenants/default/x', false)],
  ['{namespace}/{user}: read-only, mounted read-write', 'alice', annotated('/srv/tenants/{ns}/alice/x', false)],
  ['{namespace}/{user}: read-only, mounted read-only', 'alice', annotated('/srv/tenants/{ns}/alice', true)],
  ['{namespace}/{user}: another user\'s, decided by {namespace}', 'bob', annotated('/srv/tenants/{ns}/alice', false)],
  ['{user}: one\'s own home', 'bob', annotated('/srv/homes/bob/x', false)],
  ['{user}: another\'s home', 'bob', annotated('/srv/homes/alice', false)],
  ['{user}: the admin\'s own name', 'admin', annotated('/srv/homes/admin', false)],
  ['"*/skills_view" read-only beats "*/*" read-write (a literal segment first)', 'alice', annotated('/.deer-flow/users/u2/skills_view/x', false)],
  ['"*/skills_view" mounted read-only', 'alice', annotated('/.deer-flow/users/u2/skills_view', true)],
  ['a literal prefix beats "*" of as many segments', 'alice', annotated('/.deer-flow/users/u1/skills_view', false)],
  ['"*/*" read-write beats a shorter read-only literal', 'alice', annotated('/.deer-flow/users/u2/other', false)],
  ['the shorter read-only literal alone', 'alice', annotated('/.deer-flow/users/u2', false)],
  ['a read-write pattern inside a read-only one', 'alice', annotated('/.deer-flow/users/u2/integrations/lark-cli/config/locks/x', false)],
  ['a read-only pattern inside "*/*"', 'alice', annotated('/.deer-flow/users/u2/integrations/lark-cli/config/x', false)],
  ['two "*" segments, read-only', 'alice', annotated('/.deer-flow/users/u2/threads/t1/acp-workspace', false)],
  ['two "*" segments, one segment short', 'alice', annotated('/.deer-flow/users/u2/threads/t1', false)],
  ['a lookalike of the literal before "*"', 'alice', annotated('/.deer-flow/usersx/u2/skills_view', true)],
  ['a lookalike of the literal after "*"', 'alice', annotated('/.deer-flow/users/u2/skills_viewx', false)],
  // Messages cut paths at 1024 characters: a denial names a path shorter than that.
  ['"*" matching a 4000-character segment, read-only', 'alice', annotated(`/.deer-flow/users/${'x'.repeat(4000)}/skills_view`, true)],
  ['"*" matching a 900-character segment, read-write', 'alice', annotated(`/.deer-flow/users/${'x'.repeat(900)}/skills_view`, false)],
  ['"*" matching "..." (a name)', 'alice', annotated('/.deer-flow/users/.../skills_view', false)],
  ['a trailing slash under a pattern', 'alice', annotated('/.deer-flow/users/u2/skills_view/', false)],
  ['an empty segment where "*" stands', 'alice', annotated('/.deer-flow/users//skills_view', true)],
];

function withNamespace(shape: V1Pod, namespace: string): V1Pod {
  return JSON.parse(JSON.stringify(shape).replaceAll('{ns}', namespace)) as V1Pod;
}

function requesterOf(env: E2E, who: Who): Requester {
  if (who === 'admin') return adminOf(env);
  const user = TEST_USERS[who];
  return { userInfo: { username: user.name, groups: [...user.groups] }, core: env.coreAs(user) };
}

/** A Pod of one read-only hostPath volume (allowed by every setup but one), its spec and first container changed. */
function breaking(spec: Partial<V1PodSpec>, first: Partial<V1Container> = {}, metadata: V1ObjectMeta = {}): V1Pod {
  const base = single('/skills', true);
  const containers = base.spec?.containers ?? [];
  return { metadata, spec: { ...base.spec, ...spec, containers: containers.map((c, i) => (i === 0 ? { ...c, ...first } : c)) } };
}

/** Pod Security baseline (podSecurity: baseline, the default of every setup): each control, and their order. */
const BASELINE: ReadonlyArray<[string, V1Pod]> = [
  ['baseline: a privileged container', breaking({}, { securityContext: { privileged: true } })],
  ['baseline: hostPID and a privileged container (the Pod\'s own fields first)', breaking({ hostPID: true }, { securityContext: { privileged: true } })],
  ['baseline: hostNetwork, hostIPC', breaking({ hostNetwork: true, hostIPC: true })],
  ['baseline: SYS_ADMIN after an allowed capability', breaking({}, { securityContext: { capabilities: { add: ['CHOWN', 'SYS_ADMIN'] } } })],
  ['baseline: a host port', breaking({}, { ports: [{ containerPort: 80 }, { containerPort: 81, hostPort: 8081 }] })],
  ['baseline: SELinux type, user and role of the Pod', breaking({ securityContext: { seLinuxOptions: { type: 'spc_t', user: 'u', role: 'r' } } })],
  ['baseline: an allowed SELinux type', breaking({ securityContext: { seLinuxOptions: { type: 'container_engine_t', level: 's0' } } })],
  ['baseline: seccomp Unconfined in the container', breaking({ securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }, { securityContext: { seccompProfile: { type: 'Unconfined' } } })],
  ['baseline: AppArmor Unconfined of the Pod', breaking({ securityContext: { appArmorProfile: { type: 'Unconfined' } } })],
  ['baseline: an AppArmor annotation', breaking({}, {}, { annotations: { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' } })],
  ['baseline: an unsafe sysctl after a safe one', breaking({ securityContext: { sysctls: [{ name: 'kernel.shm_rmid_forced', value: '1' }, { name: 'kernel.msgmax', value: '1' }] } })],
  ['baseline: a probe host', breaking({}, { readinessProbe: { tcpSocket: { port: 80, host: '10.0.0.1' } } })],
  ['baseline: a lifecycle host', breaking({}, { lifecycle: { preStop: { httpGet: { port: 80, host: '10.0.0.1' } } } })],
  ['baseline: a privileged init container after a compliant one', { ...breaking({}), spec: { ...breaking({}).spec, containers: breaking({}).spec?.containers ?? [], initContainers: [{ name: 'i', image: 'busybox', securityContext: { privileged: true } }] } }],
  ['baseline: what baseline allows, written out', breaking({ securityContext: { seccompProfile: { type: 'RuntimeDefault' }, sysctls: [{ name: 'net.ipv4.tcp_keepalive_time', value: '60' }] } }, { securityContext: { privileged: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, procMount: 'Default' }, ports: [{ containerPort: 80 }] })],
  ['baseline: a privileged container and a read-only path mounted read-write (the path first)', breaking({}, { securityContext: { privileged: true }, volumeMounts: [{ name: 'v', mountPath: '/m/0' }] })],
  ['baseline: AppArmor annotations of five containers, all unconfined (the least key named first)', (() => {
    const base = breaking({});
    const names = ['e', 'b', 'd', 'a', 'c'];
    const containers = names.map((name) => ({ ...(base.spec?.containers?.[0] ?? { name }), name }));
    const annotations = Object.fromEntries(names.map((name) => [`container.apparmor.security.beta.kubernetes.io/${name}`, 'unconfined']));
    return { metadata: { annotations }, spec: { ...base.spec, containers } };
  })()],
  ['baseline: a bad capability twice', breaking({}, { securityContext: { capabilities: { add: ['SYS_ADMIN', 'CHOWN', 'SYS_ADMIN'] } } })],
  ['baseline: an unsafe sysctl twice', breaking({ securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }, { name: 'kernel.shm_rmid_forced', value: '1' }, { name: 'kernel.msgmax', value: '1' }] } })],
  ['baseline: a privileged sidecar (an init container with restartPolicy Always) and a host port in containers[0]', (() => {
    const base = breaking({}, { ports: [{ containerPort: 80, hostPort: 8080 }] });
    return { ...base, spec: { ...base.spec, containers: base.spec?.containers ?? [], initContainers: [{ name: 'side', image: 'busybox', restartPolicy: 'Always', securityContext: { privileged: true } }] } };
  })()],
  ['baseline: a privileged Pod without hostPath volumes (not mountgate\'s)', { spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] } }],
];

const EPHEMERAL: ReadonlyArray<[string, V1Pod, V1EphemeralContainer[]]> = [
  ['a privileged ephemeral container', single('/srv/models/x', true), [{ name: 'debug', image: 'busybox', securityContext: { privileged: true } }]],
  ['an ephemeral container with SYS_PTRACE', single('/srv/models/x', true), [{ name: 'debug', image: 'busybox', securityContext: { capabilities: { add: ['SYS_PTRACE'] } } }]],
  ['an ephemeral container mounts a read-only prefix read-write', single('/srv/models/x', true), [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/debug' }] }]],
  ['an ephemeral container mounts a read-only prefix read-only', single('/srv/models/x', true), [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/debug', readOnly: true }] }]],
  ['an ephemeral container mounts a read-write prefix read-write', single('/srv/sandbox/x', false), [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/debug' }] }]],
  ['an ephemeral container without volumeMounts', single('/srv/models/x', true), [{ name: 'debug', image: 'busybox' }]],
  ['an ephemeral container mounts a read-only pattern read-write', single('/.deer-flow/users/u2/skills_view/x', true), [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/debug' }] }]],
  ['an ephemeral container mounts a read-write pattern read-write', single('/.deer-flow/users/u2/integrations/lark-cli/config/locks', false), [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/debug' }] }]],
  ['an ephemeral container mounts read-write a path holding a read-only pattern', single('/.deer-flow/users/u2/integrations', true), [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/debug' }] }]],
];

/** Paths a Pod of the corpus may carry: inside, beside and across the tricky policy's prefixes, and hostile ones. */
const corpusPath = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('/srv/sandbox', '/srv/models', '/srv/models/scratch', '/srv/sandbox/shared', '/skills', '/data', '/.deer-flow/threads', '/srv/datasets', '/.deer-flow/users', '/.deer-flow/skills_view', '/.deer-flow/integrations/lark-cli/sandbox-cli'), fc.array(fc.constantFrom('a', 'b', 'scratch', 'shared', '.x', 'deeper', 'than', 'integrations', 'lark-cli'), { maxLength: 3 }), fc.constantFrom('', '', '/')).map(([prefix, rest, tail]) => [prefix, ...rest].join('/') + tail) },
  { weight: 2, arbitrary: fc.constantFrom('/srv/sandbox2', '/srv/models2/a', '/srv/models/scratchy', '/skillsx', '/srv', '/', '/data2', '/.deer-flow', '/.deer-flow/integrations/lark-cli', '/.deer-flow/usersx') },
  { weight: 3, arbitrary: hostilePath },
);

/** Valid Pods apart from their paths: unique names, every mount naming a volume of the Pod. */
const corpusPod = fc
  .array(corpusPath, { maxLength: 4 })
  .chain((paths) => {
    const mounts = fc.option(
      fc.uniqueArray(fc.tuple(fc.nat({ max: Math.max(0, paths.length - 1) }), fc.option(fc.boolean(), { nil: undefined })), { selector: ([index]) => index, maxLength: paths.length }),
      { nil: undefined, freq: 5 },
    );
    return fc.record({ paths: fc.constant(paths), containers: fc.array(mounts, { minLength: 1, maxLength: 3 }), init: fc.array(mounts, { maxLength: 2 }) });
  })
  .map(({ paths, containers, init }) => {
    const volumeNames = paths.map((_, i) => `v${i}`);
    const make = (prefix: string) => (spec: Array<[number, boolean | undefined]> | undefined, i: number): V1Container =>
      container(`${prefix}${i}`, spec === undefined || paths.length === 0 ? undefined : spec.map(([index, readOnly]): MountSpec => [volumeNames[index] ?? 'v0', readOnly]));
    return pod(
      paths.length === 0 ? undefined : paths.map((path, i): [string, string] => [volumeNames[i] ?? `v${i}`, path]),
      containers.map(make('c')),
      init.length === 0 ? undefined : init.map(make('i')),
    );
  });

const CORPUS_RUNS = 80;

/**
 * A big Pod: `volumes` hostPath volumes (even ones under the read-only /srv/models, odd ones under
 * /srv/sandbox, each path `pathLength` long), `containers` containers each mounting `mounts`
 * volumes in turn, read-only where the prefix is; `writeReadOnly` makes the last container's
 * last mount of a read-only volume read-write.
 */
function bigPod(volumes: number, containers: number, mounts: number, pathLength: number, writeReadOnly: boolean): V1Pod {
  const paths: Array<[string, string]> = Array.from({ length: volumes }, (_, i) => [`v${i}`, pathOfLength(i % 2 === 0 ? `/srv/models/v${i}` : `/srv/sandbox/v${i}`, pathLength)]);
  const list = Array.from({ length: containers }, (_, c) =>
    container(`c${c}`, Array.from({ length: mounts }, (_, m): MountSpec => [`v${m % volumes}`, m % volumes % 2 === 0])),
  );
  const last = [...(list[list.length - 1]?.volumeMounts ?? [])].reverse().find((mount) => mount.readOnly === true);
  if (writeReadOnly && last !== undefined) last.readOnly = false;
  return pod(paths, list);
}

/**
 * `shape` with a subPath on every mount of a read-write volume, and on the last container's last
 * read-only mount (a read-only volume's), which the rule then refuses.
 */
function withSubPaths(shape: V1Pod): V1Pod {
  const containers = shape.spec?.containers ?? [];
  for (const each of containers) for (const mount of each.volumeMounts ?? []) if (mount.readOnly !== true) mount.subPath = 'sub';
  const last = [...(containers.at(-1)?.volumeMounts ?? [])].reverse().find((mount) => mount.readOnly === true);
  if (last !== undefined) last.subPath = 'sub';
  return shape;
}

/** Every container of a big Pod breaks Pod Security baseline at the end of its fields, the last container first of all. */
function breakingEverywhere(shape: V1Pod): V1Pod {
  const containers = shape.spec?.containers ?? [];
  containers.forEach((each, i) => {
    each.ports = Array.from({ length: 20 }, (_, p) => ({ containerPort: 1000 + p, ...(i === containers.length - 1 && p === 19 ? { hostPort: 2000 } : {}) }));
    each.securityContext = { capabilities: { add: ['CHOWN', 'KILL', 'SETUID', 'SETGID', 'FOWNER'] }, seccompProfile: { type: 'RuntimeDefault' } };
    each.readinessProbe = { tcpSocket: { port: 1000, host: i === containers.length - 1 ? '10.0.0.1' : '' } };
  });
  return shape;
}

/**
 * A big Pod under patterns: `volumes` volumes /.deer-flow/users/<a segment `pathLength` long>/integrations, each
 * holding a read-only pattern below it, mounted read-only by every container.
 */
function bigHoldingPod(volumes: number, containers: number, pathLength: number): V1Pod {
  const paths: Array<[string, string]> = Array.from({ length: volumes }, (_, i) => [`v${i}`, `/.deer-flow/users/${String(i).padStart(pathLength - 32, 'x')}/integrations`]);
  const list = Array.from({ length: containers }, (_, c) => container(`c${c}`, Array.from({ length: volumes }, (_, m): MountSpec => [`v${m}`, true])));
  return pod(paths, list);
}

/** A big Pod under patterns: `volumes` read-only volumes /.deer-flow/users/<a segment `pathLength` long>/skills_view, each mounted read-only by every container. */
function bigPatternPod(volumes: number, containers: number, pathLength: number): V1Pod {
  const paths: Array<[string, string]> = Array.from({ length: volumes }, (_, i) => [`v${i}`, `/.deer-flow/users/${String(i).padStart(pathLength - 31, 'x')}/skills_view`]);
  const list = Array.from({ length: containers }, (_, c) => container(`c${c}`, Array.from({ length: volumes }, (_, m): MountSpec => [`v${m}`, true])));
  return pod(paths, list);
}

describe('e2e: the backstop (ValidatingAdmissionPolicy) agrees with mountgate', function () {
  const setups: Setup[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  before(async function () {
    this.timeout(120_000);
    const env = e2e();
    const servedPolicy = parsePolicy(await readFile(env.mountgate.options.policy, 'utf8'), env.mountgate.options.policy);
    const candidates = [
      { title: 'the policy mountgate serves', policy: servedPolicy, webhookNamespace: env.enabledNs },
      { title: 'a policy with nested and odd prefixes', policy: parsePolicy(JSON.stringify(TRICKY_POLICY), 'tricky.json'), webhookNamespace: undefined },
      { title: 'the shipped deer-flow profile', policy: parsePolicy(await readFile(EXAMPLE_POLICY, 'utf8'), EXAMPLE_POLICY), webhookNamespace: undefined },
      { title: 'the per-user deer-flow example', policy: parsePolicy(await readFile(PER_USER_POLICY, 'utf8'), PER_USER_POLICY), webhookNamespace: undefined },
      { title: 'a policy with every kind of pattern', policy: parsePolicy(JSON.stringify(PATTERN_POLICY), 'patterns.json'), webhookNamespace: undefined },
      { title: 'a policy with every kind of pattern, with handWrittenHostPaths: builtin', policy: parsePolicy(JSON.stringify({ ...PATTERN_POLICY, handWrittenHostPaths: 'builtin' }), 'patterns-builtin.json'), webhookNamespace: undefined },
      { title: 'handWrittenHostPaths: builtin over the prefixes of the corpus', policy: parsePolicy(JSON.stringify(BUILTIN_POLICY), 'builtin.json'), webhookNamespace: undefined },
      { title: 'the shipped agent-sandbox profile (handWrittenHostPaths: builtin)', policy: parsePolicy(await readFile(AGENT_SANDBOX_POLICY, 'utf8'), AGENT_SANDBOX_POLICY), webhookNamespace: undefined },
    ];
    const rbac = env.cp.admin.makeApiClient(RbacAuthorizationV1Api);
    for (const candidate of candidates) {
      const name = uniqueName('mg-e2e-backstop');
      const namespace = name;
      await env.core.createNamespace({ body: { metadata: { name: namespace, labels: { [SELECT_LABEL]: name } } } });
      cleanups.push(() => ignoreNotFound(env.core.deleteNamespace({ name: namespace })));
      // The test users create Pods there too: their names and groups fill the placeholders.
      await grantPodAccess(rbac, namespace);
      const objects = backstop(candidate.policy, { ...DEFAULT_BACKSTOP_OPTIONS, name, namespaceSelector: { matchLabels: { [SELECT_LABEL]: name } } });
      await env.admissionApi.createValidatingAdmissionPolicy({ body: objects.policy });
      cleanups.push(() => ignoreNotFound(env.admissionApi.deleteValidatingAdmissionPolicy({ name })));
      await env.admissionApi.createValidatingAdmissionPolicyBinding({ body: objects.binding });
      cleanups.push(() => ignoreNotFound(env.admissionApi.deleteValidatingAdmissionPolicyBinding({ name })));
      const setup: Setup = { ...candidate, name, namespace };
      await waitUntilEnforced(env, setup);
      setups.push(setup);
    }
  });

  after(async function () {
    this.timeout(60_000);
    for (const cleanup of cleanups.reverse()) await cleanup();
    console.log(
      `      backstop differential: ${tally.pods} verdicts (${tally.ephemeral} of them ephemeral-container updates): ` +
        `${tally.allowed} allowed, ${tally.denied} denied, ${tally.invalid} refused as invalid before admission`,
    );
  });

  for (const [title, shape] of TABLE) {
    it(`agrees: ${title}`, async function () {
      this.timeout(30_000);
      for (const setup of setups) await judgeCreate(e2e(), setup, shape);
    });
  }

  for (const [title, shape] of BASELINE) {
    it(`agrees: ${title}`, async function () {
      this.timeout(30_000);
      for (const setup of setups) await judgeCreate(e2e(), setup, shape);
    });
  }

  for (const [title, who, shape] of PATTERN_TABLE) {
    it(`agrees on a pattern policy: ${title}`, async function () {
      this.timeout(30_000);
      const env = e2e();
      for (const setup of setups) await judgeCreate(env, setup, withNamespace(shape, setup.namespace), requesterOf(env, who));
    });
  }

  it('agrees through pods/ephemeralcontainers: a debug container mounting whole a mountgate volume its containers mount with subPaths (created where only the backstop judges)', async function () {
    this.timeout(60_000);
    const env = e2e();
    const root = '/srv/sandbox';
    const volume = volumeName(root);
    const base = pod([[volume, root]], [container('c', undefined)]);
    const spec = base.spec ?? { containers: [] };
    spec.containers = [{ name: 'c', image: 'registry.example/img:1', volumeMounts: [{ name: volume, mountPath: '/work', subPath: 'alice/work' }] }];
    const rows: Array<[string, V1EphemeralContainer[]]> = [
      ['whole', [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: volume, mountPath: '/host', readOnly: true }] }]],
      ['another volume only', [{ name: 'debug', image: 'busybox' }]],
    ];
    const admitting = setups.filter((setup) => setup.webhookNamespace === undefined || setup.title === 'the policy mountgate serves');
    let judged = 0;
    for (const setup of admitting) {
      for (const [what, ephemeral] of rows) {
        const name = uniqueName('bs-root');
        const created = await env.core.createNamespacedPod({ namespace: setup.namespace, body: named(base, name) }).catch((error: unknown) => {
          if (error instanceof ApiException && error.code === 403) return undefined;
          throw error;
        });
        // Only where the backstop admits the Pod itself (its policy allows /srv/sandbox).
        if (created === undefined) continue;
        try {
          const updated: V1Pod = { ...created, spec: { ...(created.spec ?? { containers: [] }), ephemeralContainers: ephemeral } };
          const mine = decide('validate', ephemeralUpdateRequest(updated, created, setup.namespace, adminOf(env).userInfo), setup.policy);
          const theirs = await apiVerdict(env.core.replaceNamespacedPodEphemeralcontainers({ namespace: setup.namespace, name, body: updated, dryRun: 'All' }));
          const where = `${setup.title}: ${what}`;
          expect(theirs.kind === 'allowed', `${where}: ${theirs.kind === 'allowed' ? 'allowed' : theirs.message}`).to.equal(mine.allowed);
          expect(mine.allowed, where).to.equal(what !== 'whole');
          if (theirs.kind === 'denied') expect(backstopGist(setup, theirs.message), where).to.equal(mountgateGist(mine));
          judged++;
        } finally {
          await deletePod(env.core, setup.namespace, name);
        }
      }
    }
    expect(judged).to.be.at.least(4);
  });

  for (const [title, base, ephemeral] of EPHEMERAL) {
    it(`agrees through pods/ephemeralcontainers: ${title}`, async function () {
      this.timeout(30_000);
      const env = e2e();
      // Only where the Pod itself may be created: the ephemeral container is what is judged.
      const admitting = setups.filter((setup) => decide('validate', podCreateRequest(named(base, 'base'), adminOf(env).userInfo, 'backstop-e2e', setup.namespace), setup.policy).allowed);
      expect(admitting.map((setup) => setup.title)).to.include('a policy with every kind of pattern');
      for (const setup of admitting) await judgeEphemeral(env, setup, base, ephemeral);
    });
  }

  // The API server stops a CEL expression at 1,000,000 cost units (a binding at 10,000,000): a Pod
  // this big must still be judged, not refused with a cost error.
  const big: ReadonlyArray<[string, V1Pod]> = [
    ['100 volumes x 10 containers x 100 mounts', bigPod(100, 10, 100, 40, false)],
    ['100 volumes x 10 containers x 100 mounts, the last one read-write under a read-only prefix', bigPod(100, 10, 100, 40, true)],
    ['100 volumes of 4096-character paths x 10 containers x 100 mounts', bigPod(100, 10, 100, 4096, false)],
    ['100 volumes x 100 containers x 100 mounts', bigPod(100, 100, 100, 40, false)],
    ['100 volumes of 4096-character paths under a pattern x 10 containers x 100 mounts', bigPatternPod(100, 10, 4096)],
    ['100 volumes of 4096-character paths holding a read-only pattern below them x 10 containers x 100 mounts', bigHoldingPod(100, 10, 4096)],
    ['100 volumes x 100 containers x 100 mounts, each read-write one with a subPath, and the last read-only one', withSubPaths(bigPod(100, 100, 100, 40, false))],
    ['100 volumes x 100 containers x 100 mounts, each container with 20 ports, 5 capabilities and a probe, the last one breaking Pod Security baseline', breakingEverywhere(bigPod(100, 100, 100, 40, false))],
  ];
  for (const [title, shape] of big) {
    it(`agrees without a CEL cost error on a big Pod: ${title}`, async function () {
      this.timeout(60_000);
      for (const setup of setups) await judgeCreate(e2e(), setup, shape);
    });
  }

  it('stays within the cost limits on a debug of a big Pod whose mountgate volumes are rooted: a debugger with 1 and with 5 whole mounts', async function () {
    this.timeout(600_000);
    const env = e2e();
    const setup = setups[0];
    if (setup === undefined) throw new Error('no setup');
    // 100 containers x 100 mounts, every volume a mountgate one mounted with a subPath, as volumeRoot: writableAncestor has them.
    const before = named(bigPod(100, 100, 100, 40, false), 'big-rooted');
    for (const volume of before.spec?.volumes ?? []) volume.name = `mountgate-${volume.name}`;
    for (const each of before.spec?.containers ?? []) for (const mount of each.volumeMounts ?? []) Object.assign(mount, { name: `mountgate-${mount.name}`, subPath: 'sub' });
    const oldFile = path.join(env.dir, 'backstop-debug-old.json');
    await writeFile(oldFile, JSON.stringify(before));
    const requestFile = path.join(env.dir, 'backstop-debug-request.json');
    await writeFile(requestFile, JSON.stringify({ namespace: setup.namespace, operation: 'UPDATE', subResource: 'ephemeralcontainers', userInfo: { username: 'alice', groups: [] } }));
    const files: string[] = [];
    const counts = [1, 5];
    for (const count of counts) {
      const debuggerContainer = { name: 'debugger', image: 'busybox', volumeMounts: Array.from({ length: count }, (_, i) => ({ name: `mountgate-v${i}`, mountPath: `/host/${i}`, readOnly: true })) };
      const file = path.join(env.dir, `backstop-debug-${count}.json`);
      await writeFile(file, JSON.stringify({ ...before, spec: { ...before.spec, ephemeralContainers: [debuggerContainer] } }));
      files.push(file);
    }
    const policyFile = path.join(env.dir, `backstop-policy-${setup.name}-debug.json`);
    await writeFile(policyFile, JSON.stringify(backstop(setup.policy).policy));
    const result = await celcost(env.dir, '1.29', policyFile, files, requestFile, oldFile);
    expect(result.compileError).to.equal(undefined);
    for (const [i, pod] of result.pods.entries()) {
      const rootMounters = pod.costs.find((c) => c.where === 'variables.rootMounters');
      for (const { where, cost, error } of pod.costs) {
        expect(error, `${counts[i]} whole mounts: ${where}`).to.equal(undefined);
        expect(cost, `${counts[i]} whole mounts: ${where}`).to.be.below(1_000_000);
      }
      // The rule itself ran over the Pod's mounts: a cost that could not have come from an empty list.
      expect(rootMounters?.cost ?? 0).to.be.above(100_000);
      console.log(`      CEL cost, a debugger with ${counts[i]} whole mounts of a 100 x 100 Pod's rooted volumes: ${pod.total} in all; variables.rootMounters ${rootMounters?.cost ?? 0}`);
    }
  });

  it('compiles in the CEL environment a 1.30 API server checks new expressions against (1.29), within the cost limits on big Pods', async function () {
    this.timeout(600_000);
    const env = e2e();
    const setup = setups[0];
    if (setup === undefined) throw new Error('no setup');
    const files: string[] = [];
    for (const [i, [, shape]] of big.entries()) {
      const file = path.join(env.dir, `backstop-big-${i}.json`);
      await writeFile(file, JSON.stringify(named(shape, `big-${i}`)));
      files.push(file);
    }
    // As the API server asks: from a trusted provisioner (so that every placeholder is filled), in the setup's namespace.
    const requestFile = path.join(env.dir, 'backstop-request.json');
    for (const each of setups) {
      const policyFile = path.join(env.dir, `backstop-policy-${each.name}.json`);
      await writeFile(policyFile, JSON.stringify(backstop(each.policy).policy));
      await writeFile(requestFile, JSON.stringify({ namespace: each.namespace, userInfo: { username: 'alice', groups: ['deer-flow-provisioners'] } }));
      const result = await celcost(env.dir, '1.29', policyFile, files, requestFile);
      expect(result.compileError, `${each.title}: compile error in the 1.29 environment`).to.equal(undefined);
      expect(result.compiled).to.equal(41);
      for (const [i, pod] of result.pods.entries()) {
        const title = `${each.title}, ${big[i]?.[0] ?? pod.file}`;
        for (const { where, cost, error } of pod.costs) {
          expect(error, `${title}: ${where}`).to.equal(undefined);
          expect(cost, `${title}: ${where}`).to.be.below(1_000_000);
        }
        expect(pod.total, title).to.be.below(10_000_000);
        const worst = [...pod.costs].sort((a, b) => b.cost - a.cost)[0];
        console.log(`      CEL cost, ${title}: ${pod.total} in all; most ${worst?.cost ?? 0} (${worst?.where ?? '-'}); limits 1,000,000 per expression, 10,000,000 per binding`);
      }
    }
    const policyFile = path.join(env.dir, `backstop-policy-${setup.name}.json`);
    // The same tool refuses what a 1.30 API server would: strings.quote came with 1.29.
    const older = await celcost(env.dir, '1.28', policyFile, []);
    expect(older.compileError).to.contain("undeclared reference to 'strings'");
  });

  // Which read-only patterns with a placeholder and no "*" decide at their own prefix is worked out
  // once per request, comparing each with every entry: the cost grows with their number times the policy's.
  it('judges every Pod within the cost limit under 200 entries, 100 of them read-only patterns with placeholders and no "*"', async function () {
    this.timeout(600_000);
    const env = e2e();
    const entries = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0 ? { pathPrefix: `/srv/t${i}/{namespace}/{user}/ro`, readOnly: true } : i % 4 === 1 ? { pathPrefix: `/srv/t${i}/{namespace}/{user}/rw` } : { pathPrefix: `/srv/l${i}/a/b/c`, readOnly: true },
    );
    const policyFile = path.join(env.dir, 'backstop-policy-200.json');
    await writeFile(policyFile, JSON.stringify(backstop(parsePolicy(JSON.stringify({ allowedHostPaths: entries }), 'many.json')).policy));
    const podFile = path.join(env.dir, 'backstop-pod-200.json');
    await writeFile(podFile, JSON.stringify(named(pod([['v', '/srv/t1/ns/alice']], [container('c', [['v']])]), 'many')));
    const requestFile = path.join(env.dir, 'backstop-request-200.json');
    await writeFile(requestFile, JSON.stringify({ namespace: 'ns', userInfo: { username: 'alice', groups: [] } }));
    const result = await celcost(env.dir, '1.29', policyFile, [podFile], requestFile);
    expect(result.compileError).to.equal(undefined);
    const costs = result.pods[0]?.costs ?? [];
    for (const { where, cost, error } of costs) {
      expect(error, where).to.equal(undefined);
      expect(cost, where).to.be.below(1_000_000);
    }
    const below = costs.find((c) => c.where === 'variables.readOnlyBelow')?.cost ?? 0;
    // 15 to 25 a pair of entries (docs/reference.md): the comparison does run, and costs no more than that.
    expect(below).to.be.within(100 * 200 * 10, 100 * 200 * 40);
    console.log(`      CEL cost of readOnlyBelow, 100 such patterns among 200 entries: ${below}`);
  });

  // The API server compiles no CEL expression over 100,000 code points: backstop() refuses a policy whose entries would
  // make one (test/backstop), rather than print a ValidatingAdmissionPolicy that kubectl apply and helm install fail on.
  it(`stores a backstop whose entries make an expression of exactly ${MAX_CEL_EXPRESSION_LENGTH} characters, and refuses one of a character more`, async function () {
    this.timeout(60_000);
    const env = e2e();
    const entries = Array.from({ length: 700 }, (_, i) => ({ pathPrefix: `/srv/tenants/team-${i}/projects`, readOnly: i % 3 === 0 }));
    const base = backstop(parsePolicy(JSON.stringify({ allowedHostPaths: entries }), 'long.json')).policy;
    const spec = base.spec;
    if (spec === undefined) throw new Error('no spec');
    const rows: Array<[length: number, stored: boolean]> = [
      [MAX_CEL_EXPRESSION_LENGTH, true],
      [MAX_CEL_EXPRESSION_LENGTH + 1, false],
    ];
    for (const [length, stored] of rows) {
      const name = uniqueName('mg-e2e-long');
      // Padded with spaces: the API server counts the expression's text, as backstop() does.
      const variables = (spec.variables ?? []).map((v) => (v.name === 'policyEntries' ? { ...v, expression: v.expression + ' '.repeat(length - [...v.expression].length) } : v));
      const create = env.admissionApi.createValidatingAdmissionPolicy({ body: { ...base, metadata: { name }, spec: { ...spec, variables } } });
      if (stored) {
        await create;
        await env.admissionApi.deleteValidatingAdmissionPolicy({ name });
      } else {
        const status = await apiError(create);
        expect(status.code).to.equal(422);
        expect(status.message).to.contain(`spec.variables[0].expression`).and.to.contain(`expression code point size exceeds limit: size: ${length}, limit ${MAX_CEL_EXPRESSION_LENGTH}`);
      }
    }
  });

  // A policy near the largest backstop() accepts is still cheap enough for deer-flow's fullest sandbox Pod (some 360,000 units).
  it("judges deer-flow's fullest sandbox Pod within the cost limits under a policy near the largest backstop() accepts: the shipped profile and 1,140 more entries (1,200 are refused)", async function () {
    this.timeout(600_000);
    const env = e2e();
    const shipped = parsePolicy(await readFile(EXAMPLE_POLICY, 'utf8'), EXAMPLE_POLICY);
    const more = (count: number): unknown => ({
      ...shipped.spec,
      allowedHostPaths: [...shipped.spec.allowedHostPaths, ...Array.from({ length: count }, (_, i) => ({ pathPrefix: `/srv/tenants/team-${i}/projects`, readOnly: i % 3 === 0 }))],
    });
    expect(() => backstop(parsePolicy(JSON.stringify(more(1200)), 'more.json'))).to.throw('over the 100000 the API server compiles');
    const policyFile = path.join(env.dir, 'backstop-policy-largest.json');
    await writeFile(policyFile, JSON.stringify(backstop(parsePolicy(JSON.stringify(more(1140)), 'more.json')).policy));
    const podFile = path.join(env.dir, 'backstop-pod-deer-flow.json');
    const all = Object.values(extraMountsFor('u3', 't-4c1e')).filter((m) => m.containerPath !== '/mnt/skills/custom');
    await writeFile(podFile, JSON.stringify(deerFlowSandboxPod({ sandboxId: 'largest', userId: 'u3', threadId: 't-4c1e', extraMounts: all, larkBroker: true })));
    const requestFile = path.join(env.dir, 'backstop-request-deer-flow.json');
    await writeFile(requestFile, JSON.stringify({ namespace: 'deer-flow', userInfo: { username: 'system:serviceaccount:deer-flow:deer-flow-deer-flow-provisioner', groups: [] } }));
    const result = await celcost(env.dir, '1.29', policyFile, [podFile], requestFile);
    expect(result.compileError).to.equal(undefined);
    const judged = result.pods[0];
    if (judged === undefined) throw new Error('no Pod judged');
    for (const { where, cost, error } of judged.costs) {
      expect(error, where).to.equal(undefined);
      expect(cost, where).to.be.below(1_000_000);
    }
    expect(judged.total).to.be.below(10_000_000);
    console.log(`      CEL cost, deer-flow's fullest sandbox Pod under a policy of some 1,150 entries: ${judged.total} in all`);
  });

  // deer-flow's sandbox Pods as its provisioner builds them (hostPath mode) pass the shipped profile's backstop, as they pass mountgate.
  const X = extraMountsFor('u3', 't-4c1e');
  const deerFlowRequests: Array<[string, Omit<SandboxRequest, 'sandboxId'>]> = [
    ['default user, no extra mounts', {}],
    ['every extra mount the provisioner accepts', { userId: 'u3', threadId: 't-4c1e', extraMounts: [X.acpWorkspace, X.integrationSkills, X.larkConfig, X.larkLocks, X.larkData, X.larkRuntime] }],
    ['Lark Pattern A: init container and emptyDir runtime', { userId: 'u3', threadId: 't-4c1e', extraMounts: [X.larkConfig, X.larkLocks, X.larkData, X.larkRuntime], larkRuntime: true }],
    ['Lark Pattern B: broker sidecar holding the credentials', { userId: 'u3', threadId: 't-4c1e', extraMounts: [X.acpWorkspace, X.larkConfig, X.larkLocks, X.larkData, X.larkRuntime], larkBroker: true }],
    ['user data PVC, skills on hostPath', { userId: 'u3', threadId: 't-4c1e', pvc: { userDataClaim: 'deer-flow-home' }, extraMounts: [X.acpWorkspace] }],
  ];
  for (const [title, request] of deerFlowRequests) {
    it(`admits deer-flow's sandbox Pod under the shipped profile, as mountgate does: ${title}`, async function () {
      const env = e2e();
      const setup = setups.find((s) => s.title === 'the shipped deer-flow profile');
      if (setup === undefined) throw new Error('no setup of the shipped deer-flow profile');
      const body = named(deerFlowSandboxPod({ ...request, sandboxId: 'x' }), uniqueName('sandbox'));
      const mine = decide('validate', podCreateRequest(body, adminOf(env).userInfo, 'backstop-e2e', setup.namespace), setup.policy);
      expect(mine.allowed, mine.allowed ? '' : denialMessage(mine.violations)).to.equal(true);
      expect(await apiVerdict(env.core.createNamespacedPod({ namespace: setup.namespace, body, dryRun: 'All' }))).to.deep.equal({ kind: 'allowed' });
    });
  }

  // docs/reference.md, "Where the backstop is looser than mountgate": a mount point inside a read-only mount is mountgate's alone.
  it('admits what only mountgate refuses: another mount whose mount point lies inside a read-only mount of a read-only host path', async function () {
    const env = e2e();
    const setup = setups.find((s) => s.title === 'the policy mountgate serves');
    if (setup === undefined) throw new Error('no setup of the served policy');
    const body: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: uniqueName('bs-mount-point') },
      spec: {
        containers: [{ name: 'c', image: 'registry.example/img:1', volumeMounts: [{ name: 'models', mountPath: '/m', readOnly: true }, { name: 'scratch', mountPath: '/m/new' }] }],
        volumes: [{ name: 'models', hostPath: { path: '/srv/models/x', type: 'Directory' } }, { name: 'scratch', emptyDir: {} }],
      },
    };
    const mine = decide('validate', podCreateRequest(body, adminOf(env).userInfo, 'backstop-e2e', setup.namespace), setup.policy);
    expect(mine.allowed ? [] : mine.violations.map((v) => v.rule)).to.deep.equal(['host-path-volume-creates']);
    expect(await apiVerdict(env.core.createNamespacedPod({ namespace: setup.namespace, body, dryRun: 'All' }))).to.deep.equal({ kind: 'allowed' });
  });

  // readOnlyBelow costs 15 to 25 units per pair of entries and is worked out only for a Pod with a read-write host path.
  it('under 150 read-only {namespace} patterns beside 151 other entries, admits a Pod without a read-write host path (the cost past the limit falls on those alone, refused)', async function () {
    this.timeout(120_000);
    const env = e2e();
    const entries = [{ pathPrefix: '/srv' }, ...Array.from({ length: 150 }, (_, i) => ({ pathPrefix: `/srv/{namespace}/ro${i}`, readOnly: true })), ...Array.from({ length: 150 }, (_, i) => ({ pathPrefix: `/opt/rw${i}` }))];
    const setup: Setup = { title: 'a large policy', policy: parsePolicy(JSON.stringify({ allowedHostPaths: entries }), 'large.json'), webhookNamespace: undefined, name: uniqueName('mg-e2e-large'), namespace: '' };
    const namespace = setup.name;
    const cleanups: Array<() => Promise<void>> = [];
    try {
      await env.core.createNamespace({ body: { metadata: { name: namespace, labels: { [SELECT_LABEL]: setup.name } } } });
      cleanups.push(() => ignoreNotFound(env.core.deleteNamespace({ name: namespace })));
      const objects = backstop(setup.policy, { ...DEFAULT_BACKSTOP_OPTIONS, name: setup.name, namespaceSelector: { matchLabels: { [SELECT_LABEL]: setup.name } } });
      await env.admissionApi.createValidatingAdmissionPolicy({ body: objects.policy });
      cleanups.push(() => ignoreNotFound(env.admissionApi.deleteValidatingAdmissionPolicy({ name: setup.name })));
      await env.admissionApi.createValidatingAdmissionPolicyBinding({ body: objects.binding });
      cleanups.push(() => ignoreNotFound(env.admissionApi.deleteValidatingAdmissionPolicyBinding({ name: setup.name })));
      await waitUntilEnforced(env, { ...setup, namespace });
      const verdictOf = (shape: V1Pod): Promise<ApiVerdict> => apiVerdict(env.core.createNamespacedPod({ namespace, body: named(shape, uniqueName('large')), dryRun: 'All' }));
      expect(await verdictOf(pod(undefined, [container('c', undefined)])), 'no volume').to.deep.equal({ kind: 'allowed' });
      // Past the limit a Pod is refused with the API server's cost error (apiVerdict takes any CEL error for a finding), never admitted.
      const costly = await verdictOf(single('/opt/rw7/data', true)).then(
        (verdict) => JSON.stringify(verdict),
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      expect(costly, 'a Pod with a read-write host path').to.contain(
        `denied request: expression 'variables.writers.size() == 0' resulted in error: composited variable "writers" fails to evaluate: composited variable "readOnlyVolumes" fails to evaluate: composited variable "holdsReadOnly" fails to evaluate: composited variable "readOnlyBelow" fails to evaluate: operation cancelled: actual cost limit exceeded`,
      );
      const readOnlyOnly = await verdictOf(single(`/srv/${namespace}/ro3/data`, true));
      expect(readOnlyOnly, 'a path whose deciding entry is read-only').to.deep.equal({ kind: 'allowed' });
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
    }
  });

  it('with mountgate stopped, still refuses hand-written host paths and admits ordinary Pods; kube-system stays unaffected', async function () {
    this.timeout(60_000);
    const env = e2e();
    const setup = setups[0];
    if (setup === undefined) throw new Error('no setup');
    const marker = `ValidatingAdmissionPolicy '${setup.name}' with binding '${setup.name}' denied request: `;
    // kube-system carries the binding's label, but the binding excludes it by name.
    const kubeSystem = await env.core.readNamespace({ name: 'kube-system' });
    const labels = kubeSystem.metadata?.labels ?? {};
    await env.core.patchNamespace({ name: 'kube-system', body: { metadata: { labels: { [SELECT_LABEL]: setup.name } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await env.mountgate.stop();
    const base = named(single('/srv/models/x', true), uniqueName('bs-outage'));
    try {
      const refused: Array<[string, V1Pod, string]> = [
        ['hostPath: /', single('/'), 'spec.volumes[0].hostPath.path (volume "v"): "/" is not under any allowed or built-in host path'],
        ['/srv/sandbox2', single('/srv/sandbox2'), 'spec.volumes[0].hostPath.path (volume "v"): "/srv/sandbox2" is not under any allowed or built-in host path'],
        ['a read-only prefix mounted read-write', single('/srv/models/x'), 'container "c" mounts "/srv/models/x" read-write (volume "v"), but "/srv/models" is read-only'],
      ];
      for (const [title, shape, reason] of refused) {
        const verdict = await apiVerdict(env.core.createNamespacedPod({ namespace: setup.namespace, body: named(shape, uniqueName('bs-outage')), dryRun: 'All' }));
        expect(verdict, title).to.deep.include({ kind: 'denied' });
        expect(verdict.kind === 'allowed' ? '' : verdict.message, title).to.contain(`${marker}${reason}`);
      }
      // A read-only entry below a volume's path, under the tricky policy (its backstop judges alone, as while mountgate is down).
      const tricky = setups[1];
      if (tricky === undefined) throw new Error('no tricky setup');
      const holding = await apiVerdict(env.core.createNamespacedPod({ namespace: tricky.namespace, body: named(single('/srv/sandbox/deeper'), uniqueName('bs-outage')), dryRun: 'All' }));
      expect(holding.kind === 'allowed' ? '' : holding.message).to.contain(
        `ValidatingAdmissionPolicy '${tricky.name}' with binding '${tricky.name}' denied request: container "c" mounts "/srv/sandbox/deeper" read-write (volume "v"), but "/srv/sandbox/deeper/than/shared" inside it is read-only`,
      );
      // A traversal never gets as far: the API server's own validation refuses it.
      const traversal = await apiVerdict(env.core.createNamespacedPod({ namespace: setup.namespace, body: named(single('/srv/sandbox/../etc'), uniqueName('bs-outage')), dryRun: 'All' }));
      expect(traversal.kind).to.equal('invalid');

      await env.core.createNamespacedPod({ namespace: setup.namespace, body: base });
      const debug: V1EphemeralContainer = { name: 'debug', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/debug' }] };
      const current = await env.core.readNamespacedPod({ namespace: setup.namespace, name: base.metadata?.name ?? '' });
      const ephemeral = await apiVerdict(
        env.core.replaceNamespacedPodEphemeralcontainers({
          namespace: setup.namespace,
          name: base.metadata?.name ?? '',
          body: { ...current, spec: { ...(current.spec ?? { containers: [] }), ephemeralContainers: [debug] } },
        }),
      );
      expect(ephemeral.kind === 'allowed' ? '' : ephemeral.message).to.contain(`${marker}container "debug" mounts "/srv/models/x" read-write (volume "v"), but "/srv/models" is read-only`);

      // Ordinary Pods, and anything in kube-system, go through.
      const ordinary = await apiVerdict(env.core.createNamespacedPod({ namespace: setup.namespace, body: named(pod(undefined, [container('c', undefined)]), uniqueName('bs-outage')), dryRun: 'All' }));
      expect(ordinary).to.deep.equal({ kind: 'allowed' });
      const inKubeSystem = await apiVerdict(env.core.createNamespacedPod({ namespace: 'kube-system', body: named(single('/'), uniqueName('bs-outage')), dryRun: 'All' }));
      expect(inKubeSystem).to.deep.equal({ kind: 'allowed' });
    } finally {
      await env.mountgate.start();
      await deletePod(env.core, setup.namespace, base.metadata?.name ?? '');
      const restored = SELECT_LABEL in labels ? { [SELECT_LABEL]: labels[SELECT_LABEL] } : { [SELECT_LABEL]: null };
      await env.core.patchNamespace({ name: 'kube-system', body: { metadata: { labels: restored } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
  });

  it(`agrees on a generated corpus of ${CORPUS_RUNS} Pods`, async function () {
    this.timeout(300_000);
    const env = e2e();
    await fc.assert(
      fc.asyncProperty(corpusPod, async (shape) => {
        for (const setup of setups) await judgeCreate(env, setup, shape);
      }),
      { numRuns: CORPUS_RUNS },
    );
  });
});
