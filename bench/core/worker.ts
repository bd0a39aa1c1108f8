/**
 * Section 3: the decision core alone, in a process pinned to the server core.
 * Loads the built code (dist/), exactly what `mountgate serve` runs, and prints
 * one JSON CoreSection on stdout.
 *
 *   taskset -c 0 node --import tsx bench/core/worker.ts BUDGET_MS_PER_CASE
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createReview, manyMounts, sandboxPod, THREE_MOUNTS } from '../fixtures.js';
import { EXAMPLE_POLICY, REPO_ROOT } from '../workspace.js';
import type { AdmissionRequest } from '../../src/admission/review.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { time, type Timing } from './timer.js';

type DecideModule = typeof import('../../src/admission/decide.js');
type ReviewModule = typeof import('../../src/admission/review.js');
type ResponseModule = typeof import('../../src/admission/response.js');
type LoadModule = typeof import('../../src/policy/load.js');

const dist = (relative: string): string => path.join(REPO_ROOT, 'dist', relative);
const { decide } = (await import(dist('admission/decide.js'))) as DecideModule;
const { readAdmissionReview } = (await import(dist('admission/review.js'))) as ReviewModule;
const { fromVerdict, toReview } = (await import(dist('admission/response.js'))) as ResponseModule;
const { parsePolicy } = (await import(dist('policy/load.js'))) as LoadModule;

export interface CoreCase {
  readonly name: string;
  /** Containers in the Pod and mounts requested, for the sized cases. */
  readonly size?: number;
  readonly stage?: 'mutate' | 'validate';
  /** Over all rounds: medianNs is the median of the rounds' medians, meanNs the total time over all calls. */
  readonly timing: Timing;
  /** The fastest round's median: the cost when nothing else disturbed the core. */
  readonly bestRoundNs: number;
  readonly roundMediansNs: readonly number[];
}

export interface CoreSection {
  readonly budgetMsPerCase: number;
  readonly cases: readonly CoreCase[];
  /** CPU this process used, to tell its own load from other processes'. */
  readonly cpuSeconds: number;
}

const budgetMs = Number(process.argv[2] ?? '1500');
const policyText = readFileSync(EXAMPLE_POLICY, 'utf8');
const examplePolicy = parsePolicy(policyText, EXAMPLE_POLICY);
// The sized Pods ask for up to 100 mounts; the example allows 10.
const roomyPolicy = parsePolicy(stringifyYaml({ ...(parseYaml(policyText) as object), maxMounts: 100 }), 'bench-policy.yaml');

function requestOf(review: unknown): AdmissionRequest {
  const read = readAdmissionReview(review);
  if (!read.ok) throw new Error(`benchmark review is malformed: ${read.problems.join('; ')}`);
  return read.request;
}

/** The mutated Pod, checked: the benchmark must time allowed decisions. */
function mutatedPod(review: unknown, policy: CompiledPolicy): unknown {
  const verdict = decide('mutate', requestOf(review), policy);
  if (!verdict.allowed || verdict.mutated === undefined) throw new Error(`benchmark Pod not allowed with a patch: ${JSON.stringify(verdict)}`);
  return verdict.mutated;
}

interface PendingCase {
  readonly name: string;
  readonly fn: () => unknown;
  readonly extra: Pick<CoreCase, 'size' | 'stage'>;
  readonly rounds: Timing[];
}

/**
 * Each case runs in ROUNDS short rounds, all cases taking turns, so that a
 * stretch of noise from elsewhere on the machine (this host is shared) hits
 * one round of many cases rather than all of one case.
 */
const ROUNDS = 5;
const pending: PendingCase[] = [];
const add = (name: string, fn: () => unknown, extra: Pick<CoreCase, 'size' | 'stage'> = {}): void => {
  pending.push({ name, fn, extra, rounds: [] });
};

