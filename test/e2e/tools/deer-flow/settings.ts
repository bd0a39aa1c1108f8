/**
 * What the deer-flow provisioner tool sends, in which environment of the provisioner, and what it
 * expects of each request; and how a request is told to the model (test/e2e/deer-flow-pods.ts).
 * Pure: no I/O.
 *
 * The expectations are what deer-flow f1f4af99b does behind mountgate with the shipped profile
 * (docs/deer-flow.md, "What the trial showed"). A request that now turns out otherwise is a change
 * in deer-flow or in mountgate to look at, not noise.
 */
import path from 'node:path';
import { LARK_BROKER_IMAGE, LARK_INIT_IMAGE, extraMountsFor, type ExtraMount, type PvcMode, type SandboxRequest } from '../../deer-flow-pods.js';
import { CHART_GATEWAY_BASE, gatewayBody, toWire, type CreateSandboxBody, type GatewayCall } from './gateway.js';

/** The user and thread every request is made for. */
export const USER = 'u3';
export const THREAD = 't-4c1e';
const X = extraMountsFor(USER, THREAD);
const EVERY_EXTRA = [X.acpWorkspace, X.integrationSkills, X.larkConfig, X.larkLocks, X.larkData, X.larkRuntime];

/** A skills claim of our own (deer-flow's chart sets SKILLS_PVC_NAME from skills.existingClaim). */
export const SKILLS_CLAIM = 'deer-flow-skills';

/** What a request must come to. */
export type Expected =
  /** HTTP 200, and the Pod the API server stored equals the model's Pod, dry-run through the same API server as the same user. */
  | { readonly outcome: 'created' }
  /**
   * The provisioner answers `status` with a body that contains `detail`, and no Pod is stored.
   * With `model`, the model's Pod is refused by the API server too, with that code and text: the
   * reason the provisioner does not pass on. Without it, the provisioner refuses on its own, so
   * mountgate judges no Pod of the sandbox. With `logSays`, the provisioner's log has that text (why
   * it failed, where its answer is generic).
   */
  | {
      readonly outcome: 'refused';
      readonly status: number;
      readonly detail: string;
      readonly model?: { readonly code: number; readonly says: string };
      readonly logSays?: string;
    };

const CREATED: Expected = { outcome: 'created' };
/** The Gateway's /mnt/skills/custom meets the provisioner's own skills-custom mount; the API server refuses the Pod. */
const CUSTOM_SKILLS_CLASH: Expected = {
  outcome: 'refused',
  status: 500,
  detail: 'Pod creation failed: Unprocessable Entity',
  model: { code: 422, says: '"/mnt/skills/custom": must be unique' },
};
const OUTSIDE_BASE = (hostPath: string): Expected => ({ outcome: 'refused', status: 400, detail: `Extra mount host path is outside DeerFlow state: ${hostPath}` });

export interface RequestCase {
  readonly id: string;
  readonly description: string;
  body(sandboxId: string): CreateSandboxBody;
  readonly expected: Expected;
}

/** One environment of the provisioner: its chart's env with these changes. */
export interface Setting {
  readonly id: string;
  readonly description: string;
  /** Set (a string) or removed (null) on top of the chart's env. */
  readonly env: Readonly<Record<string, string | null>>;
  /** False runs it as deer-flow's chart does, without PROVISIONER_API_KEY. */
  readonly apiKey: boolean;
  readonly requests: readonly RequestCase[];
}

const gateway = (call: Omit<GatewayCall, 'sandboxId' | 'user' | 'thread'>) => (sandboxId: string): CreateSandboxBody =>
  gatewayBody({ sandboxId, user: USER, thread: THREAD, ...call });

/** A body sent straight to the provisioner rather than through the Gateway's filter. */
const direct = (fields: Omit<CreateSandboxBody, 'sandbox_id'>) => (sandboxId: string): CreateSandboxBody => ({
  sandbox_id: sandboxId,
  thread_id: THREAD,
  user_id: USER,
  ...fields,
});

const HOST_PATH_MODE = { USERDATA_PVC_NAME: null };

