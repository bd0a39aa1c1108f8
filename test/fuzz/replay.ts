/**
 * Judges one corpus case through the decision core, and checks whatever is
 * admitted with the oracle. The server replay compares its answers with these.
 */
import { expect } from 'chai';
import { decide, type Stage } from '../../src/admission/decide.js';
import { applyPatch, type Operation } from '../../src/admission/json-patch.js';
import { denialMessage } from '../../src/admission/verdict.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { BASE_POLICY } from '../helpers/policies.js';
import { requestFor, review, sandboxPod, type RequestOptions } from '../helpers/pods.js';
import type { CorpusCase, Expectation } from './corpus.js';
import { mutationProblems, validatedPodProblems, type OraclePolicy } from './oracle.js';

export interface Judgement {
  readonly stage: Stage;
  /** The object as reviewed, and the review body sent to the server. */
  readonly object: unknown;
  readonly body: string;
  readonly allowed: boolean;
  readonly patch: readonly Operation[];
}

export function policySpec(testCase: CorpusCase): OraclePolicy & Record<string, unknown> {
  return { ...BASE_POLICY, ...(testCase.policy ?? {}) } as OraclePolicy & Record<string, unknown>;
}

const compiled = new Map<string, CompiledPolicy>();
export function policyFor(testCase: CorpusCase): CompiledPolicy {
  const text = JSON.stringify(policySpec(testCase));
  let policy = compiled.get(text);
  if (policy === undefined) {
    policy = parsePolicy(text, `${testCase.file}: ${testCase.name}`);
    compiled.set(text, policy);
  }
  return policy;
}

export function objectOf(testCase: CorpusCase): unknown {
  if (testCase.kind === 'pod') return testCase.pod;
  return sandboxPod({
    mounts: testCase.annotation,
    ...(testCase.containers ? { containers: testCase.containers } : {}),
    ...(testCase.volumes ? { volumes: testCase.volumes } : {}),
  });
}

/** The requests whose admitted Pods the oracle re-checks (section 8 of docs/reference.md): a Pod CREATE, or an UPDATE of pods/ephemeralcontainers. A Pod UPDATE is judged on its annotation only, and anything else is allowed untouched. */
function isJudged(options: RequestOptions): boolean {
  if ((options.group ?? '') !== '' || (options.resource ?? 'pods') !== 'pods') return false;
  const operation = options.operation ?? 'CREATE';
  const subResource = options.subResource ?? '';
  return (operation === 'CREATE' && subResource === '') || (operation === 'UPDATE' && subResource === 'ephemeralcontainers');
}

function verdictWord(allowed: boolean): Expectation {
  return allowed ? 'allowed' : 'denied';
}

/** Runs the stages the case names (annotation cases: /mutate, then /validate on the patched Pod) and checks each admission. */
export function judgeInCore(testCase: CorpusCase): Judgement[] {
  const policy = policyFor(testCase);
  const spec = policySpec(testCase);
  const options = testCase.request ?? {};
  const judgements: Judgement[] = [];
  const run = (stage: Stage, object: unknown): Judgement => {
    const verdict = decide(stage, requestFor(object, options), policy);
    const judgement = {
      stage,
      object,
      body: JSON.stringify(review(object, options)),
      allowed: verdict.allowed,
      patch: verdict.allowed ? verdict.patch : [],
    };
    judgements.push(judgement);
    if (verdict.allowed && stage === 'validate' && isJudged(options)) {
      expect(validatedPodProblems(object, spec, (options.operation ?? 'CREATE') === 'CREATE'), `${testCase.name}: /validate admitted`).to.deep.equal([]);
    }
    if (verdict.allowed && stage === 'mutate' && verdict.patch.length > 0) {
      const patched = applyPatch(structuredClone(object), structuredClone([...verdict.patch]), true, false).newDocument;
      expect(mutationProblems(object, verdict.patch, patched, spec), `${testCase.name}: /mutate admitted`).to.deep.equal([]);
    }
    return judgement;
  };

  if (testCase.kind === 'annotation') {
    const object = objectOf(testCase);
    const mutated = run('mutate', object);
    if (testCase.expect !== undefined) expect(verdictWord(mutated.allowed), `${testCase.name}: /mutate`).to.equal(testCase.expect);
    if (mutated.allowed) {
      const patched = applyPatch(structuredClone(object), structuredClone([...mutated.patch]), true, false).newDocument;
      const validated = run('validate', patched);
      const again = decide('validate', requestFor(patched, options), policy);
      expect(validated.allowed, `${testCase.name}: /validate of the mutated Pod${again.allowed ? '' : `: ${denialMessage(again.violations)}`}`).to.equal(true);
    }
    return judgements;
  }
  for (const [stage, expected] of Object.entries(testCase.stages) as Array<[Stage, Expectation]>) {
    const judgement = run(stage, testCase.pod);
    expect(verdictWord(judgement.allowed), `${testCase.name}: /${stage}`).to.equal(expected);
  }
  return judgements;
}