// The benchmark Pod, decision only and the whole request minus HTTP.
const review3 = createReview(sandboxPod(THREE_MOUNTS));
const request3 = requestOf(review3);
const validateRequest3 = requestOf(createReview(mutatedPod(review3, examplePolicy)));
const body3 = JSON.stringify(review3);
add('decide mutate, 3-mount Pod', () => decide('mutate', request3, examplePolicy), { stage: 'mutate', size: 3 });
add('decide validate, 3-mount Pod', () => decide('validate', validateRequest3, examplePolicy), { stage: 'validate', size: 3 });
// Each sandbox thread has its own workspace path: the same Pod with a different path each call
// (4096 of them in turn, so no call finds the strings and hashes of the one before).
const FRESH_PATHS = 4096;
const freshRequests = Array.from({ length: FRESH_PATHS }, (_, i) =>
  requestOf(createReview(sandboxPod([{ ...THREE_MOUNTS[0], host_path: `/srv/sandbox/thread-${i}/workspace` }, ...THREE_MOUNTS.slice(1)]))),
);
let fresh = 0;
add('decide mutate, 3-mount Pod, new workspace path each call', () => decide('mutate', freshRequests[fresh++ % FRESH_PATHS] ?? request3, examplePolicy), { stage: 'mutate' });
add('JSON.parse of the /mutate body', () => JSON.parse(body3));
add('AdmissionReview envelope check', () => readAdmissionReview(review3));
add('/mutate minus HTTP: parse, envelope, decide, answer', () => {
  const read = readAdmissionReview(JSON.parse(body3));
  if (!read.ok) throw new Error('malformed');
  return JSON.stringify(toReview(read.request.uid, fromVerdict(decide('mutate', read.request, examplePolicy))));
});

// The same Pod with volumeRoot: writableAncestor: the workspace is rooted at /srv/sandbox, the rest a subPath.
const rootedPolicy = parsePolicy(stringifyYaml({ ...(parseYaml(policyText) as object), volumeRoot: 'writableAncestor' }), 'bench-policy.yaml');
const rootedValidateRequest3 = requestOf(createReview(mutatedPod(review3, rootedPolicy)));
add('decide mutate, 3-mount Pod, volumeRoot: writableAncestor', () => decide('mutate', request3, rootedPolicy), { stage: 'mutate', size: 3 });
add('decide validate, 3-mount Pod, volumeRoot: writableAncestor', () => decide('validate', rootedValidateRequest3, rootedPolicy), { stage: 'validate', size: 3 });

// The same Pod in a namespace with a MountPolicy (issue: bench the layered policy): every cluster entry listed
// again, so the Pod stays admitted, and a reserved target and a smaller maxMounts added.
const { layeredPolicy } = (await import(dist('policy/layers.js'))) as typeof import('../../src/policy/layers.js');
const { compileMountPolicy } = (await import(dist('policy/mount-policy.js'))) as typeof import('../../src/policy/mount-policy.js');
const tenantPolicy = compileMountPolicy({
  metadata: { namespace: 'deer-flow', name: 'tenant' },
  spec: { allowedHostPaths: [...examplePolicy.spec.allowedHostPaths, ...examplePolicy.spec.builtinHostPaths], reservedMountPaths: ['/workspace/secrets'], maxMounts: 5 },
});
if (tenantPolicy.problems.length > 0) throw new Error(`benchmark MountPolicy is invalid: ${tenantPolicy.problems.join('; ')}`);
const layered = layeredPolicy(examplePolicy, { known: true, policies: [tenantPolicy] });
mutatedPod(review3, layered);
add('decide mutate, 3-mount Pod, namespace with a MountPolicy', () => decide('mutate', request3, layered), { stage: 'mutate', size: 3 });
add('decide validate, 3-mount Pod, namespace with a MountPolicy', () => decide('validate', validateRequest3, layered), { stage: 'validate', size: 3 });