export const SETTINGS: readonly Setting[] = [
  {
    id: 'chart-exact',
    description: "deer-flow chart's provisioner env exactly: USERDATA_PVC_NAME, no PROVISIONER_API_KEY",
    env: {},
    apiKey: false,
    requests: [
      {
        id: 'gateway',
        description: "the Gateway's payload, no X-API-Key (the chart configures none on either side)",
        body: gateway({}),
        expected: { outcome: 'refused', status: 401, detail: 'Unauthorized' },
      },
    ],
  },
  {
    id: 'hostpath',
    description: 'hostPath mode: the chart env without USERDATA_PVC_NAME',
    env: HOST_PATH_MODE,
    apiKey: true,
    requests: [
      {
        id: 'plain',
        description: 'no extra mounts, default user, thread_id null',
        body: (sandboxId) => ({ sandbox_id: sandboxId, thread_id: null, user_id: 'default', include_legacy_skills: false, provision_lark_cli_runtime: false, provision_lark_cli_broker: false }),
        expected: CREATED,
      },
      { id: 'gateway', description: "the Gateway's whole payload (with /mnt/skills/custom)", body: gateway({ legacySkills: true }), expected: CUSTOM_SKILLS_CLASH },
      { id: 'gateway-no-custom', description: "the Gateway's payload without /mnt/skills/custom", body: gateway({ legacySkills: true, withoutCustomSkills: true }), expected: CREATED },
      {
        id: 'runtime-no-image',
        description: 'provision_lark_cli_runtime without LARK_CLI_INIT_IMAGE: the Gateway drops the runtime mount, nothing replaces it',
        body: gateway({ larkRuntime: true, withoutCustomSkills: true }),
        expected: CREATED,
      },
      { id: 'custom-alone', description: 'the /mnt/skills/custom extra mount alone', body: direct({ extra_mounts: toWire([X.customSkills]) }), expected: CUSTOM_SKILLS_CLASH },
      {
        id: 'untidy',
        description: 'a trailing / and a // in extra mounts: the provisioner tidies them before it builds the Pod',
        body: direct({
          extra_mounts: [
            { host_path: `${X.integrationSkills.hostPath}/`, container_path: `${X.integrationSkills.containerPath}/`, read_only: true },
            { host_path: X.larkData.hostPath.replace('/lark-cli/', '/lark-cli//'), container_path: X.larkData.containerPath },
          ],
        }),
        expected: CREATED,
      },
      {
        id: 'duplicate',
        description: 'the same target twice',
        body: direct({ extra_mounts: toWire([X.acpWorkspace, X.acpWorkspace]) }),
        expected: { outcome: 'refused', status: 400, detail: 'Duplicate extra mount path: /mnt/acp-workspace' },
      },
      {
        id: 'outside-base',
        description: 'an extra mount outside the base (/srv/sandbox/u3)',
        body: direct({ extra_mounts: [{ host_path: '/srv/sandbox/u3', container_path: '/mnt/acp-workspace', read_only: true }] }),
        expected: OUTSIDE_BASE('/srv/sandbox/u3'),
      },
    ],
  },
  {
    id: 'lark-a',
    description: 'hostPath mode with LARK_CLI_INIT_IMAGE (Pattern A)',
    env: { ...HOST_PATH_MODE, LARK_CLI_INIT_IMAGE: LARK_INIT_IMAGE },
    apiKey: true,
    requests: [
      { id: 'gateway-runtime', description: "the Gateway's payload with provision_lark_cli_runtime, without /mnt/skills/custom", body: gateway({ larkRuntime: true, withoutCustomSkills: true }), expected: CREATED },
      {
        id: 'every-extra',
        description: 'every extra mount, the runtime folder too, with provision_lark_cli_runtime',
        body: direct({ provision_lark_cli_runtime: true, extra_mounts: toWire(EVERY_EXTRA) }),
        expected: CREATED,
      },
      { id: 'gateway', description: "the Gateway's whole payload with provision_lark_cli_runtime", body: gateway({ larkRuntime: true }), expected: CUSTOM_SKILLS_CLASH },
    ],
  },
  {
    id: 'lark-b',
    description: 'hostPath mode with LARK_CLI_INIT_IMAGE and LARK_CLI_BROKER_IMAGE (Pattern B wins)',
    env: { ...HOST_PATH_MODE, LARK_CLI_INIT_IMAGE: LARK_INIT_IMAGE, LARK_CLI_BROKER_IMAGE: LARK_BROKER_IMAGE },
    apiKey: true,
    requests: [
      { id: 'gateway-broker', description: "the Gateway's payload with both lark-cli options, without /mnt/skills/custom", body: gateway({ larkRuntime: true, larkBroker: true, withoutCustomSkills: true }), expected: CREATED },
      { id: 'broker-config-only', description: 'provision_lark_cli_broker with only the config mount', body: direct({ provision_lark_cli_broker: true, extra_mounts: toWire([X.larkConfig]) }), expected: CREATED },
      { id: 'broker-every-extra', description: 'provision_lark_cli_broker alone, every extra mount', body: direct({ provision_lark_cli_broker: true, extra_mounts: toWire(EVERY_EXTRA) }), expected: CREATED },
    ],
  },
  {
    id: 'lark-b-deny',
    description: 'hostPath mode with LARK_CLI_BROKER_IMAGE and DEERFLOW_LARK_BROKER_DENY_SUBCOMMANDS',
    env: { ...HOST_PATH_MODE, LARK_CLI_BROKER_IMAGE: LARK_BROKER_IMAGE, DEERFLOW_LARK_BROKER_DENY_SUBCOMMANDS: 'config,auth login' },
    apiKey: true,
    requests: [
      { id: 'gateway-broker', description: "the Gateway's payload with both lark-cli options, without /mnt/skills/custom", body: gateway({ larkRuntime: true, larkBroker: true, withoutCustomSkills: true }), expected: CREATED },
    ],
  },
  {
    id: 'pvc-home',
    description: "the chart's default claim (USERDATA_PVC_NAME alone), with an API key",
    env: {},
    apiKey: true,
    requests: [
      { id: 'gateway', description: "the Gateway's whole payload", body: gateway({}), expected: CUSTOM_SKILLS_CLASH },
      { id: 'gateway-no-custom', description: "the Gateway's payload without /mnt/skills/custom", body: gateway({ withoutCustomSkills: true }), expected: CREATED },
      {
        id: 'gateway-chart-base',
        description: `the Gateway's payload under the chart's Gateway base ${CHART_GATEWAY_BASE}, which the provisioner does not share`,
        body: gateway({ base: CHART_GATEWAY_BASE }),
        expected: OUTSIDE_BASE(`${CHART_GATEWAY_BASE}/users/${USER}/threads/${THREAD}/acp-workspace`),
      },
    ],
  },
  {
    id: 'chart-base',
    description: `the chart env with an API key and the Gateway's base (DEER_FLOW_HOST_BASE_DIR=${CHART_GATEWAY_BASE})`,
    env: { DEER_FLOW_HOST_BASE_DIR: CHART_GATEWAY_BASE },
    apiKey: true,
    requests: [
      { id: 'gateway', description: "the Gateway's whole payload", body: gateway({ base: CHART_GATEWAY_BASE }), expected: CUSTOM_SKILLS_CLASH },
      {
        id: 'gateway-no-custom',
        description: "the Gateway's payload without /mnt/skills/custom: the skills hostPaths under the Gateway's base are outside the profile",
        body: gateway({ base: CHART_GATEWAY_BASE, withoutCustomSkills: true }),
        expected: {
          outcome: 'refused',
          status: 500,
          detail: 'Pod creation failed: Forbidden',
          model: { code: 403, says: `"${CHART_GATEWAY_BASE}/skills_view/public" is not under any allowed or built-in host path` },
        },
      },
    ],
  },
  {
    id: 'chart-base-skills',
    description: "as chart-base, plus a skills claim (SKILLS_PVC_NAME): no hostPath of deer-flow's own is left",
    env: { DEER_FLOW_HOST_BASE_DIR: CHART_GATEWAY_BASE, SKILLS_PVC_NAME: SKILLS_CLAIM },
    apiKey: true,
    requests: [{ id: 'gateway', description: "the Gateway's whole payload", body: gateway({ base: CHART_GATEWAY_BASE }), expected: CREATED }],
  },
  {
    id: 'pvc-both',
    description: 'SKILLS_PVC_NAME and USERDATA_PVC_NAME, with LARK_CLI_BROKER_IMAGE',
    env: { SKILLS_PVC_NAME: SKILLS_CLAIM, LARK_CLI_BROKER_IMAGE: LARK_BROKER_IMAGE },
    apiKey: true,
    requests: [
      { id: 'gateway', description: "the Gateway's whole payload (the custom skills mount nests in the skills claim)", body: gateway({ legacySkills: true }), expected: CREATED },
      { id: 'gateway-broker', description: "the Gateway's whole payload with both lark-cli options", body: gateway({ larkRuntime: true, larkBroker: true }), expected: CREATED },
    ],
  },
  {
    id: 'pvc-skills-subpath',
    description: 'SKILLS_PVC_NAME with SKILLS_PVC_SUBPATH_TEMPLATE, user data on hostPath',
    env: { ...HOST_PATH_MODE, SKILLS_PVC_NAME: SKILLS_CLAIM, SKILLS_PVC_SUBPATH_TEMPLATE: 'users/{user_id}/skills' },
    apiKey: true,
    requests: [{ id: 'gateway', description: "the Gateway's whole payload", body: gateway({}), expected: CREATED }],
  },
  {
    id: 'pvc-skills-bad-template',
    description: 'SKILLS_PVC_SUBPATH_TEMPLATE with a key str.format is not given ({tenant})',
    env: { ...HOST_PATH_MODE, SKILLS_PVC_NAME: SKILLS_CLAIM, SKILLS_PVC_SUBPATH_TEMPLATE: 'skills/{tenant}/{user_id}' },
    apiKey: true,
    requests: [
      {
        id: 'plain',
        description: 'no extra mounts: the provisioner fails on its own template before it asks the API server',
        body: direct({}),
        expected: { outcome: 'refused', status: 500, detail: 'Internal Server Error', logSays: "KeyError: 'tenant'" },
      },
    ],
  },
];

