/**
 * The body of deer-flow's `POST /api/sandboxes`, and the one its Gateway sends: what
 * `AioSandboxProvider._get_extra_mounts` collects for a user and thread, filtered by
 * `RemoteSandboxBackend._provisioner_extra_mounts_payload` and wrapped by `_provisioner_create`
 * (deer-flow f1f4af99b). Pure: no I/O.
 */
import type { ExtraMount } from '../../deer-flow-pods.js';

/** One entry of the request's `extra_mounts`, spelled as the provisioner's request model spells it. */
export interface WireExtraMount {
  readonly host_path: string;
  readonly container_path: string;
  /** Absent means false to the provisioner. */
  readonly read_only?: boolean;
}

/** The provisioner's `CreateSandboxRequest`; absent fields take the provisioner's defaults. */
export interface CreateSandboxBody {
  readonly sandbox_id: string;
  readonly thread_id?: string | null;
  readonly user_id?: string;
  readonly include_legacy_skills?: boolean;
  readonly provision_lark_cli_runtime?: boolean;
  readonly provision_lark_cli_broker?: boolean;
  readonly extra_mounts?: readonly WireExtraMount[];
}

/** deer-flow's DEER_FLOW_HOST_BASE_DIR default, and what its Helm chart gives the Gateway instead. */
export const DEFAULT_BASE = '/.deer-flow';
export const CHART_GATEWAY_BASE = '/app/backend/.deer-flow';

export const RUNTIME_TARGET = '/mnt/integrations/lark-cli/runtime';
export const CUSTOM_SKILLS_TARGET = '/mnt/skills/custom';

/** The Gateway's `_PROVISIONER_EXTRA_MOUNT_PATHS`: the targets it forwards (the provisioner accepts the same). */
const FORWARDED_TARGETS: ReadonlySet<string> = new Set([
  '/mnt/acp-workspace',
  CUSTOM_SKILLS_TARGET,
  '/mnt/skills/integrations',
  '/mnt/integrations/lark-cli/config',
  '/mnt/integrations/lark-cli/config/locks',
  '/mnt/integrations/lark-cli/data',
  RUNTIME_TARGET,
]);

/**
 * Every mount the Gateway collects for a sandbox, in its order, with the lark-cli runtime folder
 * present. Some of them (user-data, public and legacy skills) the provisioner builds itself, so the
 * Gateway does not forward them; they are listed so that the filter below is exercised as deer-flow's is.
 */
export function gatewayCollectedMounts(user: string, thread: string, base = DEFAULT_BASE): ExtraMount[] {
  const userDir = `${base}/users/${user}`;
  const lark = `${userDir}/integrations/lark-cli`;
  const mount = (hostPath: string, containerPath: string, readOnly: boolean): ExtraMount => ({ hostPath, containerPath, readOnly });
  return [
    mount(`${userDir}/threads/${thread}/user-data/workspace`, '/mnt/user-data/workspace', false),
    mount(`${userDir}/threads/${thread}/user-data/uploads`, '/mnt/user-data/uploads', false),
    mount(`${userDir}/threads/${thread}/user-data/outputs`, '/mnt/user-data/outputs', false),
    mount(`${userDir}/threads/${thread}/acp-workspace`, '/mnt/acp-workspace', true),
    mount(`${base}/skills_view/public`, '/mnt/skills/public', true),
    mount(`${userDir}/skills_view/custom`, CUSTOM_SKILLS_TARGET, true),
    mount(`${userDir}/skills_view/legacy`, '/mnt/skills/legacy', true),
    mount(`${userDir}/skills_view/integrations`, '/mnt/skills/integrations', true),
    mount(`${lark}/config`, '/mnt/integrations/lark-cli/config', true),
    mount(`${lark}/config/locks`, '/mnt/integrations/lark-cli/config/locks', false),
    mount(`${lark}/data`, '/mnt/integrations/lark-cli/data', false),
    mount(`${base}/integrations/lark-cli/sandbox-cli`, RUNTIME_TARGET, true),
  ];
}

export function toWire(mounts: readonly ExtraMount[]): WireExtraMount[] {
  return mounts.map((m) => ({ host_path: m.hostPath, container_path: m.containerPath, read_only: m.readOnly }));
}

/**
 * `_provisioner_extra_mounts_payload`: only the forwarded targets, and without the runtime folder
 * when either lark-cli option is asked for (the provisioner then provides it).
 */
export function forwardedExtraMounts(collected: readonly ExtraMount[], runtime: boolean, broker: boolean): WireExtraMount[] {
  const dropRuntime = runtime || broker;
  return toWire(collected.filter((m) => FORWARDED_TARGETS.has(m.containerPath) && !(dropRuntime && m.containerPath === RUNTIME_TARGET)));
}

export interface GatewayCall {
  readonly sandboxId: string;
  readonly user: string;
  readonly thread: string;
  readonly legacySkills?: boolean;
  readonly larkRuntime?: boolean;
  readonly larkBroker?: boolean;
  /** The Gateway's DEER_FLOW_HOST_BASE_DIR (default deer-flow's). */
  readonly base?: string;
  /**
   * Leaves out the /mnt/skills/custom mount, which the Gateway always sends and which clashes with
   * the provisioner's own skills-custom mount: without it the rest of the payload can be tried.
   */
  readonly withoutCustomSkills?: boolean;
}

/** `_provisioner_create`'s body; `extra_mounts` only when something is forwarded, as deer-flow does. */
export function gatewayBody(call: GatewayCall): CreateSandboxBody {
  const runtime = call.larkRuntime === true;
  const broker = call.larkBroker === true;
  const forwarded = forwardedExtraMounts(gatewayCollectedMounts(call.user, call.thread, call.base), runtime, broker).filter(
    (m) => !(call.withoutCustomSkills === true && m.container_path === CUSTOM_SKILLS_TARGET),
  );
  return {
    sandbox_id: call.sandboxId,
    thread_id: call.thread,
    user_id: call.user,
    include_legacy_skills: call.legacySkills === true,
    provision_lark_cli_runtime: runtime,
    provision_lark_cli_broker: broker,
    ...(forwarded.length > 0 ? { extra_mounts: forwarded } : {}),
  };
}
