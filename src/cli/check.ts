/**
 * `mountgate check`: the /mutate then /validate decision on a Pod manifest,
 * offline, through the same review reader and decision core as the server.
 */
import { decide, type Stage } from '../admission/decide.js';
import { requestFillings } from '../admission/placeholders.js';
import { compare } from '../admission/json-patch.js';
import { isCheckedPod, podProblem, type CheckedPod } from '../admission/pod.js';
import type { AdmissionRequest, UserInfo } from '../admission/review.js';
import { ephemeralContainersUpdateRequest, manifestNamespace, podCreateRequest, podUpdateRequest } from '../admission/synthetic-request.js';
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
    for (const step of updateSteps(old, pod, userInfoOf(settings), namespace)) {
      const update = decide('validate', step.request, policy);
      report('validate', update, io, step.as);
      if (!update.allowed) return EXIT_DENIED;
    }
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

interface UpdateStep {
  readonly request: AdmissionRequest;
  /** How the API server is asked for it, where that is not a plain UPDATE of the Pod. */
  readonly as?: string;
}

/**
 * The updates the API server would judge on the way from `old` to `pod`. Ephemeral containers change only through
 * pods/ephemeralcontainers, which takes nothing else from the Pod, and an UPDATE of the Pod may not change them: a
 * change to them is that update first, from `old` to `old` with `pod`'s ephemeral containers, then whatever else
 * changed is an UPDATE of the Pod from there.
 */
function updateSteps(old: unknown, pod: unknown, userInfo: UserInfo, namespace: string): UpdateStep[] {
  const uid = 'mountgate-check';
  if (!isCheckedPod(old) || !isCheckedPod(pod)) return [{ request: podUpdateRequest(pod, old, userInfo, uid, namespace) }];
  const debugged = withEphemeralContainersOf(old, pod);
  if (compare(old, debugged).length === 0) return [{ request: podUpdateRequest(pod, old, userInfo, uid, namespace) }];
  const steps: UpdateStep[] = [{ request: ephemeralContainersUpdateRequest(debugged, old, userInfo, uid, namespace), as: 'an UPDATE of pods/ephemeralcontainers' }];
  if (compare(debugged, pod).length > 0) steps.push({ request: podUpdateRequest(pod, debugged, userInfo, uid, namespace), as: 'the Pod UPDATE after pods/ephemeralcontainers' });
  return steps;
}

/** `old` with the ephemeral containers of `pod` (none when it has none), as pods/ephemeralcontainers makes it. */
function withEphemeralContainersOf(old: CheckedPod, pod: CheckedPod): CheckedPod {
  const { ephemeralContainers: _left, ...spec } = old.spec;
  const ephemeralContainers = pod.spec.ephemeralContainers;
  return { ...old, spec: ephemeralContainers === undefined ? spec : { ...spec, ephemeralContainers } };
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

function report(stage: Stage, verdict: Verdict, io: Io, as?: string): void {
  // A manifest's names reach these lines as written: escaped, so each stays one line and sends no escape sequence.
  for (const warning of verdict.warnings) io.stderr(`warning (${stage}): ${escapeControl(warning)}\n`);
  if (verdict.allowed) return;
  io.stderr(`denied by /${stage}${as === undefined ? '' : `, as ${as}`}:\n`);
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