/** The chart's env with a setting's changes (null removes a variable). */
export function settingEnv(chartEnv: Readonly<Record<string, string>>, changes: Readonly<Record<string, string | null>>): Record<string, string> {
  const env: Record<string, string> = { ...chartEnv };
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * A sandbox id for the n-th request of a run: unique in the run (n), readable in the API server's
 * log (the ids), and short enough that the provisioner's Service name `sandbox-{id}-svc` stays a
 * 63-character DNS label.
 */
export function sandboxIdFor(n: number, settingId: string, requestId: string): string {
  const slug = (text: string, length: number): string => text.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, length);
  return `${n}-${slug(settingId, 12)}-${slug(requestId, 14)}`.replace(/-+$/, '');
}

/** Python's posixpath.normpath for the absolute paths sent here: `.`, `..`, `//` and a trailing `/` go. */
export function normpath(p: string): string {
  const normal = path.posix.normalize(p);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

/**
 * What the model is told for a request under an env: the provisioner's reading of the body (its
 * defaults, extra mounts in the canonical form it writes them in, the lark-cli options only when
 * their image is set) and of its env (claims, subPath template, base, broker deny list).
 */
export function modelRequestFor(body: CreateSandboxBody, env: Readonly<Record<string, string>>): SandboxRequest {
  const extraMounts: ExtraMount[] = (body.extra_mounts ?? []).map((m) => ({
    hostPath: normpath(m.host_path),
    containerPath: normpath(m.container_path),
    readOnly: m.read_only === true,
  }));
  const pvc: PvcMode = {
    ...(nonEmpty(env.SKILLS_PVC_NAME) === undefined ? {} : { skillsClaim: env.SKILLS_PVC_NAME }),
    ...(nonEmpty(env.USERDATA_PVC_NAME) === undefined ? {} : { userDataClaim: env.USERDATA_PVC_NAME }),
    ...(nonEmpty(env.SKILLS_PVC_SUBPATH_TEMPLATE) === undefined ? {} : { skillsSubPathTemplate: env.SKILLS_PVC_SUBPATH_TEMPLATE }),
  };
  const threadId = nonEmpty(body.thread_id ?? undefined);
  const base = nonEmpty(env.DEER_FLOW_HOST_BASE_DIR);
  const deny = nonEmpty(env.DEERFLOW_LARK_BROKER_DENY_SUBCOMMANDS);
  return {
    sandboxId: body.sandbox_id,
    ...(threadId === undefined ? {} : { threadId }),
    ...(body.user_id === undefined ? {} : { userId: body.user_id }),
    includeLegacySkills: body.include_legacy_skills === true,
    extraMounts,
    larkRuntime: body.provision_lark_cli_runtime === true && nonEmpty(env.LARK_CLI_INIT_IMAGE) !== undefined,
    larkBroker: body.provision_lark_cli_broker === true && nonEmpty(env.LARK_CLI_BROKER_IMAGE) !== undefined,
    ...(deny === undefined ? {} : { larkBrokerDenySubcommands: deny }),
    ...(Object.keys(pvc).length === 0 ? {} : { pvc }),
    ...(base === undefined ? {} : { hostBaseDir: normpath(base) }),
  };
}
