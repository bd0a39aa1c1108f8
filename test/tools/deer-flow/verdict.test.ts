/**
 * The deer-flow provisioner tool's judgement of one request (test/e2e/tools/deer-flow/verdict.ts):
 * every way a request can go other than expected is caught, and the lines say what happened.
 */
import { expect } from 'chai';
import { deerFlowSandboxPod } from '../../e2e/deer-flow-pods.js';
import { comparablePod } from '../../e2e/tools/deer-flow/pod-diff.js';
import type { Expected } from '../../e2e/tools/deer-flow/settings.js';
import { judge, needsModel, resultLine, summaryLines, type Observation, type Result } from '../../e2e/tools/deer-flow/verdict.js';

const POD = comparablePod(deerFlowSandboxPod({ sandboxId: 'sb-1' }));
const OTHER_POD = comparablePod(deerFlowSandboxPod({ sandboxId: 'sb-1', userId: 'u4' }));
const CREATED: Expected = { outcome: 'created' };
const CLASH: Expected = { outcome: 'refused', status: 500, detail: 'Pod creation failed: Unprocessable Entity', model: { code: 422, says: 'must be unique' } };
const DUPLICATE: Expected = { outcome: 'refused', status: 400, detail: 'Duplicate extra mount path' };

const created: Observation = { status: 200, body: '{"sandbox_id":"sb-1"}', stored: POD, model: { kind: 'admitted', pod: POD } };
const clash: Observation = {
  status: 500,
  body: '{"detail":"Pod creation failed: Unprocessable Entity"}',
  stored: undefined,
  model: { kind: 'refused', code: 422, message: 'Pod "sandbox-sb-1" is invalid: ... "/mnt/skills/custom": must be unique' },
};

describe('deer-flow provisioner tool: judging a request', () => {
  it('passes a created Pod equal to the model', () => {
    expect(judge(CREATED, created)).to.deep.equal({ ok: true, text: 'same as the model' });
  });

  it('fails a created Pod that differs from the model, naming the fields', () => {
    const verdict = judge(CREATED, { ...created, stored: OTHER_POD });
    expect(verdict.ok).to.equal(false);
    expect(verdict.text).to.contain('spec.volumes[name=skills-custom].hostPath.path: model "/.deer-flow/users/default/skills_view/custom", real "/.deer-flow/users/u4/skills_view/custom"');
  });

  const notCreated: ReadonlyArray<[string, Observation, string]> = [
    ['another HTTP status', { ...created, status: 500, body: '{"detail":"Pod creation failed: Forbidden"}' }, 'expected HTTP 200, got 500'],
    ['no Pod stored', { ...created, stored: undefined }, 'no Pod stored'],
    ['the model refused', { ...created, model: { kind: 'refused', code: 403, message: 'denied' } }, "the model's Pod was refused with 403 (denied)"],
    ['the model not built', { ...created, model: { kind: 'threw', message: 'outside' } }, "the model's Pod was not built (outside)"],
  ];
  for (const [name, seen, says] of notCreated) {
    it(`fails an expected creation with ${name}`, () => {
      const verdict = judge(CREATED, seen);
      expect(verdict.ok).to.equal(false);
      expect(verdict.text).to.contain(says);
    });
  }

  it("passes a refusal as stated, with the API server's reason the provisioner hides", () => {
    const verdict = judge(CLASH, clash);
    expect(verdict.ok).to.equal(true);
    expect(verdict.text).to.equal(
      'refused as expected: {"detail":"Pod creation failed: Unprocessable Entity"}; the API server says: Pod "sandbox-sb-1" is invalid: ... "/mnt/skills/custom": must be unique',
    );
    expect(judge(DUPLICATE, { status: 400, body: '{"detail":"Duplicate extra mount path: /mnt/acp-workspace"}', stored: undefined, model: { kind: 'not sent' } }).ok).to.equal(true);
  });

  const notRefused: ReadonlyArray<[string, Observation, string]> = [
    ['another status', { ...clash, status: 422 }, 'expected HTTP 500, got 422'],
    ['another answer', { ...clash, body: '{"detail":"Pod creation failed: Forbidden"}' }, 'expected "Pod creation failed: Unprocessable Entity" in the answer'],
    ['a Pod stored all the same', { ...clash, stored: POD }, 'a Pod was stored'],
    ['the model admitted', { ...clash, model: { kind: 'admitted', pod: POD } }, "expected the model's Pod refused with 422"],
    ['the model refused for another reason', { ...clash, model: { kind: 'refused', code: 422, message: 'something else' } }, "expected the model's Pod refused with 422"],
    ['the model refused with another code', { ...clash, model: { kind: 'refused', code: 403, message: 'must be unique' } }, "expected the model's Pod refused with 422"],
  ];
  for (const [name, seen, says] of notRefused) {
    it(`fails an expected refusal with ${name}`, () => {
      const verdict = judge(CLASH, seen);
      expect(verdict.ok).to.equal(false);
      expect(verdict.text).to.contain(says);
    });
  }

  it('sends the model only when the expectation needs it', () => {
    expect(needsModel(CREATED)).to.equal(true);
    expect(needsModel(CLASH)).to.equal(true);
    expect(needsModel(DUPLICATE)).to.equal(false);
  });

  it('writes one line per request and a summary that counts and names what went otherwise', () => {
    const plain: Result = { setting: 'hostpath', request: 'plain', expected: CREATED, status: 200, verdict: judge(CREATED, created) };
    const gateway: Result = { setting: 'hostpath', request: 'gateway', expected: CLASH, status: 500, verdict: judge(CLASH, clash) };
    const broker: Result = { setting: 'lark-b', request: 'gateway-broker', expected: CREATED, status: 200, verdict: judge(CREATED, { ...created, stored: OTHER_POD }) };
    expect(resultLine(plain)).to.match(/^hostpath +plain +HTTP 200 +same as the model$/);
    expect(resultLine(broker)).to.match(/^lark-b +gateway-broker +HTTP 200 +UNEXPECTED: differs from the model in 2 field\(s\)/);
    expect(resultLine({ ...plain, status: 0 })).to.contain(' no answer ');
    expect(summaryLines([plain, gateway, broker])).to.deep.equal([
      '3 requests in 2 settings: 2 as expected (1 Pods same as the model, 1 refusals as expected), 1 not',
      'not as expected: lark-b/gateway-broker',
    ]);
  });

  it('shortens long answers to one line', () => {
    const verdict = judge(DUPLICATE, { status: 500, body: `line one\nline two ${'x'.repeat(1000)}`, stored: undefined, model: { kind: 'not sent' } });
    expect(verdict.text).not.to.contain('\n');
    expect(verdict.text.length).to.be.lessThan(700);
  });
});
