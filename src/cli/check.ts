/**
 * `mountgate check`: the /mutate then /validate decision on a Pod manifest,
 * offline, through the same review reader and decision core as the server.
 */
import { decide, type Stage } from '../admission/decide.js';
import { requestFillings } from '../admission/placeholders.js';
import { isCheckedPod, podProblem } from '../admission/pod.js';
import { manifestNamespace, podCreateRequest, podUpdateRequest } from '../admission/synthetic-request.js';
import { describeViolation } from '../admission/violation.js';
import type { Verdict } from '../admission/verdict.js';
import { loadPolicyFile } from '../policy/load.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { Fillings } from '../policy/match.js';
import { PLACEHOLDERS } from '../policy/patterns.js';
import { policyWarnings } from '../policy/warnings.js';
import { parseCheckArgs, type CheckSettings } from './check-options.js';
import { withMountPolicies } from './check-layers.js';
import { readManifests } from './manifests.js';
import { escapeControl, EXIT_DENIED, EXIT_OK } from './usage.js';
import { yamlFor11 } from './yaml-output.js';

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<string>;
}

export async function check(argv: readonly string[], io: Io): Promise<number> {
  const settings = parseCheckArgs(argv);
  const { policy: cluster } = await loadPolicyFile(settings.configPath);
  const pod = await readPodManifest(settings.podPath, io);
  const namespace = settings.namespace ?? manifestNamespace(pod) ?? 'default';
  const policy = await withMountPolicies(cluster, settings.mountPolicyPaths, namespace, io);
  for (const line of policyWarnings(cluster, policy === cluster ? undefined : { namespace, policy })) {
    io.stderr(`warning (policy): ${escapeControl(line)}\n`);
  }
  if (hasPlaceholders(policy)) io.stderr(describeFillings(fillingsFor(pod, policy, settings, namespace)));
  if (settings.oldPodPath !== undefined) {
    const old = await readPodManifest(settings.oldPodPath, io);
    const update = decide('validate', podUpdateRequest(pod, old, userInfoOf(settings), 'mountgate-check', namespace), policy);
    report('validate', update, io);
    if (!update.allowed) return EXIT_DENIED;
    io.stdout(yamlFor11(pod));
    io.stderr('allowed (an update: no change)\n');
    return EXIT_OK;
  }

  const mutation = judge('mutate', pod, settings, policy, namespace);
  report('mutate', mutation, io);
  if (!mutation.allowed) return EXIT_DENIED;
  const mutated = mutation.mutated ?? pod;

  const validation = judge('validate', mutated, settings, policy, namespace);
  report('validate', validation, io);
  if (!validation.allowed) return EXIT_DENIED;

  io.stdout(yamlFor11(mutated));
  io.stderr(`allowed${mutation.patch.length > 0 ? ` (${mutation.patch.length} patch operations)` : ' (no change)'}\n`);
  return EXIT_OK;
}

function userInfoOf(settings: CheckSettings): { username?: string; groups: string[] } {
  return { ...(settings.user === undefined ? {} : { username: settings.user }), groups: [...settings.groups] };
}

function judge(stage: Stage, pod: unknown, settings: CheckSettings, policy: CompiledPolicy, namespace: string): Verdict {
  return decide(stage, podCreateRequest(pod, userInfoOf(settings), 'mountgate-check', namespace), policy);
}

/** True when some layer's pattern has a placeholder segment (`*` alone fills nothing, so it says nothing to print). */
function hasPlaceholders(policy: CompiledPolicy): boolean {
  return [policy, ...policy.narrowing].some((layer) =>
    layer.carriablePatterns.some((entry) => entry.segments.some((segment) => segment.kind === 'placeholder')),
  );
}

function fillingsFor(pod: unknown, policy: CompiledPolicy, settings: CheckSettings, namespace: string): Fillings | undefined {
  return isCheckedPod(pod) ? requestFillings(pod, policy, { namespace, userInfo: userInfoOf(settings) }) : undefined;
}

/** One line saying what each placeholder stands for in this check (nothing for a Pod it cannot read, which readPodManifest has refused). */
function describeFillings(fillings: Fillings | undefined): string {
  if (fillings === undefined) return '';
  const parts = PLACEHOLDERS.map((name) => {
    const filling = fillings[name];
    return filling.ok ? `{${name}} = "${filling.value}"` : `{${name}} not filled (${filling.why})`;
  });
  return `placeholders: ${escapeControl(parts.join(', '))}\n`;
}

function report(stage: Stage, verdict: Verdict, io: Io): void {
  // A manifest's names reach these lines as written: escaped, so each stays one line and sends no escape sequence.
  for (const warning of verdict.warnings) io.stderr(`warning (${stage}): ${escapeControl(warning)}\n`);
  if (verdict.allowed) return;
  io.stderr(`denied by /${stage}:\n`);
  // Each line names its rule as the API server's audit log does, so one search finds both.
  for (const v of verdict.violations) io.stderr(`  - [${v.rule}] ${escapeControl(describeViolation(v))}\n`);
}

/**
 * The Pod of `path`. One mountgate cannot read (no spec, containers that are no list) is a usage error naming the
 * file, as the server answers such a review with 400, not a denial.
 */
async function readPodManifest(path: string, io: Io): Promise<unknown> {
  const [pod] = await readManifests(path, io, 'Pod', 'one', (manifest) => {
    const problem = podProblem(manifest);
    return problem === undefined ? undefined : `not a readable Pod: ${problem}`;
  });
  return pod;
}