// A MountPolicy status: the namespace's effective list, as the status writer works it out (once per namespace
// per change), for the MountPolicy above and for the worst shape tried, which runs into MAX_EFFECTIVE_STEPS.
const { effectiveAllowedHostPaths } = (await import(dist('policy/effective.js'))) as typeof import('../../src/policy/effective.js');
add('MountPolicy status: effective list, the MountPolicy above', () => effectiveAllowedHostPaths(examplePolicy, 'deer-flow', [tenantPolicy]));
// 400 characters: 128 such entries stay within a MountPolicy's size bound (MAX_SPEC_BYTES), which 2,000 did not.
const longLiteral = 'x'.repeat(400);
const crossingShapes = [(i: number) => `/srv/a${i}${longLiteral}/*/*/*`, (i: number) => `/srv/*/b${i}${longLiteral}/*/*`, (i: number) => `/srv/*/*/c${i}${longLiteral}/*`, (i: number) => `/srv/*/*/*/d${i}${longLiteral}`];
const crossingPolicies = Array.from({ length: 40 }, (_, m) =>
  compileMountPolicy({
    metadata: { namespace: 'deer-flow', name: `crossing-${m}` },
    spec: { allowedHostPaths: Array.from({ length: 128 }, (_, i) => ({ pathPrefix: (crossingShapes[m % 4] ?? String)(i + 1000 * m), readOnly: i % 2 === 0 })) },
  }),
);
const invalidCrossing = crossingPolicies.find((policy) => policy.problems.length > 0);
if (invalidCrossing !== undefined) throw new Error(`a crossing MountPolicy is invalid: ${invalidCrossing.problems.join('; ')}`);
const srvPolicy = parsePolicy(stringifyYaml({ allowedHostPaths: [{ pathPrefix: '/srv' }] }), 'srv-policy.yaml');
if (effectiveAllowedHostPaths(srvPolicy, 'deer-flow', crossingPolicies).complete) throw new Error('the crossing MountPolicies were meant to run into the bound');
add('MountPolicy status: effective list, 40 crossing MountPolicies of 128 entries of 400 B (stops at the bound)', () =>
  effectiveAllowedHostPaths(srvPolicy, 'deer-flow', crossingPolicies),
);

// The policy's warnings, worked out at each start and reload while reviews wait: a policy of 20,000 entries side by
// side (a ConfigMap of some 600 KB) runs into the search's budget, MAX_HAZARD_WORK.
const { policyWarnings } = (await import(dist('policy/warnings.js'))) as typeof import('../../src/policy/warnings.js');
const sideBySide = parsePolicy(stringifyYaml({ allowedHostPaths: Array.from({ length: 20_000 }, (_, i) => ({ pathPrefix: `/srv/p${i}/x` })) }), 'side-by-side.yaml');
add('policy warnings, the example policy', () => policyWarnings(examplePolicy));
add('policy warnings, 20,000 entries side by side (stops at the budget)', () => policyWarnings(sideBySide));

// Sized Pods: N containers (one target) and N requested mounts.
for (const size of [1, 10, 100]) {
  const review = createReview(sandboxPod(manyMounts(size), size));
  const request = requestOf(review);
  const validateRequest = requestOf(createReview(mutatedPod(review, roomyPolicy)));
  add(`decide mutate, ${size} containers + ${size} mounts`, () => decide('mutate', request, roomyPolicy), { stage: 'mutate', size });
  add(`decide validate, ${size} containers + ${size} mounts`, () => decide('validate', validateRequest, roomyPolicy), { stage: 'validate', size });
}

for (let round = 0; round < ROUNDS; round++) {
  for (const entry of pending) entry.rounds.push(time(entry.fn, budgetMs / ROUNDS));
  process.stderr.write(`  core: round ${round + 1} of ${ROUNDS} done\n`);
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const cases: CoreCase[] = pending.map(({ name, extra, rounds }) => {
  const calls = rounds.reduce((sum, round) => sum + round.calls, 0);
  const totalNs = rounds.reduce((sum, round) => sum + round.meanNs * round.calls, 0);
  const medians = rounds.map((round) => round.medianNs);
  return {
    name,
    ...extra,
    timing: {
      medianNs: median(medians),
      meanNs: totalNs / calls,
      p90Ns: median(rounds.map((round) => round.p90Ns)),
      calls,
      batches: rounds.reduce((sum, round) => sum + round.batches, 0),
    },
    bestRoundNs: Math.min(...medians),
    roundMediansNs: medians,
  };
});

const cpu = process.cpuUsage();
const section: CoreSection = { budgetMsPerCase: budgetMs, cases, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
process.stdout.write(`${JSON.stringify(section)}\n`);
