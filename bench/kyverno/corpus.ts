/**
 * mountgate's hostile-path corpus (test/fuzz/corpus) as real dry-run Pod
 * CREATEs through the API server with Kyverno in front, beside mountgate's
 * verdict on the same Pod. mountgate's verdict is its decision core (/mutate,
 * then /validate on the patched Pod, as the corpus tests run it), and the Pod
 * it would admit is then sent to a namespace without webhooks, so the API
 * server's own checks count on both sides. What Kyverno admits is checked with
 * the corpus oracle (test/fuzz/oracle.ts).
 */
import { decide } from '../../src/admission/decide.js';
import { applyPatch } from '../../src/admission/json-patch.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { parsePolicy } from '../../src/policy/load.js';
import { loadCorpus, type CorpusCase } from '../../test/fuzz/corpus.js';
import { mutationProblems, validatedPodProblems, type OraclePolicy } from '../../test/fuzz/oracle.js';
import { BASE_POLICY } from '../../test/helpers/policies.js';
import { requestFor, sandboxPod } from '../../test/helpers/pods.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { MountgatePolicySpec } from './policy.js';
import { dryRunCreate, type CreateAnswer } from './raw-create.js';

/** The corpus policy as the ClusterPolicy gets it; `containers: []` (every container) cannot be said there, and the corpus Pods name theirs `sandbox`. */
export const CORPUS_POLICY: MountgatePolicySpec = { ...BASE_POLICY, containers: ['sandbox'] };

export interface CorpusCaseResult {
  readonly file: string;
  readonly name: string;
  readonly kyvernoAdmits: boolean;
  /** Why it was not admitted: Kyverno's denial, or the API server's own refusal. */
  readonly kyvernoAnswer: string;
  readonly mountgateAdmits: boolean;
  /** What the oracle finds wrong with the Pod Kyverno admitted (empty when nothing, or not admitted). */
  readonly oracleProblems: readonly string[];
}

export interface CorpusFileRow {
  readonly file: string;
  readonly cases: number;
  /** Cases that change the policy or are not a Pod CREATE: not sendable against one ClusterPolicy as a create. */
  readonly notSent: number;
  readonly sent: number;
  readonly kyvernoAdmits: number;
  readonly mountgateAdmits: number;
  /** Admitted with Kyverno in front, denied by mountgate (the policy's verdict). */
  readonly kyvernoOnly: number;
  /** Of those, Pods whose hostPath volumes or mounts break the policy by the oracle. */
  readonly kyvernoOnlyUnsafe: number;
  /** Denied with Kyverno in front, admitted by mountgate. */
  readonly mountgateOnly: number;
}

export interface CorpusComparison {
  readonly rows: readonly CorpusFileRow[];
  readonly cases: readonly CorpusCaseResult[];
}

/** A case is sent when it runs against the corpus's base policy as a Pod CREATE. */
function sendable(testCase: CorpusCase): boolean {
  if (testCase.policy !== undefined) return false;
  const request = testCase.request ?? {};
  return (request.operation ?? 'CREATE') === 'CREATE' && (request.subResource ?? '') === '' && (request.resource ?? 'pods') === 'pods' && (request.group ?? '') === '';
}

function podOf(testCase: CorpusCase): unknown {
  if (testCase.kind === 'pod') return testCase.pod;
  return sandboxPod({
    mounts: testCase.annotation,
    ...(testCase.containers ? { containers: testCase.containers } : {}),
    ...(testCase.volumes ? { volumes: testCase.volumes } : {}),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Pod under a fresh name and without its namespace (the URL gives that); spreading keeps own keys such as "__proto__". */
function renamed(pod: unknown, name: string): unknown {
  if (!isRecord(pod)) return pod;
  const { namespace: _dropped, ...metadata } = isRecord(pod.metadata) ? pod.metadata : {};
  return { ...pod, metadata: { ...metadata, name } };
}

/** The Pod mountgate would let through (mutated), or undefined when its core denies. */
function mountgateAdmitted(pod: unknown, policy: CompiledPolicy): unknown {
  const mutated = decide('mutate', requestFor(pod), policy);
  if (!mutated.allowed) return undefined;
  const patched: unknown = applyPatch(structuredClone(pod), structuredClone([...mutated.patch]), true, false).newDocument;
  return decide('validate', requestFor(patched), policy).allowed ? patched : undefined;
}

function oracleProblems(sent: unknown, answer: CreateAnswer): string[] {
  if (!answer.admitted) return [];
  const policy: OraclePolicy = BASE_POLICY;
  return [...validatedPodProblems(answer.pod, policy), ...mutationProblems(sent, [], answer.pod, policy)];
}

/** True once Kyverno answers with the corpus policy: it lets a read-write mount under /srv/models/scratch through with the corpus Pod's /skills volume, which the deer-flow profile refuses. */
export async function corpusPolicyInForce(admin: KubeConfig, kyvernoNamespace: string): Promise<boolean> {
  const probe = renamed(sandboxPod({ mounts: [{ hostPath: '/srv/models/scratch/x', mountPath: '/mnt/scratch', readOnly: false }] }), 'corpus-probe');
  const answer = await dryRunCreate(admin, kyvernoNamespace, JSON.stringify(probe));
  return answer.admitted && oracleProblems(probe, answer).length === 0 && JSON.stringify(answer.pod).includes('/srv/models/scratch/x');
}

export async function compareCorpus(admin: KubeConfig, kyvernoNamespace: string, plainNamespace: string): Promise<CorpusComparison> {
  const all = loadCorpus();
  const policy = parsePolicy(JSON.stringify(BASE_POLICY), 'the corpus policy');
  const results: CorpusCaseResult[] = [];
  for (const [index, testCase] of all.entries()) {
    if (!sendable(testCase)) continue;
    const pod = renamed(podOf(testCase), `corpus-${index}`);
    const withKyverno = await dryRunCreate(admin, kyvernoNamespace, JSON.stringify(pod));
    const admittedByMountgate = mountgateAdmitted(pod, policy);
    const throughApiServer = admittedByMountgate === undefined ? undefined : await dryRunCreate(admin, plainNamespace, JSON.stringify(admittedByMountgate));
    results.push({
      file: testCase.file,
      name: testCase.name,
      kyvernoAdmits: withKyverno.admitted,
      kyvernoAnswer: withKyverno.admitted ? 'admitted' : withKyverno.message.replace(/\s+/g, ' ').slice(0, 300),
      mountgateAdmits: throughApiServer?.admitted === true,
      oracleProblems: oracleProblems(pod, withKyverno),
    });
  }
  const files = [...new Set(all.map((testCase) => testCase.file))];
  const rows = files.map((file): CorpusFileRow => {
    const sent = results.filter((result) => result.file === file);
    const kyvernoOnly = sent.filter((result) => result.kyvernoAdmits && !result.mountgateAdmits);
    return {
      file,
      cases: all.filter((testCase) => testCase.file === file).length,
      notSent: all.filter((testCase) => testCase.file === file && !sendable(testCase)).length,
      sent: sent.length,
      kyvernoAdmits: sent.filter((result) => result.kyvernoAdmits).length,
      mountgateAdmits: sent.filter((result) => result.mountgateAdmits).length,
      kyvernoOnly: kyvernoOnly.length,
      kyvernoOnlyUnsafe: kyvernoOnly.filter((result) => result.oracleProblems.length > 0).length,
      mountgateOnly: sent.filter((result) => !result.kyvernoAdmits && result.mountgateAdmits).length,
    };
  });
  return { rows, cases: results };
}
